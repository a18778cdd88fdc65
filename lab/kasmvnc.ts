// KasmVNC stand-in for one session container: TLS only, HTTP Basic auth, the web client's static files and an RFB
// desktop behind /websockify. Every branch copies `do_handshake`/`parse_handshake`/`servefile` from KasmVNC's
// common/network/websocket.c (1.3.x) so the log lines, their order and the raw HTTP answers match a real container
// whose vncserver runs at log level 100 (KASM-FACTS.md §6).
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { securityTypeName, SECURITY_VNC_AUTH, VNC_AUTH_CHALLENGE_BYTES, vncAuthResponse } from '../helpers/probes/rfb.ts';
import { pythonTime } from './logs.ts';

export interface KasmVncOptions {
  host: string;
  /** 6901 in a session container (NO_VNC_PORT); any free port when absent. */
  port?: number;
  tls: { key: string; cert: string };
  /** Basic auth `kasm_user:<password>`; kasm_user is the owner (`kasmvncpasswd -u kasm_user -wo`). */
  password: string;
  /** `~/.vnc/<hostname>:1.log`, appended to. */
  logFile: string;
  /** Active lab faults, read once per accepted connection. */
  faults?: () => ReadonlySet<string>;
  desktop?: { width: number; height: number; label: string };
  /** What `Xvnc -version` names, with or without the leading `Xvnc `; a restarted Xvnc prints it as its banner. */
  version?: string;
  /** `logging.level` of the generated kasmvnc.yaml: 100 up to KasmVNC 1.5.0 (the default here), 30 from 1.5.1. */
  logLevel?: number;
}

export interface KasmVncHandle {
  port: number;
  /** Viewers currently connected over /websockify. */
  connections(): number;
  close(): Promise<void>;
}

const OWNER_USER = 'kasm_user';
const USERNAME_LEN = 32;
const HANDSHAKE_BUFFER = 16 * 1024;
const HANDSHAKE_READS = 10;
// websockify.c reads at most DBUFSIZE bytes from Xvnc per select() round and frames each read on its own.
const FRAME_PAYLOAD = (65536 * 3) / 4 - 20;
// `server.http.headers` in kasmvnc_defaults.yaml; they are why a real 404 is logged with 180 bytes.
const EXTRA_HEADERS = 'Cross-Origin-Embedder-Policy: require-corp\r\nCross-Origin-Opener-Policy: same-origin\r\n';
const SERVER_HEADERS = 'Server: KasmVNC/4.0\r\nConnection: close\r\n';
const FIRST_SOCKET_FD = 32;
const UPDATE_INTERVAL_MS = 250;
const CRASH_AFTER_FIRST_UPDATE_MS = 200;
/** The KasmVNC build both labs' sessions report (Kasm's core images pin 1.3.2). */
export const DEFAULT_VERSION = 'KasmVNC 1.3.2.b2a3e4e3e4c7d8f9a0b1c2d3e4f5a6b7c8d9e0f1 - built Jun 12 2024 09:41:27';
const DEFAULT_DESKTOP = { width: 1024, height: 640, label: "kasm-user's desktop" };
const ERRNO_TEXT: Record<string, string> = {
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
};

type LogLevel = 'DEBUG' | 'INFO' | 'PRIO';
/** Logger_File names a line DEBUG from 100, INFO from 30, PRIO below; a line is written when its value <= the level. */
const LEVEL_VALUE: Record<LogLevel, number> = { DEBUG: 100, INFO: 30, PRIO: 0 };

/** Xvnc's stderr as vncserver redirects it into the desktop log. */
class VncLog {
  #muted = false;

  constructor(
    private readonly file: string,
    private readonly level: number,
  ) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /** `wslog()`: websocket lines carry the handler id instead of a module name. */
  websocket(id: number, level: 'DEBUG' | 'INFO', message: string): void {
    if (LEVEL_VALUE[level] <= this.level) this.write(` ${pythonTime(new Date())} [${level}] websocket ${id}: ${message}`);
  }

  /** Logger_File: the indent to column 13 never applies once the date prefix is there, so one space follows the colon. */
  module(level: LogLevel, name: string, message: string): void {
    if (LEVEL_VALUE[level] <= this.level) this.write(` ${pythonTime(new Date())} [${level}] ${name}: ${message}`);
  }

  /** OpenSSL's ERR_print_errors_fp writes to the same stderr, unformatted. */
  raw(line: string): void {
    this.write(line);
  }

  /** vncPrintBanner, which a new Xvnc writes to stderr as it starts. */
  banner(version: string): void {
    for (const line of ['', `Xvnc ${version}`, 'Copyright (C) 1999-2018 KasmVNC Team and many others (see README.me)', 'See http://kasmweb.com for information on KasmVNC.', 'Underlying X server release 12014000, The X.Org Foundation', '']) {
      this.write(line);
    }
  }

  mute(): void {
    this.#muted = true;
  }

  private write(line: string): void {
    if (!this.#muted) appendFileSync(this.file, `${line}\n`);
  }
}

/** One Xvnc process: what it logs, its viewers, sockets and fds all die with it. */
interface Shared {
  log: VncLog;
  secureContext: SecureContext;
  password: string;
  statics: ReadonlyMap<string, Buffer>;
  wss: WebSocketServer;
  desktop: { width: number; height: number; label: string };
  sessions: Set<VncSession>;
  sockets: Set<Socket>;
  fds: Set<number>;
  /** settings.handler_id starts at zero in every Xvnc and counts every accepted TCP connection. */
  nextHandlerId: number;
  /** SIGSEGV: this Xvnc dies and vnc_startup.sh starts another on the same port. */
  crash(): void;
}

export async function startKasmVnc(opts: KasmVncOptions): Promise<KasmVncHandle> {
  const secureContext = createSecureContext({ key: opts.tls.key, cert: opts.tls.cert });
  const statics = loadStatics();
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, handleProtocols: firstProtocol });
  const version = (opts.version ?? DEFAULT_VERSION).replace(/^Xvnc /, '');
  const spawn = (): Shared => {
    const xvnc: Shared = {
      log: new VncLog(opts.logFile, opts.logLevel ?? 100),
      secureContext,
      password: opts.password,
      statics,
      wss,
      desktop: opts.desktop ?? DEFAULT_DESKTOP,
      sessions: new Set(),
      sockets: new Set(),
      fds: new Set(),
      nextHandlerId: 0,
      crash: () => {
        if (current !== xvnc) return;
        segfault(xvnc);
        current = spawn();
        current.log.banner(version);
      },
    };
    return xvnc;
  };
  let current = spawn();
  // Xvnc prints its banner as it starts, so a session's log exists before any client connects.
  current.log.banner(version);
  const server = createServer((raw) => {
    const xvnc = current;
    xvnc.sockets.add(raw);
    raw.once('close', () => xvnc.sockets.delete(raw));
    void new Handler(xvnc.nextHandlerId++, raw, xvnc, opts.faults?.() ?? new Set()).run();
  });
  const port = await listen(server, opts.host, opts.port);
  return { port, connections: () => current.sessions.size, close: () => shutdown(server, current) };
}

