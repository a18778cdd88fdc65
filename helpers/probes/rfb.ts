// Reads the server side of an RFB (VNC) stream far enough to prove the desktop flows: the protocol banner, the
// security handshake, ServerInit, and the first FramebufferUpdate. It never needs to decode pixels. RfbViewer adds
// the answers a viewer owes on the way (version, security type, VncAuth response, ClientInit) for the suite's own
// connections; the browser observation only watches Kasm's web client give them.
// @ts-expect-error des.js ships no type declarations; DesModule below types the one factory used.
import desjs from 'des.js';

/**
 * Where a stream stands: waiting for the banner, for the security types, for the server's answer to the chosen
 * type (the VncAuth challenge), for the viewer's VncAuth response, for the SecurityResult, for ServerInit, then the
 * normal messages; or failed.
 */
export type RfbPhase = 'banner' | 'security-types' | 'vnc-challenge' | 'vnc-response' | 'security-result' | 'server-init' | 'messages' | 'failed';

export interface RfbProgress {
  phase: RfbPhase;
  banner?: string;
  securityTypes?: number[];
  /** The type the viewer chose, or, when its bytes cannot be seen, the one a noVNC viewer picks from the offer. */
  securityType?: number;
  /** 0 when the server accepted the security handshake; anything else is a refusal, explained by securityReason. */
  securityResult?: number;
  /** The server's reason for a refusal (RFB 3.8 sends one with a failed SecurityResult or an empty type list). */
  securityReason?: string;
  serverInit?: { width: number; height: number; name: string };
  firstUpdateAt?: number;
  bannerAt?: number;
  bytes: number;
  failure?: string;
}

export const SECURITY_NONE = 1;
export const SECURITY_VNC_AUTH = 2;
const SECURITY_TYPE_NAMES: Record<number, string> = { 1: 'None', 2: 'VncAuth', 16: 'Tight', 19: 'VeNCrypt' };
export const securityTypeName = (type: number): string => `${SECURITY_TYPE_NAMES[type] ?? 'Unknown'}(${type})`;

/**
 * The VNC password a Kasm session answers VncAuth with: KasmVNC's vncserver writes the obfuscated empty password to
 * ~/.vnc/passwd and starts Xvnc with `-rfbauth` on it ("kasmvnc uses https basic auth"), and Kasm's noVNC clears the
 * password before it answers the challenge. The session's only secret is its Basic auth, which kasm_proxy injects.
 */
export const KASM_VNC_AUTH_PASSWORD = '';

export const VNC_AUTH_CHALLENGE_BYTES = 16;

interface DesModule {
  DES: { create(options: { type: 'encrypt'; key: number[]; padding: false }): { update(data: ArrayLike<number>): number[]; final(): number[] } };
}
const { DES } = desjs as DesModule;

/** VNC's DES key: the password's first 8 bytes, zero-padded, each byte's bits reversed (d3des reads them LSB first). */
function vncKey(password: string | Uint8Array): number[] {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  return Array.from({ length: 8 }, (_, i) => {
    const byte = bytes[i] ?? 0;
    let reversed = 0;
    for (let bit = 0; bit < 8; bit += 1) reversed |= ((byte >> bit) & 1) << (7 - bit);
    return reversed;
  });
}

/** The 16-byte answer to a VncAuth challenge: the challenge DES-encrypted (ECB) under the password's VNC key. */
export function vncAuthResponse(challenge: Uint8Array, password: string | Uint8Array = KASM_VNC_AUTH_PASSWORD): Buffer {
  if (challenge.length !== VNC_AUTH_CHALLENGE_BYTES) throw new RangeError(`a VncAuth challenge has ${VNC_AUTH_CHALLENGE_BYTES} bytes, got ${challenge.length}`);
  const cipher = DES.create({ type: 'encrypt', key: vncKey(password), padding: false });
  return Buffer.from([...cipher.update(challenge), ...cipher.final()]);
}

