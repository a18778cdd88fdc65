// KasmVNC's desktop log (`~/.vnc/<hostname>:1.log`, also `docker logs <session>` through vnc_startup.sh's tail):
// Logger_File lines, wslog() lines keyed by websocket handler id, the X server's `(EE)` crash backtrace, the
// `Xvnc -version` banner, vncserver's own start messages and Xvnc's exits through websocket.c's fatal()
// (KASM-FACTS.md §6 and §8; the guide's "KasmVNC Troubleshooting").
import { isBlank, looksBinary, parsePythonTime, splitDockerStamp, splitLines } from './text.ts';

interface KasmVncBase {
  /** null for KasmVNC before its 2022 logging change, whose lines carry no date (` websocket 34: ...`). */
  at: Date | null;
  /** `DEBUG` (≥100), `INFO` (≥30) or `PRIO`; anything else a build writes is kept as written. */
  level: string;
  message: string;
  raw: string;
}

export interface KasmVncWebsocketEntry extends KasmVncBase {
  kind: 'websocket';
  /** settings.handler_id: one per accepted TCP connection, which is what the guide calls the request id. */
  handler: number;
}

export interface KasmVncModuleEntry extends KasmVncBase {
  kind: 'module';
  module: string;
}

export type KasmVncEntry = KasmVncWebsocketEntry | KasmVncModuleEntry;

export interface KasmVncCrash {
  signal: number | null;
  /** `Segmentation fault` from `Caught signal 11 (Segmentation fault)`. */
  signalName: string | null;
  sentByPid: number | null;
  /** `(EE) N: ...` frames without the prefix, in order. */
  frames: string[];
  /** `Server aborting` was logged: Xvnc went down, vnc_startup.sh restarts it. */
  aborting: boolean;
  lines: string[];
  /** The last dated entry before the crash, when there is one. */
  after: Date | null;
  /** The first sign of a new Xvnc after the crash: a banner, or a `got client connection`. */
  restartedAt: Date | null;
  restarted: boolean;
}

/**
 * Why no Xvnc serves the session: vncserver refused the display (unix/vncserver), or Xvnc exited through
 * websocket.c's fatal() (`perror` then `exit(1)`) when a TLS connection arrived and its key or certificate would not load.
 */
export interface KasmVncStartFailure {
  kind: 'display-in-use' | 'tls-key' | 'tls-certificate' | 'tls-context';
  /** The display (`:1`) or the file the line names; empty for `Failed to configure SSL context`. */
  subject: string;
  /** perror's reason (`No such file or directory`), on the line after the message or after its colon. */
  detail: string | null;
  /** For a display in use: the lock files vncserver named for it (`/tmp/.X1-lock`, `/tmp/.X11-unix/X1`). */
  locks: string[];
  /** The deciding line first, then the lines that explain it. */
  lines: string[];
}

/** vncserver's `Warning: kasm:1 is taken because of /tmp/.X1-lock`, with its `Remove this file ...` line. */
export interface KasmVncDisplayLock {
  display: string;
  file: string;
  lines: string[];
}

export interface KasmVncLog {
  entries: KasmVncEntry[];
  crashes: KasmVncCrash[];
  /** `Xvnc KasmVNC 1.2.0.<commit> - built ...` lines (`Xvnc -version`, or a restart's banner). */
  versions: string[];
  startFailures: KasmVncStartFailure[];
  /** Lock warnings not followed by vncserver refusing that display (it went on to another display). */
  displayLocks: KasmVncDisplayLock[];
  unparsed: string[];
}

const DATED = /^ ?(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) \[([A-Za-z]+)\] (.*)$/;
/** KasmVNC before 2022: wslog() wrote no date and no level. */
const UNDATED_WEBSOCKET = /^ ?websocket (\d+): ?(.*)$/;
const WEBSOCKET = /^websocket (\d+): ?(.*)$/;
const MODULE = /^([A-Za-z][\w.-]*):\s+(.*)$/;
// Starts like a dated line but did not parse: cut short, not part of a crash block.
const DATED_START = /^ ?\d{4}-\d{2}-\d{2}[ T]\d/;
const CRASH_LINE = /^\(EE\)|^Fatal server error:/;
const FRAME = /^\(EE\) +(\d+): +(.*)$/;
const RECEIVED = /^\(EE\) Received signal (\d+) sent by process (\d+)/;
const CAUGHT = /^\(EE\) Caught signal (\d+) \(([^)]*)\)\.?(.*)$/;
const VERSION = /^Xvnc (KasmVNC \S+) - built .*$/;
// The rest of vncPrintBanner's output and vncserver's own separator; they carry nothing to judge.
const BANNER = [/^Copyright \(C\) \d{4}-\d{4} KasmVNC Team/, /^See .* for information on KasmVNC/, /^Underlying X server release /, /^-+ Xvnc started -+$/, /^\s*-+ Xvnc started -+\s*$/];
// unix/vncserver's CheckVncIsntRunningOnDisplay and its refusal of a display given on the command line (Kasm's images
// start `vncserver :1`); TurboVNC's vncserver writes `WARNING:`.
const LOCK_TAKEN = /^Warning: (\S+):(\d+) is taken because of (\/tmp\/\S+)$/i;
const LOCK_REMOVE = /^Remove this file if there is no X server (\S+):(\d+)$/;
const ALREADY_RUNNING = /^A VNC server is already running as (:\d+)$/;
// websocket.c's ws_socket_ssl: fatal(msg) is perror(msg) then exit(1). The key and certificate messages end in a
// newline, so perror's `: <reason>` lands on the next line.
const TLS_FATAL: Array<[RegExp, KasmVncStartFailure['kind']]> = [
  [/^Unable to load private key file (.+)$/, 'tls-key'],
  [/^Unable to load certificate file (.+)$/, 'tls-certificate'],
  [/^Failed to configure SSL context(?:: (.+))?$/, 'tls-context'],
];
const PERROR_REASON = /^: (.+)$/;

