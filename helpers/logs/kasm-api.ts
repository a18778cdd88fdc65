// kasm_api's log (`docker logs kasm_api`): Python logging `%(asctime)s [%(levelname)s] %(name)s: %(message)s`, with
// CherryPy's access lines under the `cherrypy.access.<id(app)>` logger (KASM-FACTS.md §5).
import { kasmIdsInText } from './kasm-id.ts';
import { isBlank, looksBinary, parseIsoTime, parseJsonObject, parsePythonTime, QUOTED, splitDockerStamp, splitLines, splitRequest } from './text.ts';

interface KasmApiBase {
  /** Python's asctime, read as UTC (the containers run in UTC). */
  at: Date;
  level: string;
  logger: string;
  /** Lines that followed the entry without a header of their own: a traceback, a multi-line message. */
  continuation: string[];
  /** The line as read (without its `docker logs -t` stamp, line ending and colour codes). */
  raw: string;
  /** The engine's stamp when the text came from `docker logs -t`. */
  dockerAt?: Date;
}

export interface KasmApiAccess extends KasmApiBase {
  kind: 'access';
  /** CherryPy's `{h}`: the proxy container's address; missing in the guide's samples. */
  clientIp: string | null;
  method: string;
  path: string;
  /** Without the `?`; empty when the URL has none. */
  query: string;
  protocol: string;
  status: number;
  /** null for CherryPy's `-` (no body, as on every 202 from kasm_connect). */
  bytes: number | null;
  referer: string;
  userAgent: string;
}

export interface KasmApiMessage extends KasmApiBase {
  kind: 'message';
  message: string;
}

export type KasmApiEntry = KasmApiAccess | KasmApiMessage;

export interface KasmApiLog {
  entries: KasmApiEntry[];
  unparsed: string[];
}

const HEADER = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})?) \[([A-Za-z]+)\] (\S+?):(?: (.*))?$/;
// Starts like a header but did not parse: a line cut short (the last line of a capture), not a continuation.
const HEADER_START = /^\d{4}-\d{2}-\d{2}[ T]\d/;
// CherryPy's `{h} {l} {u} {t} "{r}" {s} {b} "{f}" "{a}"`; `{h}` is absent in the guide's lines. CherryPy escapes quotes
// inside a field, but the last field is read to the line's end so that a writer that does not (the lab) still parses.
const ACCESS = new RegExp(`^\\s*(?:(\\S+) )?(\\S+) (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\d+|-) ${QUOTED} "(.*)"\\s*$`);