// xorg_backtrace names only exported symbols, so KasmVNC's own encoder frames show as offsets into the binary; the
// signal-handler and main-loop frames are those of the guide's sample.
const SEGFAULT_REPORT = [
  '(EE) ',
  '(EE) Backtrace:',
  '(EE) 0: /usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5e48dd]',
  '(EE) 1: /usr/bin/Xvnc (0x400000+0x1e8259) [0x5e8259]',
  '(EE) 2: /lib/x86_64-linux-gnu/libpthread.so.0 (0x7f5a57ef6000+0x12980) [0x7f5a57f08980]',
  '(EE) 3: /usr/bin/Xvnc (0x400000+0x12c9a1) [0x52c9a1]',
  '(EE) 4: /usr/bin/Xvnc (0x400000+0x12d6c7) [0x52d6c7]',
  '(EE) 5: /usr/bin/Xvnc (0x400000+0x14a2e1) [0x54a2e1]',
  '(EE) 6: /usr/bin/Xvnc (0x400000+0x151e35) [0x551e35]',
  '(EE) 7: /usr/bin/Xvnc (0x400000+0x16b1ed) [0x56b1ed]',
  '(EE) 8: /usr/bin/Xvnc (WaitForSomething+0x1c3) [0x5e2813]',
  '(EE) 9: /usr/bin/Xvnc (Dispatch+0xa7) [0x597007]',
  '(EE) 10: /usr/bin/Xvnc (dix_main+0x36e) [0x59b1fe]',
  '(EE) 11: /lib/x86_64-linux-gnu/libc.so.6 (__libc_start_main+0xe7) [0x7f5a551ecbf7]',
  '(EE) 12: /usr/bin/Xvnc (_start+0x2a) [0x46048a]',
  '(EE) ',
  '(EE) Segmentation fault at address 0x0',
  '(EE) ',
  'Fatal server error:',
  '(EE) Caught signal 11 (Segmentation fault). Server aborting',
  '(EE) ',
];

/** OsSigHandler's report, then the process is gone: its viewers lose their TCP connections without a close frame and it logs nothing more. */
function segfault(xvnc: Shared): void {
  for (const line of SEGFAULT_REPORT) xvnc.log.raw(line);
  xvnc.log.mute();
  for (const session of xvnc.sessions) session.shutdown();
  for (const socket of xvnc.sockets) socket.destroy();
}

function loadStatics(): ReadonlyMap<string, Buffer> {
  return new Map([
    ['/vnc.html', readFileSync(new URL('./www/vnc.html', import.meta.url))],
    ['/app/sounds/bell.oga', bellSound()],
  ]);
}

/** An Ogg-looking blob sized so its 200 line reads `8701` bytes, as in the troubleshooting guide's example. */
function bellSound(): Buffer {
  const body = Buffer.alloc(8495);
  body.write('OggS', 0, 'latin1');
  return body;
}

function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

async function shutdown(server: Server, shared: Shared): Promise<void> {
  shared.log.mute();
  for (const session of shared.sessions) session.shutdown();
  for (const socket of shared.sockets) socket.destroy();
  shared.wss.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function firstProtocol(protocols: Set<string>): string | false {
  return protocols.values().next().value ?? false;
}

function peerAddress(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function ignore(): void {}

/** ws_socket_free: no SSL shutdown, just close the TCP connection once queued bytes are out. */
function closeSocket(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end(() => socket.destroy());
}

function firstChunk(socket: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const settle = (chunk: Buffer | null) => {
      socket.off('data', onData).off('end', onGone).off('close', onGone).off('error', onGone);
      resolve(chunk);
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      settle(chunk);
    };
    const onGone = () => settle(null);
    socket.on('data', onData).on('end', onGone).on('close', onGone).on('error', onGone);
  });
}

function isTlsRecord(chunk: Buffer): boolean {
  const first = chunk.readUInt8(0);
  return first === 0x16 || first === 0x80;
}

type HandshakeRead =
  | { kind: 'complete'; request: RawRequest; rest: Buffer }
  | { kind: 'closed' }
  | { kind: 'error'; reason: string }
  | { kind: 'oversized' }
  | { kind: 'incomplete' };

/** The recv loop of do_handshake: up to ten reads into a 16 KiB buffer until a blank line shows up. */
function readHandshake(socket: TLSSocket): Promise<HandshakeRead> {
  if (socket.destroyed) return Promise.resolve({ kind: 'closed' });
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    let reads = 0;
    const settle = (result: HandshakeRead) => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      reads += 1;
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end !== -1 && end + 4 < HANDSHAKE_BUFFER) {
        settle({ kind: 'complete', request: new RawRequest(buffered.toString('latin1')), rest: buffered.subarray(end + 4) });
      } else if (buffered.length >= HANDSHAKE_BUFFER - 1) settle({ kind: 'oversized' });
      else if (reads >= HANDSHAKE_READS) settle({ kind: 'incomplete' });
    };
    const onEnd = () => settle({ kind: 'closed' });
    const onError = (err: NodeJS.ErrnoException) => settle({ kind: 'error', reason: ERRNO_TEXT[err.code ?? ''] ?? err.message });
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onError);
    socket.resume();
  });
}

/** The handshake as websocket.c sees it: one string searched with strstr/strcasestr, not a parsed request. */
class RawRequest {
  readonly lower: string;

  constructor(readonly text: string) {
    this.lower = text.toLowerCase();
  }

  /** Offset just past a case-insensitive match, or -1. */
  after(needle: string): number {
    const at = this.lower.indexOf(needle.toLowerCase());
    return at === -1 ? -1 : at + needle.length;
  }

  /** The value of `\r\n<name>: ` up to the next CRLF, or null when the header is absent. */
  header(name: string): string | null {
    const start = this.after(`\r\n${name}: `);
    if (start === -1) return null;
    const end = this.text.indexOf('\r\n', start);
    return this.text.slice(start, end === -1 ? undefined : end);
  }