function datedEntry(line: string): KasmVncEntry | null {
  const old = UNDATED_WEBSOCKET.exec(line);
  if (old) return { kind: 'websocket', at: null, level: 'INFO', handler: Number(old[1]), message: (old[2] ?? '').trimEnd(), raw: line };
  const m = DATED.exec(line);
  const at = m ? parsePythonTime(m[1] ?? '') : null;
  if (!m || !at) return null;
  const level = (m[2] ?? '').toUpperCase();
  const rest = m[3] ?? '';
  const ws = WEBSOCKET.exec(rest);
  if (ws) return { kind: 'websocket', at, level, handler: Number(ws[1]), message: (ws[2] ?? '').trimEnd(), raw: line };
  const mod = MODULE.exec(rest);
  if (mod) return { kind: 'module', at, level, module: mod[1] ?? '', message: (mod[2] ?? '').trimEnd(), raw: line };
  return null;
}

function newCrash(after: Date | null): KasmVncCrash {
  return { signal: null, signalName: null, sentByPid: null, frames: [], aborting: false, lines: [], after, restartedAt: null, restarted: false };
}

function addCrashLine(crash: KasmVncCrash, line: string): void {
  crash.lines.push(line);
  const frame = FRAME.exec(line);
  if (frame) crash.frames.push(frame[2] ?? '');
  const received = RECEIVED.exec(line);
  if (received) {
    crash.signal = Number(received[1]);
    crash.sentByPid = Number(received[2]);
  }
  const caught = CAUGHT.exec(line);
  if (caught) {
    crash.signal = Number(caught[1]);
    crash.signalName = caught[2] ?? null;
    crash.aborting = /Server aborting/i.test(caught[3] ?? '');
  }
}

const isRestart = (entry: KasmVncEntry): boolean => entry.kind === 'websocket' && entry.message.startsWith('got client connection');

function markRestart(crashes: KasmVncCrash[], at: Date | null): void {
  for (const crash of crashes) {
    if (crash.restarted) continue;
    crash.restarted = true;
    crash.restartedAt = at;
  }
}

const lockFiles = (display: string): string => `/tmp/.X${display.slice(1)}-lock and /tmp/.X11-unix/X${display.slice(1)}`;

/** What a start failure means and its fix, for the offline analyzer and the live crash check alike. */
export function explainStartFailure(f: KasmVncStartFailure): { message: string; fix: string } {
  const reason = f.detail ? ` (${f.detail})` : '';
  switch (f.kind) {
    case 'display-in-use':
      return {
        message: `vncserver refused to start display ${f.subject} ("${f.lines[0]!.trim()}")${f.locks.length ? `: ${f.locks.join(' and ')} ${f.locks.length === 1 ? 'is' : 'are'} there, so vncserver counts the display as taken` : ''}; no Xvnc started, so the session cannot load`,
        // vncserver checks the lock file, then the socket: both go, or the next start stops at the socket.
        fix: `If no Xvnc runs in the container (\`ps aux | grep Xvnc\`), the lock is stale (an image committed from a running session keeps it): remove ${lockFiles(f.subject)} from the image, or before vncserver starts, then start a new session.`,
      };
    case 'tls-key':
      return {
        message: `Xvnc exited at a TLS connection: it could not load the private key file ${f.subject}${reason}, and websocket.c's fatal() ends the whole server`,
        fix: "The key kasmvnc.yaml names (network.ssl.pem_key; in Kasm's images ~/.vnc/self.pem, which holds key and certificate) must be a readable PEM private key that matches the certificate: fix it in the workspace image, then start a new session.",
      };
    case 'tls-certificate':
      return {
        message: `Xvnc exited at a TLS connection: it could not load the certificate file ${f.subject}${reason}, and websocket.c's fatal() ends the whole server`,
        fix: "The certificate kasmvnc.yaml names (network.ssl.pem_certificate; in Kasm's images ~/.vnc/self.pem) must be a readable PEM certificate (chain) that matches the key: fix it in the workspace image, then start a new session.",
      };
    case 'tls-context':
      return {
        message: `Xvnc exited at a TLS connection: OpenSSL could not create its TLS context ("Failed to configure SSL context${f.detail ? `: ${f.detail}` : ''}"), and websocket.c's fatal() ends the whole server`,
        fix: "The OpenSSL library in the workspace image does not work with its KasmVNC build: install the KasmVNC package built for the image's distribution, then start a new session.",
      };
  }
}