function unescapeCherrypy(value: string): string {
  return value.replace(/\\(["\\])/g, '$1');
}

function accessFields(message: string): Omit<KasmApiAccess, keyof KasmApiBase | 'kind'> | null {
  const m = ACCESS.exec(message);
  if (!m) return null;
  const [, host, , , , request = '', status = '', bytes = '', referer = '', userAgent = ''] = m;
  const { method, path, query, protocol } = splitRequest(unescapeCherrypy(request));
  return {
    clientIp: host ?? null,
    method,
    path,
    query,
    protocol,
    status: Number(status),
    bytes: bytes === '-' ? null : Number(bytes),
    referer: unescapeCherrypy(referer),
    userAgent: unescapeCherrypy(userAgent),
  };
}

function entryFrom(base: KasmApiBase, message: string): KasmApiEntry {
  const access = base.logger.startsWith('cherrypy.access') ? accessFields(message) : null;
  return access ? { kind: 'access', ...base, ...access } : { kind: 'message', ...base, message };
}

function fromHeader(line: string, dockerAt: Date | null): KasmApiEntry | null {
  const m = HEADER.exec(line);
  const at = m ? parsePythonTime(m[1] ?? '') : null;
  if (!m || !at) return null;
  const base: KasmApiBase = { at, level: (m[2] ?? '').toUpperCase(), logger: m[3] ?? '', continuation: [], raw: line, ...(dockerAt ? { dockerAt } : {}) };
  return entryFrom(base, m[4] ?? '');
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The JSON file logs (`api_server_json.log`): `{levelname, message, process, ingest_date, ...}` (§5). */
function fromJson(line: string, dockerAt: Date | null): KasmApiEntry | null {
  const record = parseJsonObject(line);
  if (!record) return null;
  const level = text(record.levelname);
  const message = text(record.message);
  const at = parseIsoTime(text(record.ingest_date) ?? text(record.asctime) ?? text(record.timestamp) ?? '') ?? dockerAt;
  if (level === null || message === null || !at) return null;
  const logger = text(record.name) ?? text(record.process) ?? text(record.application) ?? '';
  return entryFrom({ at, level: level.toUpperCase(), logger, continuation: [], raw: line, ...(dockerAt ? { dockerAt } : {}) }, message);
}

/** Reads `docker logs kasm_api` output (with or without `-t`) and the JSON file log; every line ends up somewhere. */
export function parseKasmApiLog(input: string): KasmApiLog {
  const entries: KasmApiEntry[] = [];
  const unparsed: string[] = [];
  let last: KasmApiEntry | null = null;
  for (const original of splitLines(input)) {
    const { stamp, rest: line } = splitDockerStamp(original);
    if (isBlank(line)) continue;
    const entry = line.startsWith('{') ? fromJson(line, stamp) : fromHeader(line, stamp);
    if (entry) {
      entries.push(entry);
      last = entry;
    } else if (last && !HEADER_START.test(line) && !looksBinary(line)) {
      last.continuation.push(line);
    } else {
      unparsed.push(original);
      // Whatever follows a line we could not read does not belong to the entry before it.
      last = null;
    }
  }
  return { entries, unparsed };
}

/** Kasm ids named by an entry: in a message, or in an access line's path, query and referer; dashed lowercase. */
export function kasmIdsIn(entry: KasmApiEntry): string[] {
  const text = entry.kind === 'message' ? [entry.message, ...entry.continuation].join('\n') : [entry.path, entry.query, entry.referer].join(' ');
  return kasmIdsInText(text);
}

/** A Python traceback that followed an entry: its first exception (the root cause when several are chained). */
export interface KasmApiTraceback {
  /** `psycopg2.OperationalError: could not connect to server: No route to host`. */
  exception: string;
  /** The indented lines that continue the exception's message (libpq's `\tIs the server running on host ...`). */
  detail: string[];
  /** The innermost frame's function, the one that raised it. */
  raisedIn?: string;
  /** The entry's line, then the traceback's lines. */
  lines: string[];
}

const TRACEBACK_START = /^Traceback \(most recent call last\):/;
const FRAME = /^\s+File "[^"]*", line \d+, in (\S+)/;
// `module.Class: message` or a bare `module.Class`; the name ends like Python's own exception classes do.
const EXCEPTION_LINE = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|NotFound|Warning)(?::|$)/;

/** The traceback in an entry's continuation lines, or null when it carries none. */
export function tracebackIn(entry: KasmApiEntry): KasmApiTraceback | null {
  const start = entry.continuation.findIndex((l) => TRACEBACK_START.test(l.trim()));
  if (start < 0) return null;
  let raisedIn: string | undefined;
  for (let i = start + 1; i < entry.continuation.length; i++) {
    const line = entry.continuation[i]!;
    const frame = FRAME.exec(line);
    if (frame) {
      raisedIn = frame[1];
      continue;
    }
    if (!EXCEPTION_LINE.test(line)) continue;
    const detail: string[] = [];
    for (let j = i + 1; j < entry.continuation.length && /^\s+\S/.test(entry.continuation[j]!) && !FRAME.test(entry.continuation[j]!); j++) detail.push(entry.continuation[j]!.trim());
    return { exception: line.trim(), detail, ...(raisedIn ? { raisedIn } : {}), lines: [entry.raw, ...entry.continuation] };
  }
  return null;
}

/** An agent server kasm_api passed over while looking for a slot for a session, and why. */
export interface SlotShortage {
  server: string;
  /** `memory`, `cores`, `gpus`: what the server had too little of; null when only "No more slots" was logged. */
  resource: string | null;
  /** What kasm_api said remained (`986501120` bytes of memory), as logged. */
  remaining: string | null;
  lines: string[];
}

// provider_manager.get_available_slots, at DEBUG: `Server <id> does not have required memory remaining (986501120
// remaining)`, then `No more slots available for server : (<id>)` (workspaces-issues #410, #220).
const NOT_ENOUGH = /^Server (\S+) does not have required ([A-Za-z]+(?: [A-Za-z]+)?) remaining(?: \((\S+) remaining\))?/;
const NO_SLOTS = /^No more slots available for server ?: \(([^)\s]+)\)/;
const PROCESSING = /^Processing Server: \(([^)\s]+)\)/;

/** The servers kasm_api looked at for a slot (`Processing Server`) and those it found none on, with the reason. */
export function slotSearch(entries: readonly KasmApiEntry[]): { servers: string[]; short: SlotShortage[] } {
  const servers = new Set<string>();
  const short = new Map<string, SlotShortage>();
  for (const entry of entries) {
    if (entry.kind !== 'message') continue;
    const processing = PROCESSING.exec(entry.message);
    if (processing) servers.add(processing[1]!);
    const lacking = NOT_ENOUGH.exec(entry.message);
    const none = NO_SLOTS.exec(entry.message);
    const server = lacking?.[1] ?? none?.[1];
    if (!server) continue;
    const found = short.get(server) ?? { server, resource: null, remaining: null, lines: [] };
    if (lacking) {
      found.resource = lacking[2]!.toLowerCase();
      found.remaining = lacking[3] ?? null;
    }
    found.lines.push(entry.raw);
    short.set(server, found);
  }
  return { servers: [...servers], short: [...short.values()] };
}