/** What a refused security handshake says, naming the hop: the session container's KasmVNC. */
function refusal(p: RfbProgress): string {
  const type = p.securityType ?? 0;
  const what = type === SECURITY_VNC_AUTH ? 'the VncAuth response (security type 2)' : `security type ${securityTypeName(type)}`;
  const reason = p.securityReason === undefined ? ' (no reason string before RFB 3.8)' : `, reason ${JSON.stringify(p.securityReason)}`;
  const hint =
    type === SECURITY_VNC_AUTH
      ? "; Kasm's web client answers with the empty VNC password, so users' sessions are refused too: the session image gives Xvnc a VNC password (-rfbauth, -PasswordFile) other than the empty one vncserver writes to ~/.vnc/passwd"
      : '';
  return `KasmVNC in the session container refused ${what}: SecurityResult ${p.securityResult}${reason}${hint}`;
}

const BANNER = /^RFB (\d{3})\.(\d{3})\n$/;

/** A WebSocket frame's payload as Playwright hands it (a Buffer, or a string for a text frame) as the bytes sent. */
export const frameBytes = (payload: string | Buffer): Buffer => (typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);

/** noVNC's preference among what the server offers: None, then VncAuth, else whatever comes first. */
function preferredType(offered: readonly number[]): number | undefined {
  if (offered.includes(SECURITY_NONE)) return SECURITY_NONE;
  if (offered.includes(SECURITY_VNC_AUTH)) return SECURITY_VNC_AUTH;
  return offered[0];
}

export class RfbServerStream {
  #buffer = Buffer.alloc(0);
  #chosen: number | undefined;
  #minor = 8;
  #challenge: Buffer | undefined;
  /** Whether the viewer's bytes reach this reader at all; without them its VncAuth response cannot be waited for. */
  #seesClient = false;
  #answered = false;
  #responseBytes = 0;
  readonly progress: RfbProgress = { phase: 'banner', bytes: 0 };

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The RFB 3.x minor version both ends speak: 3, 7 or 8. */
  get minor(): number {
    return this.#minor;
  }

  /** The server's VncAuth challenge, once it came. */
  get vncChallenge(): Buffer | undefined {
    return this.#challenge;
  }