/**
 * A lock warning vncserver went past: without a display on its command line it takes the next free one, so this is
 * no failure (Kasm's images name :1 and are refused instead: a start failure).
 */
export function explainDisplayLock(lock: KasmVncDisplayLock): { message: string; fix: string } {
  return {
    message: `vncserver skipped display ${lock.display} because ${lock.file} is there ("${lock.lines[0]!.trim()}"): another X server holds ${lock.display}, or the lock is stale`,
    fix: `If no Xvnc serves ${lock.display} (\`ps aux | grep Xvnc\`), remove ${lockFiles(lock.display)}; Kasm's images start vncserver on :1 and fail when it is taken.`,
  };
}

interface Reader {
  log: KasmVncLog;
  crash: KasmVncCrash | null;
  lastAt: Date | null;
  /** A key or certificate failure whose perror reason may follow on the next line. */
  fatal: KasmVncStartFailure | null;
}

/** vncserver's start messages and Xvnc's fatal TLS exits; false when the line is neither. */
function readStartLine(reader: Reader, line: string): boolean {
  const { log } = reader;
  const text = line.trim();
  const pending = reader.fatal;
  reader.fatal = null;
  const reason = PERROR_REASON.exec(text);
  if (reason && pending && pending.detail === null) {
    pending.detail = reason[1]!.trim();
    pending.lines.push(line);
    return true;
  }
  const taken = LOCK_TAKEN.exec(text);
  if (taken) {
    log.displayLocks.push({ display: `:${taken[2]}`, file: taken[3]!, lines: [line] });
    return true;
  }
  const remove = LOCK_REMOVE.exec(text);
  const last = log.displayLocks.at(-1);
  if (remove && last && last.display === `:${remove[2]}` && last.lines.length === 1) {
    last.lines.push(line);
    return true;
  }
  const running = ALREADY_RUNNING.exec(text);
  if (running) {
    const display = running[1]!;
    // vncserver warns about the display's lock files right before it refuses the display.
    const locks: KasmVncDisplayLock[] = [];
    while (log.displayLocks.at(-1)?.display === display) locks.unshift(log.displayLocks.pop()!);
    log.startFailures.push({ kind: 'display-in-use', subject: display, detail: null, locks: locks.map((l) => l.file), lines: [line, ...locks.flatMap((l) => l.lines)] });
    return true;
  }
  for (const [re, kind] of TLS_FATAL) {
    const m = re.exec(text);
    if (!m) continue;
    const failure: KasmVncStartFailure = kind === 'tls-context' ? { kind, subject: '', detail: m[1]?.trim() ?? null, locks: [], lines: [line] } : { kind, subject: m[1]!.trim(), detail: null, locks: [], lines: [line] };
    log.startFailures.push(failure);
    if (kind !== 'tls-context') reader.fatal = failure;
    return true;
  }
  return false;
}

function readLine(reader: Reader, original: string, line: string): void {
  const { log } = reader;
  const entry = looksBinary(line) ? null : datedEntry(line);
  if (entry) {
    reader.crash = null;
    reader.fatal = null;
    if (isRestart(entry)) markRestart(log.crashes, entry.at);
    log.entries.push(entry);
    reader.lastAt = entry.at ?? reader.lastAt;
    return;
  }
  if (looksBinary(line) || DATED_START.test(line)) {
    log.unparsed.push(original);
    return;
  }
  if (readStartLine(reader, line)) {
    reader.crash = null;
    return;
  }
  const version = VERSION.exec(line.trim());
  if (version) {
    log.versions.push(line.trim());
    markRestart(log.crashes, reader.lastAt);
    reader.crash = null;
    return;
  }
  if (BANNER.some((re) => re.test(line.trim()))) return;
  if (CRASH_LINE.test(line) && !reader.crash) {
    reader.crash = newCrash(reader.lastAt);
    log.crashes.push(reader.crash);
  }
  if (reader.crash) addCrashLine(reader.crash, line);
  else log.unparsed.push(original);
}