  /** The early URL parse used by the auth denials: whatever sits between byte 4 and the next space. */
  url(): string {
    const end = this.text.indexOf(' ', 4);
    return end === -1 ? '-' : this.text.slice(4, Math.min(end, 4 + 1024));
  }

  headers(): IncomingHttpHeaders {
    const headers: IncomingHttpHeaders = {};
    const head = this.text.slice(0, this.text.indexOf('\r\n\r\n'));
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers[name];
      headers[name] = previous === undefined ? value : `${String(previous)}, ${value}`;
    }
    return headers;
  }
}

type WebsocketCheck =
  | { kind: 'hybi'; path: string; version: number; protocols: string }
  | { kind: 'hixie'; version: 75 | 76 }
  | { kind: 'failed'; reason: string };

/** parse_handshake, check for check and in the same order, so the logged reason is the one KasmVNC gives. */
function websocketChecks(request: RawRequest): WebsocketCheck {
  const { text } = request;
  if (text.length < 92 || !text.startsWith('GET ') || request.after('Upgrade: websocket') === -1) {
    return { kind: 'failed', reason: 'not a GET request, or missing Upgrade header' };
  }
  const pathEnd = text.indexOf(' HTTP/1.1', 4);
  if (pathEnd === -1) return { kind: 'failed', reason: 'not HTTP' };
  if (request.header('Host') === null) return { kind: 'failed', reason: 'missing Host header' };
  if (request.header('Origin') === null && request.header('Sec-WebSocket-Origin') === null) {
    return { kind: 'failed', reason: 'missing Sec-WebSocket-Origin header' };
  }
  const version = request.header('Sec-WebSocket-Version');
  if (version === null) return hixieChecks(request);
  if (request.header('Sec-WebSocket-Key') === null) return { kind: 'failed', reason: 'missing Sec-WebSocket-Key header' };
  if (request.header('Connection') === null) return { kind: 'failed', reason: 'missing Connection header' };
  const protocols = request.header('Sec-WebSocket-Protocol');
  if (protocols === null) return { kind: 'failed', reason: 'missing Sec-WebSocket-Protocol header' };
  return { kind: 'hybi', path: text.slice(4, pathEnd), version: Number.parseInt(version, 10) || 0, protocols };
}

function hixieChecks(request: RawRequest): WebsocketCheck {
  const end = request.text.indexOf('\r\n\r\n');
  if (end === -1) return { kind: 'failed', reason: 'headers too large' };
  if (request.text.length - (end + 4) !== 8) return { kind: 'hixie', version: 75 };
  if (request.header('Sec-WebSocket-Key1') === null) return { kind: 'failed', reason: 'missing Sec-WebSocket-Key1 header' };
  if (request.header('Sec-WebSocket-Key2') === null) return { kind: 'failed', reason: 'missing Sec-WebSocket-Key2 header' };
  return { kind: 'hixie', version: 76 };
}

/** `strtok(protocols, ",")`: the first offered protocol wins; `base64` switches the stream to text frames. */
function responseProtocol(offered: string): string {
  return offered.split(',')[0] || 'null';
}

// name2mime compares extensions by prefix, so `.json` is served as JavaScript, like the real server does.
const MIME_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['htm', 'text/html'],
  ['txt', 'text/plain'],
  ['css', 'text/css'],
  ['js', 'application/javascript'],
  ['gif', 'image/gif'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['png', 'image/png'],
  ['svg', 'image/svg+xml'],
];

function mimeType(path: string): string {
  const dot = path.lastIndexOf('.');
  if (dot === -1 || path.toLowerCase().includes('downloads/')) return 'application/octet-stream';
  const extension = path.slice(dot + 1);
  return MIME_PREFIXES.find(([prefix]) => extension.startsWith(prefix))?.[1] ?? 'application/octet-stream';
}

/** percent_decode with the traversal filter: an encoded slash becomes `_`, a bad escape ends the C string. */
function percentDecode(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i += 1) {
    if (path[i] !== '%') {
      out += path[i];
      continue;
    }
    if (i + 2 >= path.length) break;
    const code = Number.parseInt(path.slice(i + 1, i + 3), 16) || 0;
    if (code === 0) break;
    out += code === 0x2f ? '_' : String.fromCharCode(code);
    i += 2;
  }
  return out;
}

type FileRequest = { kind: 'file'; path: string; decoded: string } | { kind: 'rejected'; path: string; reason: string };

/** servefile's parsing of the request line, including its quirk of looking for `../` anywhere in the headers. */
function fileRequest(request: RawRequest): FileRequest {
  const { text } = request;
  if (!text.startsWith('GET ')) return { kind: 'rejected', path: request.url(), reason: 'non-GET request, rejecting' };
  const rest = text.slice(4);
  const length = Math.max(rest.indexOf(' '), 0);
  if (length < 1 || length > 1024 || rest.includes('../')) {
    return { kind: 'rejected', path: request.url(), reason: `Request too long (${length}) or attempted dir traversal attack, rejecting` };
  }
  const target = rest.slice(0, length);
  const query = target.indexOf('?');
  const raw = query === -1 ? target : target.slice(0, query);
  const path = raw === '/' ? '/index.html' : raw;
  const decoded = percentDecode(path);
  if (decoded.includes('../')) return { kind: 'rejected', path, reason: 'Attempted dir traversal attack, rejecting' };
  return { kind: 'file', path, decoded };
}

/** One accepted TCP connection: the `subthread` of websocket.c. */
class Handler {
  private readonly origIp: string;
  private ip: string;
  private session: VncSession | null = null;

  constructor(
    private readonly id: number,
    private readonly raw: Socket,
    private readonly shared: Shared,
    readonly faults: ReadonlySet<string>,
  ) {
    this.origIp = peerAddress(raw);
    this.ip = this.origIp;
  }

  async run(): Promise<void> {
    this.raw.on('error', ignore);
    this.info(`got client connection from ${this.origIp}`);
    try {
      await this.handshake();
    } catch (err) {
      console.error(`kasmvnc stand-in: handler ${this.id} failed`, err);
      this.raw.destroy();
    }
  }

  debug(message: string): void {
    this.shared.log.websocket(this.id, 'DEBUG', message);
  }

  info(message: string): void {
    this.shared.log.websocket(this.id, 'INFO', message);
  }

  exit(): void {
    this.debug('handler exit');
  }