  /** Bytes the client sent: its security-type choice and its VncAuth response matter here. */
  client(chunk: Buffer): void {
    this.#seesClient = true;
    const phase = this.progress.phase;
    if ((phase === 'security-types' || phase === 'vnc-challenge') && this.#chosen === undefined) {
      if (chunk.length === 1) this.#chosen = chunk[0];
      return;
    }
    // The 16-byte answer may come in pieces (TCP and WebSocket frames split where they like).
    if (phase === 'vnc-response') {
      this.#responseBytes += chunk.length;
      if (this.#responseBytes < VNC_AUTH_CHALLENGE_BYTES) return;
      this.#answered = true;
      this.#run();
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
    this.#run();
  }

  #run(): void {
    let more = true;
    while (more) more = this.#step();
  }

  #take(length: number): Buffer | undefined {
    if (this.#buffer.length < length) return undefined;
    const out = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    return out;
  }

  /** An RFB string (u32 length, bytes), or undefined until all of it came. */
  #string(): string | undefined {
    if (this.#buffer.length < 4) return undefined;
    const raw = this.#take(4 + this.#buffer.readUInt32BE(0));
    return raw?.subarray(4).toString('utf8');
  }

  /** No security type offered (an empty list, or type 0 in 3.3): the reason string follows the `skip` bytes. */
  #refusedBeforeSecurity(skip: number): boolean {
    if (this.#buffer.length < skip + 4 || this.#buffer.length < skip + 4 + this.#buffer.readUInt32BE(skip)) return false;
    this.#take(skip);
    this.progress.securityTypes = [];
    this.progress.securityReason = this.#string();
    return this.#fail(`KasmVNC in the session container offered no security type: ${JSON.stringify(this.progress.securityReason)}`);
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
        // Both ends settle on 3.3, 3.7 or 3.8, as KasmVNC and noVNC do with an unofficial minor version.
        const minor = Number(match[2]);
        this.#minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
        p.phase = 'security-types';
        return true;
      }
      case 'security-types': {
        if (this.#minor < 7) {
          // RFB 3.3: the server names the one type it wants; 0 is a refusal, with its reason.
          if (this.#buffer.length < 4) return false;
          const type = this.#buffer.readUInt32BE(0);
          if (type === 0) return this.#refusedBeforeSecurity(4);
          this.#take(4);
          p.securityTypes = [type];
          this.#chosen = type;
          p.phase = 'vnc-challenge';
          return true;
        }
        if (this.#buffer.length < 1) return false;
        const count = this.#buffer[0]!;
        if (count === 0) return this.#refusedBeforeSecurity(1);
        const raw = this.#take(1 + count);
        if (!raw) return false;
        p.securityTypes = [...raw.subarray(1)];
        p.phase = 'vnc-challenge';
        return true;
      }
      case 'vnc-challenge': {
        // The server says nothing until the viewer chose, so the choice is settled by the time its answer comes.
        if (this.#buffer.length === 0) return false;
        if (this.#chosen === undefined) this.#chosen = preferredType(p.securityTypes ?? []);
        p.securityType = this.#chosen;
        if (this.#chosen === SECURITY_VNC_AUTH) {
          const challenge = this.#take(VNC_AUTH_CHALLENGE_BYTES);
          if (!challenge) return false;
          this.#challenge = Buffer.from(challenge);
          p.phase = 'vnc-response';
          return true;
        }
        if (this.#chosen !== SECURITY_NONE) return this.#fail(`the viewer chose security type ${securityTypeName(this.#chosen ?? 0)}, which this reader cannot follow`);
        p.phase = this.#minor >= 8 ? 'security-result' : 'server-init';
        return true;
      }
      case 'vnc-response': {
        // Waits for the viewer's answer where it can be seen; server bytes mean it was given anyway.
        if (this.#seesClient && !this.#answered && this.#buffer.length === 0) return false;
        p.phase = 'security-result';
        return true;
      }
      case 'security-result': {
        if (p.securityResult === undefined) {
          const raw = this.#take(4);
          if (!raw) return false;
          p.securityResult = raw.readUInt32BE(0);
        }
        if (p.securityResult === 0) {
          p.phase = 'server-init';
          return true;
        }
        if (this.#minor >= 8) {
          const reason = this.#string();
          if (reason === undefined) return false;
          p.securityReason = reason;
        }
        return this.#fail(refusal(p));
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

/**
 * The suite's own viewer: reads the server's stream and says which bytes a viewer owes at each step, answering as
 * Kasm's noVNC does (the highest common version, None if offered else VncAuth, the VncAuth response made with the
 * empty password, a shared ClientInit). Everything it owes is also fed to its stream, so progress follows both sides.
 */
export class RfbViewer {
  readonly stream: RfbServerStream;
  readonly #password: string | Uint8Array;
  readonly #sent = { version: false, choice: false, response: false, init: false };

  constructor(options: { password?: string | Uint8Array; now?: () => number } = {}) {
    this.stream = new RfbServerStream(options.now);
    this.#password = options.password ?? KASM_VNC_AUTH_PASSWORD;
  }

  get progress(): RfbProgress {
    return this.stream.progress;
  }

  /** Server bytes in; the messages the viewer owes now out, in order. */
  server(chunk: Buffer): Buffer[] {
    const stream = this.stream;
    stream.server(chunk);
    const out: Buffer[] = [];
    const owe = (flag: 'version' | 'choice' | 'response' | 'init', bytes: Buffer) => {
      if (this.#sent[flag]) return;
      this.#sent[flag] = true;
      out.push(bytes);
      stream.client(bytes);
    };
    const p = stream.progress;
    if (p.phase === 'failed') return out;
    if (p.banner !== undefined) owe('version', Buffer.from(`RFB 003.00${stream.minor}\n`, 'latin1'));
    if (p.phase === 'vnc-challenge' && p.securityTypes) {
      const type = stream.minor >= 7 ? preferredType(p.securityTypes) : p.securityTypes[0];
      if (stream.minor >= 7 && type !== undefined) owe('choice', Buffer.from([type]));
      // Security None sends no SecurityResult before RFB 3.8: ClientInit follows the choice at once.
      if (type === SECURITY_NONE && stream.minor < 8) owe('init', Buffer.from([1]));
    }
    const challenge = stream.vncChallenge;
    if (challenge) owe('response', vncAuthResponse(challenge, this.#password));
    if (p.phase === 'server-init' || p.phase === 'messages') owe('init', Buffer.from([1]));
    return out;
  }
}