/** Reads the desktop log, with or without `docker logs -t` stamps; every non-blank line ends up somewhere. */
export function parseKasmVncLog(input: string): KasmVncLog {
  const reader: Reader = { log: { entries: [], crashes: [], versions: [], startFailures: [], displayLocks: [], unparsed: [] }, crash: null, lastAt: null, fatal: null };
  for (const original of splitLines(input)) {
    const { rest: line } = splitDockerStamp(original);
    if (isBlank(line)) continue;
    readLine(reader, original, line);
  }
  return reader.log;
}

export type HandlerResult = 'websocket' | 'http' | 'auth-failed' | 'rejected' | 'incomplete';
export type HandlerAuth = 'matched' | 'none-sent' | 'invalid' | 'unknown-user' | 'no-password-file' | 'wrong-password' | 'not-seen';

/**
 * What went wrong in a handler besides auth and the websocket checks, from websocket.c (the handshake, the frames) and
 * websockify.c (the relay to Xvnc behind the websocket).
 */
export type HandlerProblemKind =
  | 'certificate-missing'
  | 'handshake-read-error'
  | 'handshake-closed'
  | 'oversized'
  | 'incomplete'
  | 'path-refused'
  | 'unreadable-frame'
  | 'unencodable-frame'
  | 'target-unreachable'
  | 'target-error'
  | 'client-exception';

export interface HandlerProblem {
  kind: HandlerProblemKind;
  /** What the line adds: the certificate file, strerror, the refused length, the frame error. */
  detail: string | null;
  entry: KasmVncWebsocketEntry;
}

export interface HandlerGroup {
  id: number;
  lines: KasmVncWebsocketEntry[];
  path?: string;
  method?: string;
  result: HandlerResult;
  /** `HyBi/IETF 6455 13`, `Hixie 76`. */
  protocol?: string;
  auth: HandlerAuth;
  /** The line that decided `auth`: KasmVNC logs the specific reason first (`user bob does not exist`, then `wrong password for user bob`). */
  authLine?: KasmVncWebsocketEntry;
  /** The user the Basic credentials named, when a line says (`-` is KasmVNC's placeholder and is not kept). */
  user?: string;
  status?: number;
  bytes?: number;
  /** The reason after `failed websocket checks, `. */
  failedChecks?: string;
  /** The guide's point: that line is noise unless the request was for /websockify. */
  misleading: boolean;
  problems: HandlerProblem[];
  startedAt: Date | null;
  endedAt: Date | null;
}