  private async handshake(): Promise<void> {
    const first = await firstChunk(this.raw);
    if (!first) return this.noConnection(this.raw, 'ignoring empty handshake');
    if (!isTlsRecord(first)) return this.noConnection(this.raw, 'non-SSL connection disallowed');
    const socket = await this.acceptTls();
    const read = await readHandshake(socket);
    if (read.kind !== 'complete') return this.handshakeFailed(socket, read);
    this.dispatch(socket, read.request, read.rest);
  }

  /** SSL_accept, whose failure KasmVNC prints and then ignores, so the read that follows reports the closed client. */
  private acceptTls(): Promise<TLSSocket> {
    const socket = new TLSSocket(this.raw, { isServer: true, secureContext: this.shared.secureContext });
    socket.on('error', ignore);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (failure?: Error) => {
        if (settled) return;
        settled = true;
        if (failure) this.printSslErrors(failure);
        this.debug('using SSL socket');
        resolve(socket);
      };
      socket.once('secure', () => settle());
      socket.once('error', settle);
      socket.once('close', () => settle(new Error('closed')));
    });
  }

  private printSslErrors(failure: Error): void {
    for (const line of failure.message.split('\n')) {
      if (line.includes(':error:')) this.shared.log.raw(line.trim());
    }
  }

  private handshakeFailed(socket: TLSSocket, read: Exclude<HandshakeRead, { kind: 'complete' }>): void {
    switch (read.kind) {
      case 'closed':
        return this.noConnection(socket, 'Client closed during handshake');
      case 'error':
        return this.noConnection(socket, `Read error during handshake: ${read.reason}`);
      case 'incomplete':
        return this.noConnection(socket, 'Incomplete handshake');
      case 'oversized':
        // send400 is called with "-" for the original address: the X-Forwarded-For header was never parsed.
        this.debug('Oversized handshake');
        this.reply(socket, 400, `HTTP/1.1 400 Bad Request\r\n${SERVER_HEADERS}Content-type: text/plain\r\n${EXTRA_HEADERS}\r\n400 Bad Request, too large`, '-', '-', '-');
        return this.noConnection(socket);
    }
  }

  /** Sends a whole answer and writes weblog(): `<socket ip> <X-Forwarded-For or socket ip> <user> "GET <url> HTTP/1.1" <code> <bytes>`. */
  private reply(socket: Socket, code: number, response: string | Buffer, user: string, url: string, origIp = this.origIp): void {
    const bytes = typeof response === 'string' ? Buffer.from(response, 'latin1') : response;
    if (!socket.destroyed) socket.write(bytes);
    this.info(`${origIp} ${this.ip} ${user} "GET ${url} HTTP/1.1" ${code} ${bytes.length}`);
  }

  private noConnection(socket: Socket, reason?: string): void {
    if (reason) this.debug(reason);
    this.debug('No connection after handshake');
    closeSocket(socket);
    this.exit();
  }

  private dispatch(socket: TLSSocket, request: RawRequest, rest: Buffer): void {
    this.applyForwardedFor(request);
    const user = this.authenticate(socket, request);
    if (user === null) return this.noConnection(socket);
    this.debug('BasicAuth matched');
    const check = websocketChecks(request);
    if (check.kind === 'hybi') return this.upgrade(socket, request, rest, check);
    if (check.kind === 'hixie') {
      // ws speaks RFC 6455 only; a Hixie client is a museum piece, so it is let go after the line real KasmVNC logs.
      this.debug(`using protocol Hixie ${check.version}`);
      closeSocket(socket);
      return this.exit();
    }
    if (request.text.includes('/websockify')) this.info(`/websockify request failed websocket checks, ${check.reason}`);
    this.debug('Invalid WS request, maybe a HTTP one');
    this.serveHttp(socket, request, user);
    this.noConnection(socket);
  }

  /** Only the first address before a comma is taken, and only if it looks like an IP. */
  private applyForwardedFor(request: RawRequest): void {
    const start = request.after('X-Forwarded-For: ');
    if (start === -1) return;
    const lineEnd = request.text.indexOf('\r', start);
    const end = lineEnd === -1 ? request.text.length : lineEnd;
    const comma = request.text.indexOf(',', start);
    const value = request.text.slice(start, comma !== -1 && comma < end ? comma : end);
    if (!/^[0-9a-fA-F.:]*$/.test(value) || value.length >= 64) {
      this.info('An invalid X-Forwarded-For was passed, maybe an attack');
      return;
    }
    this.ip = value;
    this.debug(`X-Forwarded-For ip '${value}'`);
  }

  /** Basic auth runs before the websocket/HTTP split; returns the user, or null once the denial is sent. */
  private authenticate(socket: TLSSocket, request: RawRequest): string | null {
    const url = request.url();
    const start = request.after('Authorization: Basic ');
    if (start === -1) {
      this.info("Authentication attempt failed, BasicAuth required, but client didn't send any");
      return this.deny(socket, 401, `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="Websockify"\r\n${EXTRA_HEADERS}\r\n`, '-', url);
    }
    const end = request.text.indexOf('\r', start);
    if (end === -1 || end - start > 256) {
      this.info('Authentication attempt failed, client sent invalid BasicAuth');
      return this.deny(socket, 403, `HTTP/1.1 403 Forbidden\r\n${SERVER_HEADERS}Content-type: text/plain\r\n${EXTRA_HEADERS}\r\n403 Forbidden`, '-', '-');
    }
    const attempt = this.checkCredentials(decodeBasic(request.text.slice(start, end)));
    if (attempt.ok) return attempt.user;
    this.info(`Authentication attempt failed, wrong password for user ${attempt.user}`);
    return this.deny(socket, 401, `HTTP/1.1 401 Forbidden\r\n${EXTRA_HEADERS}\r\n`, attempt.user, url);
  }

  /** An unknown user also fails the password comparison, so real KasmVNC logs both lines for it. */
  private checkCredentials(decoded: string): { user: string; ok: boolean } {
    const colon = decoded.indexOf(':');
    const password = colon === -1 ? '' : decoded.slice(colon + 1);
    if (colon === -1 || password === '' || colon >= USERNAME_LEN) return { user: '-', ok: false };
    const user = decoded.slice(0, colon);
    if (user !== OWNER_USER) {
      this.info(`Authentication attempt failed, user ${user} does not exist`);
      return { user, ok: false };
    }
    return { user, ok: password === Buffer.from(this.shared.password, 'utf8').toString('latin1') };
  }

  private deny(socket: TLSSocket, code: number, response: string, user: string, url: string): null {
    this.reply(socket, code, response, user, url);
    return null;
  }

  private serveHttp(socket: TLSSocket, request: RawRequest, user: string): void {
    if (request.text.includes('/api/')) this.ownerApi(request);
    const file = fileRequest(request);
    if (file.kind === 'rejected') {
      this.debug(file.reason);
      return this.send404(socket, user, file.path);
    }
    this.debug(`Requested file '${file.decoded}'`);
    const body = this.shared.statics.get(file.decoded);
    if (!body) {
      this.debug('file not found or insufficient permissions');
      return this.send404(socket, user, file.path);
    }
    const header = `HTTP/1.1 200 OK\r\n${SERVER_HEADERS}Content-type: ${mimeType(file.path)}\r\nContent-length: ${body.length}\r\n${EXTRA_HEADERS}\r\n`;
    this.reply(socket, 200, Buffer.concat([Buffer.from(header, 'latin1'), body]), user, file.path);
  }

  /** kasm_user is an owner, so /api/ requests reach ownerapi(); none of its endpoints is simulated, so they fall through. */
  private ownerApi(request: RawRequest): void {
    this.debug('HTTP request under /api/');
    const { text } = request;
    if (!text.startsWith('GET ') && !text.startsWith('POST ')) return this.debug('non-GET, non-POST request, rejecting');
    const start = text.indexOf(' ') + 1;
    const target = text.slice(start, text.indexOf(' ', start));
    const [path = '', args = ''] = target.split(/\?(.*)/s);
    if (text.startsWith('POST ')) return this.debug(`Requested owner POST api '${path}'`);
    if (args.includes('password=')) return this.debug(`Requested owner api '${path}' with args (skipped, includes password)`);
    this.debug(`Requested owner api '${path}' with args '${args}'`);
  }

  private send404(socket: TLSSocket, user: string, path: string): void {
    this.reply(socket, 404, `HTTP/1.1 404 Not Found\r\n${SERVER_HEADERS}Content-type: text/plain\r\n${EXTRA_HEADERS}\r\n404`, user, path);
  }

  private upgrade(socket: TLSSocket, request: RawRequest, rest: Buffer, check: Extract<WebsocketCheck, { kind: 'hybi' }>): void {
    const textMode = responseProtocol(check.protocols) === 'base64';
    this.debug(`using protocol HyBi/IETF 6455 ${check.version}`);
    socket.once('close', () => {
      if (!this.session) this.exit();
    });
    this.shared.wss.handleUpgrade(upgradeRequest(socket, request, check.path), socket, rest, (ws) => {
      this.session = new VncSession(this, ws, socket, textMode, this.shared, this.ip);
      this.session.start();
      socket.resume();
    });
  }
}

