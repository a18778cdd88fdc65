// The desktop WebSocket probed from outside the browser, so a browser-only problem (extension, security software,
// client proxy settings) is told apart from a problem in the path: an undici upgrade that reads the RFB banner,
// and a long hold that reports when, how and after how many bytes a device cut the stream.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import WebSocket from 'ws';
import { lookup } from '../net.ts';
import { redact } from '../redact.ts';
import { RfbViewer } from './rfb.ts';
import tls from 'node:tls';

export interface UpgradeProbeOptions {
  /** The session's websockify URL (wss: or https:). */
  url: URL;
  cookieHeader: string;
  origin: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
}

export type UpgradeCode = 'UPGRADED' | 'NOT_UPGRADED' | 'NO_BANNER' | 'NETWORK' | 'TIMEOUT';

export interface UpgradeProbeResult {
  ok: boolean;
  code: UpgradeCode;
  status?: number;
  statusText?: string;
  headers: Record<string, string>;
  protocol?: string;
  banner?: string;
  body?: string;
  timings: { upgradeMs?: number; bannerMs?: number };
  error?: string;
}

const flatten = (headers: Record<string, string | string[] | undefined>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v ?? '')]));

/** Reads one unmasked server frame's payload start: enough for the 12-byte RFB banner. */
function readBanner(socket: Duplex, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 2) return;
      const short = buffer[1]! & 0x7f;
      const offset = short === 126 ? 4 : short === 127 ? 10 : 2;
      if (buffer.length >= offset + 12) done(buffer.subarray(offset, offset + 12).toString('latin1'));
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('data', onData);
    socket.once('close', () => done(undefined));
  });
}

