// KasmVNC's desktop log (`~/.vnc/<hostname>:1.log`, also `docker logs <session>` through vnc_startup.sh's tail):
// Logger_File lines, wslog() lines keyed by websocket handler id, the X server's `(EE)` crash backtrace and the
// `Xvnc -version` banner (KASM-FACTS.md §6; the guide's "KasmVNC Troubleshooting").
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

export interface KasmVncLog {
  entries: KasmVncEntry[];
  crashes: KasmVncCrash[];
  /** `Xvnc KasmVNC 1.2.0.<commit> - built ...` lines (`Xvnc -version`, or a restart's banner). */
  versions: string[];
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

interface Reader {
  log: KasmVncLog;
  crash: KasmVncCrash | null;
  lastAt: Date | null;
}

function readLine(reader: Reader, original: string, line: string): void {
  const { log } = reader;
  const entry = looksBinary(line) ? null : datedEntry(line);
  if (entry) {
    reader.crash = null;
    if (isRestart(entry)) markRestart(log.crashes, entry.at);
    log.entries.push(entry);
    reader.lastAt = entry.at ?? reader.lastAt;
    return;
  }
  if (looksBinary(line) || DATED_START.test(line)) {
    log.unparsed.push(original);
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
  const reader: Reader = { log: { entries: [], crashes: [], versions: [], unparsed: [] }, crash: null, lastAt: null };
  for (const original of splitLines(input)) {
    const { rest: line } = splitDockerStamp(original);
    if (isBlank(line)) continue;
    readLine(reader, original, line);
  }
  return reader.log;
}

export type HandlerResult = 'websocket' | 'http' | 'auth-failed' | 'rejected' | 'incomplete';
export type HandlerAuth = 'matched' | 'none-sent' | 'invalid' | 'unknown-user' | 'wrong-password' | 'not-seen';

export interface HandlerGroup {
  id: number;
  lines: KasmVncWebsocketEntry[];
  path?: string;
  method?: string;
  result: HandlerResult;
  /** `HyBi/IETF 6455 13`, `Hixie 76`. */
  protocol?: string;
  auth: HandlerAuth;
  status?: number;
  bytes?: number;
  /** The reason after `failed websocket checks, `. */
  failedChecks?: string;
  /** The guide's point: that line is noise unless the request was for /websockify. */
  misleading: boolean;
  startedAt: Date | null;
  endedAt: Date | null;
}

// weblog(): `<origip> <ip-or-XFF> <user|-> "GET <url> HTTP/1.1" <code> <bytes>`; the guide's sample keeps only the user.
const ACCESS = /^(?:\S+ ){0,2}\S+ "([A-Z]+) (\S*) HTTP\/[\d.]+" (\d{3}) (\d+)$/;
const REQUESTED = /^Requested file '(.*)'$/;
const PROTOCOL = /^using protocol (.+)$/;
const FAILED_CHECKS = /failed websocket checks, (.*)$/;
// Today's wording and the one before KasmVNC's 2022 change (`Client sent invalid BasicAuth, 403 forbidden`,
// `BasicAuth user %s not found`, `BasicAuth user/pw did not match`), from common/network/websocket.c.
const AUTH: Array<[RegExp, HandlerAuth]> = [
  [/^BasicAuth matched/i, 'matched'],
  [/BasicAuth required, but client didn't send any/i, 'none-sent'],
  [/client sent invalid BasicAuth/i, 'invalid'],
  [/user .* does not exist|BasicAuth user .* not found/i, 'unknown-user'],
  [/wrong password for user|BasicAuth user\/pw did not match/i, 'wrong-password'],
];
// `An invalid X-Forwarded-For was passed, maybe an attack` is not among them: KasmVNC logs it and goes on
// (common/network/websocket.c), so it is a warning about the proxy in front, not a refusal.
const REJECTED = /non-GET|rejecting|is blacklisted|non-SSL connection disallowed|SSL connection but no cert|file not found or insufficient permissions/;
const BAD_FORWARDED_FOR = /An invalid X-Forwarded-For was passed/i;

function readHandlerLine(group: HandlerGroup, message: string): void {
  const access = ACCESS.exec(message);
  if (access) {
    group.method = access[1];
    group.path = access[2];
    group.status = Number(access[3]);
    group.bytes = Number(access[4]);
  }
  const requested = REQUESTED.exec(message);
  if (requested && group.path === undefined) group.path = requested[1];
  const protocol = PROTOCOL.exec(message);
  if (protocol) group.protocol = protocol[1];
  const failed = FAILED_CHECKS.exec(message);
  if (failed) group.failedChecks = failed[1];
  for (const [re, auth] of AUTH) if (re.test(message)) group.auth = auth;
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
  const group: HandlerGroup = { id, lines, result: 'incomplete', auth: 'not-seen', misleading: false, startedAt: lines[0]!.at, endedAt: lines.at(-1)!.at };
  for (const line of lines) readHandlerLine(group, line.message);
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
  const all: Array<{ id: number; lines: KasmVncWebsocketEntry[] }> = [];
  for (const entry of entries) {
    if (entry.kind !== 'websocket') continue;
    let lines = open.get(entry.handler);
    if (!lines || (entry.message.startsWith('got client connection') && lines.some((l) => l.message === 'handler exit'))) {
      lines = [];
      open.set(entry.handler, lines);
      all.push({ id: entry.handler, lines });
    }
    lines.push(entry);
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
function isChallenge(group: HandlerGroup, later: readonly HandlerGroup[]): boolean {
  return group.auth === 'none-sent' && later.some((g) => g.auth === 'matched');
}

function challenge(group: HandlerGroup): HandlerFinding {
  return { severity: 'info', handler: group.id, ...(group.path !== undefined ? { path: group.path } : {}), message: `handler ${group.id}: the Basic auth challenge (401 to a request without credentials), answered by a later request that authenticated` };
}

function judgeOne(group: HandlerGroup): HandlerFinding | null {
  const base = { handler: group.id, ...(group.path !== undefined ? { path: group.path } : {}) };
  const where = `handler ${group.id}${group.path !== undefined ? ` (${group.method ?? 'GET'} ${group.path})` : ''}`;
  if (group.result === 'auth-failed') {
    return { severity: 'fail', ...base, hop: 'agent', lines: explainingLines(group), message: `${where}: Basic auth failed (${group.auth}): the last nginx in the path did not inject the session's Authorization header, or injected a stale one` };
  }
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
  const handshake = group.lines.find((l) => /Client closed during handshake|Read error during handshake/.test(l.message));
  if (handshake && group.result === 'incomplete') {
    return { severity: 'warn', ...base, hop: 'client', lines: [handshake.raw], message: `${where}: the client gave up during the TLS handshake ("${handshake.message}"): typically a browser that does not trust KasmVNC's certificate` };
  }
  return null;
}

/** The guide's reading of the handler groups: which `failed websocket checks` lines matter, auth failures, the websocket. */
export function judgeHandlers(groups: readonly HandlerGroup[]): HandlerFinding[] {
  const findings = groups.map((group, i) => (isChallenge(group, groups.slice(i + 1)) ? challenge(group) : judgeOne(group))).filter((f): f is HandlerFinding => f !== null);
  const websockets = groups.filter((g) => g.result === 'websocket');
  if (websockets.length > 0) {
    const w = websockets.at(-1)!;
    findings.push({ severity: 'info', handler: w.id, message: `handler ${w.id}: websocket accepted (${w.protocol ?? 'unknown protocol'}, BasicAuth ${w.auth})` });
  }
  return findings;
}