function decodeBasic(value: string): string {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return '';
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  const nul = decoded.indexOf('\0');
  return nul === -1 ? decoded : decoded.slice(0, nul);
}

/** ws wants an IncomingMessage; an empty protocol list (answered `null` by KasmVNC) would make ws refuse the upgrade. */
function upgradeRequest(socket: TLSSocket, request: RawRequest, path: string): IncomingMessage {
  const message = new IncomingMessage(socket);
  message.method = 'GET';
  message.url = path;
  message.headers = request.headers();
  if (!message.headers['sec-websocket-protocol']) delete message.headers['sec-websocket-protocol'];
  return message;
}

/** A viewer on /websockify: websockify.c's proxy loop plus the Xvnc client it talks to over a unix socket. */
class VncSession {
  private ended = false;
  private rfb: RfbServer | null = null;
  private readonly endpoint: string;
  private fd = 0;
  private crashTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handler: Handler,
    private readonly ws: WebSocket,
    private readonly socket: TLSSocket,
    private readonly textMode: boolean,
    private readonly shared: Shared,
    ip: string,
  ) {
    this.endpoint = unixEndpoint(OWNER_USER, ip);
  }

  start(): void {
    this.handler.debug('connecting to VNC target');
    this.fd = allocateFd(this.shared.fds);
    this.shared.log.module('DEBUG', 'XserverDesktop', `new client, sock ${this.fd}`);
    this.shared.log.module('PRIO', 'Connections', `accepted: ${this.endpoint}`);
    this.shared.sessions.add(this);
    const rfb = new RfbServer(new Screen(this.shared.desktop), {
      send: (data) => this.send(data),
      close: (reason) => this.targetClosed(reason),
      log: (level, name, message) => this.shared.log.module(level, name, message),
      firstUpdateSent: () => this.firstUpdateSent(),
    });
    this.rfb = rfb;
    this.ws.on('message', (data, isBinary) => rfb.receive(decodeFrame(data, isBinary)));
    this.ws.on('close', (code) => this.clientClosed(code));
    this.ws.on('error', ignore);
    rfb.start();
  }

  shutdown(): void {
    this.release();
    this.socket.destroy();
  }

  /** kasmvnc-crash is a deterministic bug: the next round of encoding for a fresh viewer brings Xvnc down. */
  private firstUpdateSent(): void {
    if (!this.handler.faults.has('kasmvnc-crash')) return;
    this.crashTimer = setTimeout(() => this.shared.crash(), CRASH_AFTER_FIRST_UPDATE_MS);
  }

  private send(data: Buffer): void {
    for (let offset = 0; offset < data.length; offset += FRAME_PAYLOAD) {
      const chunk = data.subarray(offset, offset + FRAME_PAYLOAD);
      if (this.textMode) this.ws.send(chunk.toString('base64'));
      else this.ws.send(chunk, { binary: true });
    }
  }

  /** ws reports 1006 when the TCP connection went away without a close frame. */
  private clientClosed(code: number): void {
    if (this.ended) return;
    this.handler.debug(code === 1006 ? 'client closed connection' : 'client sent orderly close frame');
    this.finish('Clean disconnection');
  }

  private targetClosed(reason: string): void {
    if (this.ended) return;
    this.shared.log.module('PRIO', 'Connections', `closed: ${this.endpoint} (${reason})`);
    this.handler.debug('target closed connection');
    closeSocket(this.socket);
    this.release();
    this.handler.exit();
  }

  private finish(reason: string): void {
    this.shared.log.module('PRIO', 'Connections', `closed: ${this.endpoint} (${reason})`);
    this.release();
    this.handler.exit();
  }

  private release(): void {
    this.ended = true;
    clearTimeout(this.crashTimer);
    this.rfb?.stop();
    this.shared.fds.delete(this.fd);
    this.shared.sessions.delete(this);
  }
}

/** proxy_handler binds the unix socket to `.<user>@<ip>_<sec>.<usec>` (abstract, so the dot is dropped); %lu, no padding. */
function unixEndpoint(user: string, ip: string): string {
  const micros = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000));
  return `${user}@${ip}_${micros / 1_000_000n}.${micros % 1_000_000n}::websocket`;
}