export async function probeUpgrade(options: UpgradeProbeOptions): Promise<UpgradeProbeResult> {
  const url = new URL(options.url.href.replace(/^ws/, 'http'));
  const started = performance.now();
  return new Promise<UpgradeProbeResult>((resolve) => {
    let settled = false;
    const settle = (result: UpgradeProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      abort?.(new Error('timeout'));
      settle({ ok: false, code: 'TIMEOUT', headers: {}, timings: {}, error: `no answer to the upgrade within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    let abort: ((reason: Error) => void) | undefined;
    let response: Pick<UpgradeProbeResult, 'status' | 'statusText' | 'headers'> | undefined;
    let body = '';
    options.dispatcher.dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        upgrade: 'websocket',
        headers: {
          origin: options.origin,
          cookie: options.cookieHeader,
          'sec-websocket-key': randomBytes(16).toString('base64'),
          'sec-websocket-version': '13',
          'sec-websocket-protocol': 'binary',
          'user-agent': 'kasm-synthetics websocket probe',
        },
      },
      {
        onRequestStart(controller) {
          abort = (reason) => controller.abort(reason);
        },
        onRequestUpgrade(_controller, statusCode, headers, socket) {
          const upgradeMs = Math.round(performance.now() - started);
          const flat = flatten(headers);
          void readBanner(socket, options.timeoutMs).then((banner) => {
            // A polite close: a masked close frame (code 1000), then the socket goes.
            socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
            settle({
              ok: banner !== undefined && banner.startsWith('RFB '),
              code: banner?.startsWith('RFB ') ? 'UPGRADED' : 'NO_BANNER',
              status: statusCode,
              statusText: 'Switching Protocols',
              headers: flat,
              protocol: flat['sec-websocket-protocol'],
              banner: banner?.trim(),
              timings: { upgradeMs, bannerMs: Math.round(performance.now() - started) },
            });
          });
        },
        onResponseStart(_controller, statusCode, headers, statusMessage) {
          response = { status: statusCode, statusText: statusMessage ?? '', headers: flatten(headers) };
        },
        onResponseData(_controller, chunk) {
          if (body.length < 2_000) body += chunk.toString('latin1');
        },
        onResponseEnd() {
          settle({ ok: false, code: 'NOT_UPGRADED', ...response!, body: redact(body.slice(0, 300)), timings: { upgradeMs: Math.round(performance.now() - started) } });
        },
        onResponseError(_controller, error) {
          if (response) {
            settle({ ok: false, code: 'NOT_UPGRADED', ...response, body: redact(body.slice(0, 300)), timings: {} });
            return;
          }
          const code = (error as { code?: string }).code;
          settle({ ok: false, code: 'NETWORK', headers: {}, timings: {}, error: redact(`${code ? `${code}: ` : ''}${error.message}`) });
        },
      },
    );
  });
}

export interface HoldOptions {
  url: URL;
  cookieHeader: string;
  origin: string;
  holdMs: number;
  insecureTls: boolean;
  connectTimeoutMs: number;
  /** A private CA (PEM, KASM_CA_FILE) besides the system's. */
  ca?: string;
}

export interface HoldResult {
  ok: boolean;
  /** When the WebSocket opened; absent when it never did, or when the RFB handshake on it failed (rfbFailure). */
  openedAfterMs?: number;
  heldMs: number;
  /** When the stream was cut, ms after it opened. */
  cutAfterMs?: number;
  /** How long nothing had crossed the stream, either way, when it was cut: an idle timeout cuts a quiet stream. */
  quietBeforeCutMs?: number;
  closeCode?: number;
  closeReason?: string;
  bytes: number;
  rfbPhase: string;
  /** The RFB handshake failed (e.g. KasmVNC refused the VncAuth response): the stream was never a desktop to hold. */
  rfbFailure?: string;
  error?: string;
}

const CLOSE_MEANING: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1006: 'no close frame: the TCP connection was dropped by something in the path',
  1008: 'policy violation',
  1009: 'message too big',
  1011: 'server error',
};

export const describeClose = (code: number | undefined) => (code === undefined ? 'no close code' : `${code} (${CLOSE_MEANING[code] ?? 'see RFC 6455 §7.4'})`);

/**
 * Acts as an idle viewer and keeps the stream open for holdMs: the RFB handshake as Kasm's noVNC answers it
 * (VncAuth included), then, as noVNC does, one incremental update request for a corner of the screen after each
 * message the server sends. Nothing changes there, so the stream goes quiet as it does for a user who walked away,
 * and an idle timeout in the path (nginx's proxy_read_timeout, a load balancer's idle timeout) can show; a viewer
 * that asked every second would reset it. A failed RFB handshake ends the hold at once: it is no cut, and the
 * result says it was never opened as a desktop, with the server's reason.
 */
export function holdWebSocket(options: HoldOptions): Promise<HoldResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const viewer = new RfbViewer();
    const rfb = viewer.progress;
    let openedAt: number | undefined;
    let lastActivity = performance.now();
    let settled = false;
    const ws = new WebSocket(options.url.href.replace(/^http/, 'ws'), ['binary'], {
      headers: { Cookie: options.cookieHeader, Origin: options.origin, 'User-Agent': 'kasm-synthetics websocket hold' },
      rejectUnauthorized: !options.insecureTls,
      ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}),
      lookup,
      handshakeTimeout: options.connectTimeoutMs,
    });
    const finish = (result: Omit<HoldResult, 'bytes' | 'rfbPhase' | 'heldMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(holdTimer);
      clearTimeout(heldTimer);
      const heldMs = openedAt === undefined ? 0 : Math.round(performance.now() - openedAt);
      resolve({ ...result, heldMs, bytes: rfb.bytes, rfbPhase: rfb.phase });
    };
    const holdTimer = setTimeout(() => {
      finish({ ok: openedAt !== undefined, openedAfterMs: openedAt && Math.round(openedAt - started) });
      ws.close(1000);
    }, options.holdMs + options.connectTimeoutMs);
    let heldTimer: NodeJS.Timeout | undefined;
    ws.on('open', () => {
      openedAt = performance.now();
      clearTimeout(holdTimer);
      heldTimer = setTimeout(() => {
        finish({ ok: true, openedAfterMs: Math.round(openedAt! - started) });
        ws.close(1000);
      }, options.holdMs);
    });
    // The replies a viewer owes at each step of the RFB handshake, then an update request after each message.
    ws.on('message', (data: Buffer) => {
      lastActivity = performance.now();
      const owed = viewer.server(data);
      if (rfb.phase === 'failed') {
        // Not opened as a desktop: the WebSocket's 101 is not what the hold measures.
        finish({ ok: false, rfbFailure: rfb.failure, error: `the RFB handshake failed: ${rfb.failure}` });
        ws.close(1000);
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      for (const bytes of owed) ws.send(bytes);
      if (rfb.phase === 'messages') ws.send(Buffer.from([3, 1, 0, 0, 0, 0, 0, 16, 0, 16]));
    });
    ws.on('close', (code, reason) => {
      if (openedAt === undefined) return;
      const now = performance.now();
      finish({ ok: false, openedAfterMs: Math.round(openedAt - started), cutAfterMs: Math.round(now - openedAt), quietBeforeCutMs: Math.round(now - lastActivity), closeCode: code, closeReason: reason.toString() });
    });
    ws.on('unexpected-response', (_req, res) => {
      finish({ ok: false, error: `the upgrade was answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim() });
      ws.terminate();
    });
    ws.on('error', (error) => finish({ ok: false, error: redact(error.message) }));
  });
}
