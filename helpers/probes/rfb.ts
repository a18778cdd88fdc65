// Reads the server side of an RFB (VNC) stream far enough to prove the desktop flows: the protocol banner, the
// security handshake, ServerInit, and the first FramebufferUpdate. It never needs to decode pixels.
export type RfbPhase = 'banner' | 'security-types' | 'vnc-challenge' | 'security-result' | 'server-init' | 'messages' | 'failed';

export interface RfbProgress {
  phase: RfbPhase;
  banner?: string;
  securityTypes?: number[];
  serverInit?: { width: number; height: number; name: string };
  firstUpdateAt?: number;
  bannerAt?: number;
  bytes: number;
  failure?: string;
}

const BANNER = /^RFB (\d{3})\.(\d{3})\n$/;

/** A WebSocket frame's payload as Playwright hands it (a Buffer, or a string for a text frame) as the bytes sent. */
export const frameBytes = (payload: string | Buffer): Buffer => (typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);

export class RfbServerStream {
  #buffer = Buffer.alloc(0);
  #chosen: number | undefined;
  #minor = 8;
  readonly progress: RfbProgress = { phase: 'banner', bytes: 0 };

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Bytes the client sent: only its security-type choice matters here. */
  client(chunk: Buffer): void {
    if (this.progress.phase === 'security-types' || (this.progress.phase === 'vnc-challenge' && this.#chosen === undefined)) {
      if (chunk.length === 1) this.#chosen = chunk[0];
    }
  }

  server(chunk: Buffer): void {
    this.progress.bytes += chunk.length;
    if (this.progress.phase === 'messages' || this.progress.phase === 'failed') {
      if (this.progress.firstUpdateAt === undefined) this.#buffer = Buffer.concat([this.#buffer, chunk]);
      else return;
    } else {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
    }
    let more = true;
    while (more) more = this.#step();
  }

  #take(length: number): Buffer | undefined {
    if (this.#buffer.length < length) return undefined;
    const out = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return out;
  }

  #fail(reason: string): false {
    this.progress.phase = 'failed';
    this.progress.failure = reason;
    return false;
  }

  #step(): boolean {
    const p = this.progress;
    switch (p.phase) {
      case 'banner': {
        const raw = this.#take(12);
        if (!raw) return false;
        const text = raw.toString('latin1');
        const match = BANNER.exec(text);
        if (!match) return this.#fail(`expected an RFB banner, got ${JSON.stringify(text)}`);
        p.banner = text.trim();
        p.bannerAt = this.now();
        this.#minor = Number(match[2]);
        p.phase = 'security-types';
        return true;
      }
      case 'security-types': {
        if (this.#minor < 7) {
          const raw = this.#take(4);
          if (!raw) return false;
          const type = raw.readUInt32BE(0);
          p.securityTypes = [type];
          if (type === 0) return this.#fail('server refused the connection before security');
          this.#chosen = type;
          p.phase = type === 2 ? 'vnc-challenge' : 'server-init';
          return true;
        }
        if (this.#buffer.length < 1) return false;
        const count = this.#buffer[0]!;
        if (count === 0) return this.#fail('server offered no security types');
        const raw = this.#take(1 + count);
        if (!raw) return false;
        p.securityTypes = [...raw.subarray(1)];
        p.phase = 'vnc-challenge';
        return true;
      }
      case 'vnc-challenge': {
        if (this.#chosen === undefined) {
          // The client's choice may not be visible to the observer: a 16-byte challenge only follows VNC auth.
          this.#chosen = p.securityTypes?.includes(1) ? 1 : p.securityTypes?.[0];
        }
        if (this.#chosen === 2) {
          if (!this.#take(16)) return false;
        }
        p.phase = this.#minor >= 8 || this.#chosen === 2 ? 'security-result' : 'server-init';
        return true;
      }
      case 'security-result': {
        const raw = this.#take(4);
        if (!raw) return false;
        if (raw.readUInt32BE(0) !== 0) return this.#fail('security handshake failed (SecurityResult != 0)');
        p.phase = 'server-init';
        return true;
      }
      case 'server-init': {
        if (this.#buffer.length < 24) return false;
        const nameLength = this.#buffer.readUInt32BE(20);
        const raw = this.#take(24 + nameLength);
        if (!raw) return false;
        p.serverInit = { width: raw.readUInt16BE(0), height: raw.readUInt16BE(2), name: raw.subarray(24).toString('utf8') };
        p.phase = 'messages';
        return true;
      }
      case 'messages': {
        if (p.firstUpdateAt !== undefined || this.#buffer.length < 1) return false;
        if (this.#buffer[0] === 0) p.firstUpdateAt = this.now();
        this.#buffer = Buffer.alloc(0);
        return false;
      }
      default:
        return false;
    }
  }
}