function allocateFd(used: Set<number>): number {
  let fd = FIRST_SOCKET_FD;
  while (used.has(fd)) fd += 1;
  used.add(fd);
  return fd;
}

/** decode_hybi base64-decodes every text frame and copies binary ones, whatever protocol was negotiated. */
function decodeFrame(data: RawData, isBinary: boolean): Buffer {
  const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  return isBinary ? buffer : Buffer.from(buffer.toString('latin1'), 'base64');
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function intersect(a: Rect, b: Rect): Rect | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : null;
}

interface PixelFormat {
  bpp: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  max: readonly [number, number, number];
  shift: readonly [number, number, number];
}

const SERVER_FORMAT: PixelFormat = { bpp: 32, depth: 24, bigEndian: false, trueColour: true, max: [255, 255, 255], shift: [16, 8, 0] };

function isServerFormat(format: PixelFormat): boolean {
  return !format.bigEndian && format.max.every((m) => m === 255) && format.shift.join() === SERVER_FORMAT.shift.join();
}

function encodePixelFormat(format: PixelFormat): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt8(format.bpp, 0);
  out.writeUInt8(format.depth, 1);
  out.writeUInt8(format.bigEndian ? 1 : 0, 2);
  out.writeUInt8(format.trueColour ? 1 : 0, 3);
  format.max.forEach((max, i) => out.writeUInt16BE(max, 4 + i * 2));
  format.shift.forEach((shift, i) => out.writeUInt8(shift, 10 + i));
  return out;
}

function decodePixelFormat(raw: Buffer): PixelFormat {
  return {
    bpp: raw.readUInt8(0),
    depth: raw.readUInt8(1),
    bigEndian: raw.readUInt8(2) !== 0,
    trueColour: raw.readUInt8(3) !== 0,
    max: [raw.readUInt16BE(4), raw.readUInt16BE(6), raw.readUInt16BE(8)],
    shift: [raw.readUInt8(10), raw.readUInt8(11), raw.readUInt8(12)],
  };
}

/** PixelFormat::print's short form: `depth 24 (32bpp) little-endian rgb888`. */
function describePixelFormat(format: PixelFormat): string {
  const endian = format.bigEndian ? 'big' : 'little';
  const base = `depth ${format.depth} (${format.bpp}bpp) ${endian}-endian`;
  const standard = format.max.every((m) => m === 255) && [...format.shift].sort((a, b) => a - b).join() === '0,8,16';
  if (!standard) return `${base} rgb max ${format.max.join(',')} shift ${format.shift.join(',')}`;
  const order = (['r', 'g', 'b'] as const).map((name, i) => ({ name, shift: format.shift[i] ?? 0 })).sort((a, b) => b.shift - a.shift);
  return `${base} ${order.map((c) => c.name).join('')}888`;
}

/**
 * What Xvnc offers: KasmVNC is built without GnuTLS (builder/build.sh `-DENABLE_GNUTLS:BOOL=OFF`), so the default
 * SecurityTypes is `VncAuth` alone.
 */
const SECURITY_TYPES: readonly number[] = [SECURITY_VNC_AUTH];
/**
 * The VncAuth password: vncserver's DisableLegacyVncAuth writes the obfuscated empty password to ~/.vnc/passwd and
 * starts Xvnc with `-rfbauth` on it. Responses are checked against it: a client must answer, and with that password.
 */
const VNC_AUTH_PASSWORD = '';
/** AuthFailureException's default text, which SConnection sends as the reason of a failed SecurityResult in 3.8. */
const AUTH_FAILURE = 'Authentication failure';

interface RfbPeer {
  send(data: Buffer): void;
  close(reason: string): void;
  log(level: LogLevel, module: string, message: string): void;
  firstUpdateSent(): void;
}

class RfbProtocolError extends Error {}

/**
 * The server half of RFB 3.3/3.7/3.8 as KasmVNC's SConnection and SSecurityVncAuth run it: VncAuth checked against
 * vncserver's empty password (the real authentication already happened in HTTP), then Raw updates only.
 */
class RfbServer {
  private input: Buffer = Buffer.alloc(0);
  private phase: 'version' | 'security' | 'vnc-response' | 'init' | 'normal' | 'closed' = 'version';
  private challenge: Buffer = Buffer.alloc(0);
  private minor = 8;
  private format: PixelFormat = SERVER_FORMAT;
  private pending: Rect | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastUpdate = 0;
  private sentFirstFrame = false;

  constructor(
    private readonly screen: Screen,
    private readonly peer: RfbPeer,
  ) {}

  start(): void {
    this.peer.send(Buffer.from('RFB 003.008\n', 'latin1'));
    this.peer.log('DEBUG', 'SConnection', 'reading protocol version');
  }

  receive(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    try {
      while (this.step());
    } catch (err) {
      this.stop();
      this.peer.close(err instanceof Error ? err.message : String(err));
    }
  }

  stop(): void {
    this.phase = 'closed';
    clearTimeout(this.timer);
  }

  private step(): boolean {
    switch (this.phase) {
      case 'version':
        return this.readVersion();
      case 'security':
        return this.readSecurityType();
      case 'vnc-response':
        return this.readVncResponse();
      case 'init':
        return this.readClientInit();
      case 'normal':
        return this.readMessage();
      case 'closed':
        return false;
    }
  }

  private take(size: number): Buffer | null {
    if (this.input.length < size) return null;
    const out = this.input.subarray(0, size);
    this.input = this.input.subarray(size);
    return out;
  }

  private readVersion(): boolean {
    const raw = this.take(12);
    if (!raw) return false;
    const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(raw.toString('latin1'));
    if (!match) throw new RfbProtocolError('reading version failed: not an RFB client?');
    const major = Number(match[1]);
    const minor = Number(match[2]);
    this.peer.log('INFO', 'SConnection', `Client needs protocol version ${major}.${minor}`);
    if (major !== 3) throw new RfbProtocolError(`Client needs protocol version ${major}.${minor}, server has 3.8`);
    this.minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
    if (this.minor === 3) {
      // A 3.3 client gets the server's pick, the first of None and VncAuth it offers, and no choice of its own.
      this.peer.send(u32(SECURITY_VNC_AUTH));
      this.sendChallenge();
    } else {
      this.peer.send(Buffer.from([SECURITY_TYPES.length, ...SECURITY_TYPES]));
      this.phase = 'security';
    }
    return true;
  }