// weblog(): `<origip> <ip-or-XFF> <user|-> "GET <url> HTTP/1.1" <code> <bytes>`; the guide's sample keeps only the user.
const ACCESS = /^(?:\S+ ){0,2}\S+ "([A-Z]+) (\S*) HTTP\/[\d.]+" (\d{3}) (\d+)$/;
const REQUESTED = /^Requested file '(.*)'$/;
const PROTOCOL = /^using protocol (.+)$/;
const FAILED_CHECKS = /failed websocket checks, (.*)$/;
// Today's wording and the one before KasmVNC's 2022 change (`Client sent invalid BasicAuth, 403 forbidden`,
// `BasicAuth user %s not found`, `BasicAuth user/pw did not match`), from common/network/websocket.c. Anchored, so a
// long line is read in one pass.
const AUTH: Array<[RegExp, HandlerAuth]> = [
  [/^BasicAuth matched/i, 'matched'],
  [/BasicAuth required, but client didn't send any/i, 'none-sent'],
  [/client sent invalid BasicAuth/i, 'invalid'],
  [/^Authentication attempt failed, user (.+) does not exist$|^BasicAuth user (.+?) not found/i, 'unknown-user'],
  [/^Error: BasicAuth configured to read password from file /, 'no-password-file'],
  [/^Authentication attempt failed, wrong password for user (.+)$|BasicAuth user\/pw did not match/i, 'wrong-password'],
];
// `An invalid X-Forwarded-For was passed, maybe an attack` is not among them: KasmVNC logs it and goes on
// (common/network/websocket.c), so it is a warning about the proxy in front, not a refusal.
const REJECTED = /non-GET|rejecting|is blacklisted|non-SSL connection disallowed|SSL connection but no cert|SSL connection but '|file not found or insufficient permissions/;
const BAD_FORWARDED_FOR = /An invalid X-Forwarded-For was passed/i;
// websocket.c (do_handshake, servefile, decode_hybi/decode_hixie, encode_hybi) and websockify.c (proxy_handler,
// do_proxy). `Base64 decode error code %d` ends without a newline, so the next line of the log runs on after it.
const PROBLEMS: Array<[RegExp, HandlerProblemKind]> = [
  [/^SSL connection but '(.*)' not found$/, 'certificate-missing'],
  [/^SSL connection but no cert specified$/, 'certificate-missing'],
  [/^Read error during handshake: ?(.*)$/, 'handshake-read-error'],
  [/^Client closed during handshake$/, 'handshake-closed'],
  [/^Oversized handshake$/, 'oversized'],
  [/^Incomplete handshake$/, 'incomplete'],
  [/^Request too long \((\d+)\) or attempted dir traversal attack, rejecting$/, 'path-refused'],
  [/^Attempted dir traversal attack, rejecting$/, 'path-refused'],
  [/^(WebSocket framing error|Receiving frames larger than 65535 bytes not supported|Received unmasked payload from client|Base64 decode error code -?\d+)/, 'unreadable-frame'],
  [/^(Invalid opcode\. Opcode must be 0x01 for text mode, or 0x02 for binary mode\.|Sending frames larger than 65535 bytes not supported)$/, 'unencodable-frame'],
  [/^Could not connect to target: ?(.*)$/, 'target-unreachable'],
  [/^target connection error: ?(.*)$/, 'target-error'],
  [/^(target exception)$/, 'target-error'],
  [/^client exception$/, 'client-exception'],
];

function readAuth(group: HandlerGroup, entry: KasmVncWebsocketEntry): void {
  for (const [re, auth] of AUTH) {
    const m = re.exec(entry.message);
    if (!m) continue;
    // The first auth line is the most specific: an unknown user or a missing password file also logs `wrong password for user`.
    if (group.auth === 'not-seen') {
      group.auth = auth;
      group.authLine = entry;
    }
    const user = m[1] ?? m[2];
    if (group.user === undefined && user !== undefined && user !== '-') group.user = user;
    return;
  }
}

function readHandlerLine(group: HandlerGroup, entry: KasmVncWebsocketEntry): void {
  const { message } = entry;
  const access = ACCESS.exec(message);
  if (access) {
    group.method = access[1];
    // send400/send403 log `-` for a URL they never read; servefile's refusals log an empty one.
    if (access[2] !== '-' && access[2] !== '') group.path = access[2];
    group.status = Number(access[3]);
    group.bytes = Number(access[4]);
  }
  const requested = REQUESTED.exec(message);
  if (requested && group.path === undefined) group.path = requested[1];
  const protocol = PROTOCOL.exec(message);
  if (protocol) group.protocol = protocol[1];
  const failed = FAILED_CHECKS.exec(message);
  if (failed) group.failedChecks = failed[1];
  readAuth(group, entry);
  for (const [re, kind] of PROBLEMS) {
    const m = re.exec(message);
    if (!m) continue;
    group.problems.push({ kind, detail: m[1] ?? null, entry });
    break;
  }
}

function resultOf(group: HandlerGroup, messages: string[]): HandlerResult {
  if (group.protocol) return 'websocket';
  if (group.auth !== 'matched' && group.auth !== 'not-seen') return 'auth-failed';
  if (group.status !== undefined) return group.status < 400 ? 'http' : 'rejected';
  if (messages.some((m) => REJECTED.test(m))) return 'rejected';
  if (messages.some((m) => /Invalid WS request, maybe a HTTP one|Requested file|HTTP request under \/api\//.test(m))) return 'http';
  return 'incomplete';
}

export const isWebsockifyPath = (path: string | undefined): boolean => path !== undefined && /\/websockify(?:$|[?/])/.test(path);

function buildGroup(id: number, lines: KasmVncWebsocketEntry[]): HandlerGroup {
  const group: HandlerGroup = { id, lines, result: 'incomplete', auth: 'not-seen', misleading: false, problems: [], startedAt: lines[0]!.at, endedAt: lines.at(-1)!.at };
  for (const line of lines) readHandlerLine(group, line);
  group.result = resultOf(group, lines.map((l) => l.message));
  group.misleading = group.failedChecks !== undefined && group.result !== 'websocket' && group.path !== undefined && !isWebsockifyPath(group.path);
  return group;
}

/**
 * One group per handler id, in order of first appearance. Ids restart at zero with each new Xvnc, so a later
 * `got client connection` for an id already closed by `handler exit` opens a new group.
 */
export function groupByHandler(entries: readonly KasmVncEntry[]): HandlerGroup[] {
  const open = new Map<number, KasmVncWebsocketEntry[]>();
  const exited = new Set<number>();
  const all: Array<{ id: number; lines: KasmVncWebsocketEntry[] }> = [];
  for (const entry of entries) {
    if (entry.kind !== 'websocket') continue;
    let lines = open.get(entry.handler);
    if (!lines || (entry.message.startsWith('got client connection') && exited.has(entry.handler))) {
      lines = [];
      open.set(entry.handler, lines);
      exited.delete(entry.handler);
      all.push({ id: entry.handler, lines });
    }
    lines.push(entry);
    if (entry.message === 'handler exit') exited.add(entry.handler);
  }
  return all.map(({ id, lines }) => buildGroup(id, lines));
}

export interface HandlerFinding {
  severity: 'fail' | 'warn' | 'info';
  handler: number;
  path?: string;
  message: string;
  /**
   * Where the cause lies, when not in KasmVNC itself: `path` for a request a device in front of Kasm altered,
   * `agent` for Basic auth (the agent's kasm_proxy injects the session's header), `client` for a TLS client that gave up.
   */
  hop?: 'client' | 'path' | 'agent';
  /** The handler's lines that explain the finding (its auth, rejection or failed-checks line, its access line). */
  lines?: string[];
}

/** The lines of a group worth quoting: what KasmVNC said about auth, a rejection or failed checks, and the access line. */
function explainingLines(group: HandlerGroup): string[] {
  const telling = (m: string) => AUTH.some(([re]) => re.test(m)) || REJECTED.test(m) || FAILED_CHECKS.test(m) || ACCESS.test(m);
  return group.lines.filter((l) => telling(l.message)).map((l) => l.raw);
}

/**
 * A browser's first request carries no credentials: KasmVNC answers 401 and the browser asks again with them. A
 * `didn't send any` followed by a later `BasicAuth matched` is that exchange, not a failure.
 */
function isChallenge(group: HandlerGroup, index: number, lastMatched: number): boolean {
  return group.auth === 'none-sent' && index < lastMatched;
}

function challenge(group: HandlerGroup): HandlerFinding {
  return { severity: 'info', handler: group.id, ...(group.path !== undefined ? { path: group.path } : {}), message: `handler ${group.id}: the Basic auth challenge (401 to a request without credentials), answered by a later request that authenticated` };
}

/**
 * The fixes for the Basic auth failures that are the workspace image's (its user, its password file), not the header
 * the agent's kasm_proxy injected; the offline analyzer and the live session.auth check both give them.
 */
export const IMAGE_AUTH_FIX: Partial<Record<HandlerAuth, string>> = {
  'unknown-user':
    "Kasm's agent injects the user kasm_user (its password is the session's VNC_PW), so the workspace image must create that user in ~/.kasmpasswd (`kasmvncpasswd -u kasm_user -wo`, as Kasm's vnc_startup.sh does); an image with another user name cannot be logged into.",
  'no-password-file':
    "The workspace image must write KasmVNC's password file when the session starts: Kasm's vnc_startup.sh runs `kasmvncpasswd -u kasm_user -wo` with VNC_PW into ~/.kasmpasswd. Check that VNC_PW is set in the container (`sudo docker exec <session container> env`) and ~/.kasmpasswd exists and is not empty; an image that replaces vnc_startup.sh must do the same.",
};

type Base = Pick<HandlerFinding, 'handler' | 'path'>;

function authFailure(group: HandlerGroup, base: Base, where: string): HandlerFinding {
  const said = group.authLine?.message ?? '';
  const lines = [...(group.authLine ? [group.authLine.raw] : []), ...explainingLines(group).filter((l) => l !== group.authLine?.raw)];
  if (group.auth === 'no-password-file') {
    // The image's fault, not the header the agent injected: no credentials can match.
    return { severity: 'fail', ...base, lines, message: `${where}: Basic auth failed (no-password-file): KasmVNC has no password file to check the credentials against, so every login fails ("${said}")` };
  }
  if (group.auth === 'unknown-user') {
    return { severity: 'fail', ...base, hop: 'agent', lines, message: `${where}: Basic auth failed (unknown-user): the credentials name user ${group.user ?? '?'}, whom KasmVNC's password file does not hold ("${said}")` };
  }
  return { severity: 'fail', ...base, hop: 'agent', lines, message: `${where}: Basic auth failed (${group.auth}): the last nginx in the path did not inject the session's Authorization header, or injected a stale one` };
}

/** The handler's problem lines read in order of what they prove: a missing certificate, then the stream's end, then a refusal. */
const PROBLEM_ORDER: HandlerProblemKind[] = ['certificate-missing', 'oversized', 'target-unreachable', 'target-error', 'unreadable-frame', 'unencodable-frame', 'path-refused', 'incomplete', 'client-exception'];

function refusedPath(detail: string | null): string {
  const length = detail === null ? null : Number(detail);
  if (length !== null && length > 1024) return `its path is ${length} characters long (KasmVNC takes at most 1024)`;
  if (length === 0) return 'its path is empty';
  return 'its path holds "../" (a directory traversal attempt)';
}

function problemFinding(group: HandlerGroup, base: Base, where: string): HandlerFinding | null {
  const problem = PROBLEM_ORDER.map((kind) => group.problems.find((p) => p.kind === kind)).find((p) => p !== undefined);
  if (!problem) return null;
  const said = problem.entry.message;
  const lines = [problem.entry.raw, ...explainingLines(group).filter((l) => l !== problem.entry.raw)];
  switch (problem.kind) {
    case 'certificate-missing':
      return {
        severity: 'fail',
        ...base,
        lines,
        message: problem.detail !== null
          ? `${where}: KasmVNC's TLS certificate ${problem.detail} is not there, so it drops every TLS connection before the handshake ("${said}")`
          : `${where}: KasmVNC has no TLS certificate configured, so it drops every TLS connection before the handshake ("${said}")`,
      };
    case 'oversized':
      return { severity: 'fail', ...base, hop: 'client', lines, message: `${where}: KasmVNC refused a request whose headers exceed its 16 KiB handshake buffer ("${said}", answered ${group.status ?? 400}): too many or too large cookies, or headers a proxy added` };
    case 'target-unreachable':
      return { severity: 'fail', ...base, lines, message: `${where}: KasmVNC accepted the websocket but could not reach Xvnc behind it ("${said}"): the desktop server is not running` };
    case 'target-error':
      return { severity: 'fail', ...base, lines, message: `${where}: the connection between KasmVNC's websocket and Xvnc broke ("${said}"), which ended the stream` };
    case 'unreadable-frame':
      return { severity: 'fail', ...base, hop: 'path', lines, message: `${where}: KasmVNC could not read a WebSocket frame it received ("${problem.detail ?? said}") and ended the stream: a proxy between the browser and KasmVNC that re-frames WebSockets, or a client that is not a browser` };
    case 'unencodable-frame':
      return { severity: 'fail', ...base, lines, message: `${where}: KasmVNC could not encode a WebSocket frame for the client ("${said}") and ended the stream` };
    case 'path-refused':
      return { severity: 'warn', ...base, hop: 'path', lines, message: `${where}: KasmVNC refused a request because ${refusedPath(problem.detail)} ("${said}")` };
    case 'incomplete':
      return { severity: 'warn', ...base, hop: 'path', lines, message: `${where}: the request's headers never ended: KasmVNC gave up after 10 reads ("${said}")` };
    case 'client-exception':
      return { severity: 'warn', ...base, hop: 'path', lines, message: `${where}: the connection to KasmVNC signalled an exceptional condition ("${said}") and KasmVNC ended the stream` };
    default:
      return null;
  }
}

function judgeOne(group: HandlerGroup): HandlerFinding | null {
  const base = { handler: group.id, ...(group.path !== undefined ? { path: group.path } : {}) };
  const where = `handler ${group.id}${group.path !== undefined ? ` (${group.method ?? 'GET'} ${group.path})` : ''}`;
  if (group.result === 'auth-failed') return authFailure(group, base, where);
  const problem = problemFinding(group, base, where);
  if (problem) return problem;
  if (group.failedChecks !== undefined && !group.misleading && group.result !== 'websocket' && isWebsockifyPath(group.path)) {
    return { severity: 'fail', ...base, hop: 'path', lines: explainingLines(group), message: `${where}: KasmVNC could not identify the /websockify request as a websocket: ${group.failedChecks}` };
  }
  if (group.failedChecks !== undefined && group.path === undefined && group.result !== 'websocket') {
    return { severity: 'warn', ...base, message: `${where}: "failed websocket checks, ${group.failedChecks}" for a request whose path the log does not show: read the handler's lines` };
  }
  if (group.misleading) {
    return { severity: 'info', ...base, message: `${where}: "failed websocket checks, ${group.failedChecks ?? ''}" is harmless here: the request was not for /websockify` };
  }
  if (group.result === 'rejected' && isWebsockifyPath(group.path) && group.lines.some((l) => /file not found or insufficient permissions/.test(l.message))) {
    // What the guide calls the upgrade stripped in front of Kasm: KasmVNC served /websockify as a file.
    return { severity: 'fail', ...base, hop: 'path', lines: explainingLines(group), message: `${where}: /websockify reached KasmVNC as a plain HTTP request and was looked up as a file (not found): a proxy in front of Kasm dropped the Upgrade/Connection headers` };
  }
  if (group.result === 'rejected' && group.failedChecks === undefined && (isWebsockifyPath(group.path) || group.path === undefined)) {
    const why = group.lines.map((l) => l.message).find((m) => REJECTED.test(m)) ?? (group.status !== undefined ? `answered ${group.status}` : 'rejected');
    return { severity: 'fail', ...base, lines: explainingLines(group), message: `${where}: KasmVNC rejected the request: ${why}` };
  }
  const forwarded = group.lines.find((l) => BAD_FORWARDED_FOR.test(l.message));
  if (forwarded) {
    return { severity: 'warn', ...base, hop: 'path', lines: [forwarded.raw], message: `${where}: a proxy in front sent an X-Forwarded-For KasmVNC cannot read ("${forwarded.message}"); KasmVNC went on, but logs the proxy's address instead of the client's` };
  }
  const handshake = group.problems.find((p) => p.kind === 'handshake-closed' || p.kind === 'handshake-read-error');
  if (handshake && group.result === 'incomplete') {
    return { severity: 'warn', ...base, hop: 'client', lines: [handshake.entry.raw], message: `${where}: the client gave up during the TLS handshake ("${handshake.entry.message}"): typically a browser that does not trust KasmVNC's certificate` };
  }
  return null;
}

/** The guide's reading of the handler groups: which `failed websocket checks` lines matter, auth failures, the websocket. */
export function judgeHandlers(groups: readonly HandlerGroup[]): HandlerFinding[] {
  const lastMatched = groups.findLastIndex((g) => g.auth === 'matched');
  const findings = groups.map((group, i) => (isChallenge(group, i, lastMatched) ? challenge(group) : judgeOne(group))).filter((f): f is HandlerFinding => f !== null);
  const websockets = groups.filter((g) => g.result === 'websocket');
  if (websockets.length > 0) {
    const w = websockets.at(-1)!;
    findings.push({ severity: 'info', handler: w.id, message: `handler ${w.id}: websocket accepted (${w.protocol ?? 'unknown protocol'}, BasicAuth ${w.auth})` });
  }
  return findings;
}

/** One viewer of Xvnc: its `Connections: accepted:` line and, once it ended, its `Connections: closed:` line. */
export interface KasmVncConnection {
  /** `kasm_user@172.18.0.5_1718038616.812103::websocket` (websocket.c's relay), or `<ip>::<port>` for a TCP viewer. */
  endpoint: string;
  accepted: KasmVncModuleEntry | null;
  closed: KasmVncModuleEntry | null;
  /** The reason in the close line's parentheses; null while the viewer is connected. */
  reason: string | null;
}

// VNCSConnectionST's connectionsLog (`Connections`, written at PRIO): `accepted: %s`, `closed: %s (%s)`.
const CONNECTION = /^(accepted|closed): (\S+)(?: \((.*)\))?$/i;

/** The viewers Xvnc accepted and closed, matched by endpoint, in the order they first appear. */
export function readConnections(entries: readonly KasmVncEntry[]): KasmVncConnection[] {
  const all: KasmVncConnection[] = [];
  // Still-open viewers by endpoint, oldest first: a close ends the oldest open one of its endpoint.
  const open = new Map<string, KasmVncConnection[]>();
  for (const entry of entries) {
    if (entry.kind !== 'module' || entry.module !== 'Connections') continue;
    const m = CONNECTION.exec(entry.message);
    if (!m) continue;
    const endpoint = m[2]!;
    if (m[1]!.toLowerCase() === 'accepted') {
      const connection: KasmVncConnection = { endpoint, accepted: entry, closed: null, reason: null };
      all.push(connection);
      const queue = open.get(endpoint);
      if (queue) queue.push(connection);
      else open.set(endpoint, [connection]);
      continue;
    }
    let connection = open.get(endpoint)?.shift();
    if (!connection) {
      connection = { endpoint, accepted: null, closed: null, reason: null };
      all.push(connection);
    }
    connection.closed = entry;
    connection.reason = m[3] ?? '';
  }
  return all;
}

/**
 * What a close reason says (VNCSConnectionST::close callers, VNCServerST::closeClients, rdr::SystemException's
 * `<call>: <strerror> (<errno>)`). For a websocket viewer, `Clean disconnection` is how any end of the websocket shows.
 */
export type CloseKind = 'clean' | 'shutdown' | 'taken-over' | 'in-use' | 'idle-timeout' | 'server-disconnect' | 'no-resize' | 'dropped' | 'auth' | 'error';

const CLOSE_REASONS: Array<[RegExp, CloseKind]> = [
  [/^(?:Clean disconnection)?$/, 'clean'],
  [/^Server shutdown$/, 'shutdown'],
  [/^Non-shared connection requested$/, 'taken-over'],
  [/^(?:The )?[Ss]erver is already in use$/, 'in-use'],
  [/^Idle timeout$/, 'idle-timeout'],
  [/^Disconnection from server end$/, 'server-disconnect'],
  [/^Client does not support desktop resize$/, 'no-resize'],
  [/^(?:read|write|select)\b[^:]{0,40}: .+ \(\d+\)$/, 'dropped'],
  [/^(?:Authentication failure|AuthFailureException|No password configured|Too many security failures)/i, 'auth'],
];

export function closeKind(reason: string): CloseKind {
  return CLOSE_REASONS.find(([re]) => re.test(reason))?.[1] ?? 'error';
}