  /** processSecurityType: a type that was not offered closes the connection before anything is logged or sent. */
  private readSecurityType(): boolean {
    const raw = this.take(1);
    if (!raw) return false;
    const type = raw.readUInt8(0);
    this.peer.log('DEBUG', 'SConnection', 'processing security type message');
    if (!SECURITY_TYPES.includes(type)) throw new RfbProtocolError('Requested security type not available');
    this.peer.log('INFO', 'SConnection', `Client requests security type ${securityTypeName(type)}`);
    this.sendChallenge();
    return true;
  }

  /** SSecurityVncAuth's first round: 16 random bytes. */
  private sendChallenge(): void {
    this.peer.log('DEBUG', 'SConnection', 'processing security message');
    this.challenge = randomBytes(VNC_AUTH_CHALLENGE_BYTES);
    this.peer.send(this.challenge);
    this.phase = 'vnc-response';
  }

  /** Its second round: the response must be the challenge DES-encrypted with the password file's password. */
  private readVncResponse(): boolean {
    const response = this.take(VNC_AUTH_CHALLENGE_BYTES);
    if (!response) return false;
    this.peer.log('DEBUG', 'SConnection', 'processing security message');
    this.peer.log('DEBUG', 'SVncAuth', 'reading password file');
    if (!response.equals(vncAuthResponse(this.challenge, VNC_AUTH_PASSWORD))) {
      this.peer.log('PRIO', 'SConnection', `AuthFailureException: ${AUTH_FAILURE}`);
      this.peer.send(this.minor === 8 ? Buffer.concat([u32(1), rfbString(AUTH_FAILURE)]) : u32(1));
      throw new RfbProtocolError(AUTH_FAILURE);
    }
    // approveConnection: every type but None gets a SecurityResult, whatever the version.
    this.peer.send(u32(0));
    this.securityAccepted();
    return true;
  }

  private securityAccepted(): void {
    this.peer.log('INFO', 'VNCSConnST', `Server default pixel format ${describePixelFormat(SERVER_FORMAT)}`);
    this.phase = 'init';
  }

  private readClientInit(): boolean {
    if (!this.take(1)) return false;
    this.peer.log('DEBUG', 'SConnection', 'reading client initialisation');
    const size = Buffer.alloc(4);
    size.writeUInt16BE(this.screen.width, 0);
    size.writeUInt16BE(this.screen.height, 2);
    this.peer.send(Buffer.concat([size, encodePixelFormat(SERVER_FORMAT), rfbString(this.screen.label)]));
    this.phase = 'normal';
    return true;
  }

  private readMessage(): boolean {
    if (this.input.length === 0) return false;
    const type = this.input.readUInt8(0);
    const size = this.messageSize(type);
    const message = size === null ? null : this.take(size);
    if (!message) return false;
    if (type === 0) this.setPixelFormat(decodePixelFormat(message.subarray(4)));
    if (type === 3) this.updateRequest(message);
    return true;
  }

  /** Client message sizes; KeyEvent, PointerEvent, SetEncodings and ClientCutText are read only to stay in step. */
  private messageSize(type: number): number | null {
    switch (type) {
      case 0:
        return 20;
      case 2:
        return this.input.length < 4 ? null : 4 + 4 * this.input.readUInt16BE(2);
      case 3:
        return 10;
      case 4:
        return 8;
      case 5:
        return 6;
      case 6:
        // KasmVNC's extended clipboard sends a negative length for its binary format.
        return this.input.length < 8 ? null : 8 + Math.abs(this.input.readInt32BE(4));
      default:
        throw new RfbProtocolError(`unknown message type ${type}`);
    }
  }

  private setPixelFormat(format: PixelFormat): void {
    if (format.bpp !== 32 || !format.trueColour) return;
    this.format = format;
    this.peer.log('INFO', 'VNCSConnST', `Client pixel format ${describePixelFormat(format)}`);
  }

  private updateRequest(message: Buffer): void {
    const incremental = message.readUInt8(1) !== 0;
    const asked = { x: message.readUInt16BE(2), y: message.readUInt16BE(4), w: message.readUInt16BE(6), h: message.readUInt16BE(8) };
    const rect = intersect(asked, { x: 0, y: 0, w: this.screen.width, h: this.screen.height });
    if (!incremental || !this.sentFirstFrame) {
      const first = !this.sentFirstFrame;
      this.pending = null;
      this.sentFirstFrame = true;
      this.sendUpdate(rect);
      if (first) this.peer.firstUpdateSent();
      return;
    }
    this.pending = rect;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || !this.pending) return;
    const delay = Math.max(0, this.lastUpdate + UPDATE_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
  }

  /** A pending incremental request is answered with the strip that changed; no change in its area, no answer. */
  private flush(): void {
    if (this.phase !== 'normal' || !this.pending) return;
    const changed = intersect(this.screen.tick(new Date()), this.pending);
    if (!changed) return;
    this.pending = null;
    this.sendUpdate(changed);
  }

  private sendUpdate(rect: Rect | null): void {
    const header = Buffer.from([0, 0, 0, rect ? 1 : 0]);
    const parts: Buffer[] = [header];
    if (rect) {
      const rectHeader = Buffer.alloc(12);
      rectHeader.writeUInt16BE(rect.x, 0);
      rectHeader.writeUInt16BE(rect.y, 2);
      rectHeader.writeUInt16BE(rect.w, 4);
      rectHeader.writeUInt16BE(rect.h, 6);
      rectHeader.writeInt32BE(0, 8);
      parts.push(rectHeader, this.screen.raw(rect, this.format));
    }
    this.lastUpdate = Date.now();
    this.peer.send(Buffer.concat(parts));
  }
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

function rfbString(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([u32(body.length), body]);
}

type Rgb = readonly [number, number, number];

// A 3x5 pixel font, rows top to bottom; enough for labels, clocks and resolutions.
const FONT: Record<string, string> = {
  A: '010101111101101', B: '110101110101110', C: '011100100100011', D: '110101101101110', E: '111100110100111',
  F: '111100110100100', G: '011100101101011', H: '101101111101101', I: '111010010010111', J: '001001001101010',
  K: '101101110101101', L: '100100100100111', M: '101111111101101', N: '110101101101101', O: '010101101101010',
  P: '110101110100100', Q: '010101101110011', R: '110101110101101', S: '011100010001110', T: '111010010010010',
  U: '101101101101111', V: '101101101101010', W: '101101111111101', X: '101101010101101', Y: '101101010010010',
  Z: '111001010100111', '0': '111101101101111', '1': '010110010010111', '2': '110001010100111', '3': '110001010001110',
  '4': '101101111001001', '5': '111100110001110', '6': '011100111101111', '7': '111001010010010', '8': '111101111101111',
  '9': '111101111001110', ' ': '000000000000000', ':': '000010000010000', '-': '000000111000000', "'": '010010000000000',
  '.': '000000000000010', _: '000000000000111', '/': '001001010100100', '(': '001010010010001', ')': '100010010010100',
  ',': '000000000010100',
};
const UNKNOWN_GLYPH = '111101101101111';

/** The desktop one viewer sees: a BGRX buffer (the server's little-endian rgb888) painted once per connection. */
class Screen {
  readonly width: number;
  readonly height: number;
  readonly label: string;
  private readonly pixels: Buffer;
  private readonly clock: Rect;

  constructor(spec: { width: number; height: number; label: string }) {
    this.width = spec.width;
    this.height = spec.height;
    this.label = spec.label;
    this.pixels = Buffer.alloc(this.width * this.height * 4);
    const bar = this.taskbarHeight();
    this.clock = { x: Math.max(0, this.width - 156), y: this.height - bar + 4, w: Math.min(150, this.width), h: Math.max(1, bar - 8) };
    this.paintDesktop();
    this.tick(new Date());
  }

  /** Redraws the clock and progress strip in the taskbar and returns the area that changed. */
  tick(now: Date): Rect {
    const strip = this.clock;
    this.fill(strip, [16, 18, 24]);
    const time = now.toISOString().slice(11, 19);
    this.text(strip.x + 4, strip.y + Math.max(0, (strip.h - 10) >> 1), time, 2, [220, 230, 240]);
    const track = { x: strip.x + 76, y: strip.y + (strip.h >> 1) - 3, w: 70, h: 6 };
    this.fill(track, [50, 56, 70]);
    this.fill({ ...track, w: Math.round((track.w * (now.getTime() % 2000)) / 2000) }, [61, 142, 216]);
    return intersect(strip, { x: 0, y: 0, w: this.width, h: this.height }) ?? { x: 0, y: 0, w: 0, h: 0 };
  }

  /** Raw encoding of one rectangle in the client's pixel format. */
  raw(rect: Rect, format: PixelFormat): Buffer {
    const out = Buffer.alloc(rect.w * rect.h * 4);
    for (let row = 0; row < rect.h; row += 1) {
      const from = ((rect.y + row) * this.width + rect.x) * 4;
      if (isServerFormat(format)) this.pixels.copy(out, row * rect.w * 4, from, from + rect.w * 4);
      else this.convertRow(out, row * rect.w * 4, from, rect.w, format);
    }
    return out;
  }

  private convertRow(out: Buffer, to: number, from: number, count: number, format: PixelFormat): void {
    for (let i = 0; i < count; i += 1) {
      const at = from + i * 4;
      const channels = [this.pixels.readUInt8(at + 2), this.pixels.readUInt8(at + 1), this.pixels.readUInt8(at)];
      const value = channels.reduce((acc, c, k) => acc | (Math.round((c * (format.max[k] ?? 255)) / 255) << (format.shift[k] ?? 0)), 0) >>> 0;
      if (format.bigEndian) out.writeUInt32BE(value, to + i * 4);
      else out.writeUInt32LE(value, to + i * 4);
    }
  }

  private taskbarHeight(): number {
    return Math.max(12, Math.min(28, this.height >> 3));
  }

  private paintDesktop(): void {
    this.gradient();
    const bar = this.taskbarHeight();
    const win = { x: Math.round(this.width * 0.12), y: Math.round(this.height * 0.12), w: Math.round(this.width * 0.56), h: Math.round(this.height * 0.5) };
    this.fill({ x: win.x + 6, y: win.y + 6, w: win.w, h: win.h }, [10, 20, 30]);
    this.fill(win, [32, 48, 64]);
    this.fill({ x: win.x + 1, y: win.y + 1, w: win.w - 2, h: 22 }, [47, 111, 192]);
    this.fill({ x: win.x + 1, y: win.y + 23, w: win.w - 2, h: win.h - 24 }, [236, 238, 240]);
    this.text(win.x + 8, win.y + 7, this.label, 2, [255, 255, 255]);
    this.text(win.x + 16, win.y + 40, this.label, 4, [40, 48, 60]);
    this.text(win.x + 16, win.y + 72, `KASMVNC ${this.width}X${this.height}`, 2, [90, 100, 115]);
    for (let i = 0; i < 4; i += 1) this.fill({ x: 16, y: 16 + i * 56, w: 40, h: 40 }, [220, 224, 232]);
    this.fill({ x: 0, y: this.height - bar, w: this.width, h: bar }, [28, 31, 38]);
    this.fill({ x: 4, y: this.height - bar + 4, w: 60, h: bar - 8 }, [61, 142, 216]);
    this.text(10, this.height - bar + Math.max(4, (bar - 10) >> 1), 'KASM', 2, [255, 255, 255]);
  }

  private gradient(): void {
    for (let y = 0; y < this.height; y += 1) {
      for (let x = 0; x < this.width; x += 1) {
        const at = (y * this.width + x) * 4;
        this.pixels.writeUInt8(110 + Math.round((100 * y) / this.height), at);
        this.pixels.writeUInt8(60 + Math.round((80 * x) / this.width), at + 1);
        this.pixels.writeUInt8(20 + Math.round((40 * y) / this.height), at + 2);
      }
    }
  }

  private fill(rect: Rect, [r, g, b]: Rgb): void {
    const area = intersect(rect, { x: 0, y: 0, w: this.width, h: this.height });
    if (!area) return;
    for (let y = area.y; y < area.y + area.h; y += 1) {
      for (let x = area.x; x < area.x + area.w; x += 1) {
        const at = (y * this.width + x) * 4;
        this.pixels.writeUInt8(b, at);
        this.pixels.writeUInt8(g, at + 1);
        this.pixels.writeUInt8(r, at + 2);
      }
    }
  }

  private text(x: number, y: number, text: string, scale: number, colour: Rgb): void {
    [...text.toUpperCase()].forEach((char, index) => {
      const glyph = FONT[char] ?? UNKNOWN_GLYPH;
      for (let bit = 0; bit < 15; bit += 1) {
        if (glyph[bit] !== '1') continue;
        const gx = x + index * 4 * scale + (bit % 3) * scale;
        const gy = y + Math.floor(bit / 3) * scale;
        this.fill({ x: gx, y: gy, w: scale, h: scale }, colour);
      }
    });
  }
}
