// kasm_proxy's nginx logs: the `main` access format on stdout (`docker logs kasm_proxy`), nginx's stock `combined`,
// the `json_combined` lines of /opt/kasm/current/log/nginx/access_json.log (KASM-FACTS.md §4), and the error-log lines
// that share stderr with them.
import { isBlank, parseClfTime, parseIsoTime, QUOTED, splitDockerStamp, splitLines, splitRequest, splitUri, utcDate } from './text.ts';

export interface NginxAccess {
  kind: 'access';
  format: 'main' | 'combined' | 'json';
  at: Date;
  /** null when the line has no address (the guide's samples lost it). */
  remoteAddr: string | null;
  remoteUser: string | null;
  method: string;
  /** The request target as the client sent it (path and query). */
  uri: string;
  path: string;
  query: string;
  protocol: string;
  status: number;
  /** `$body_bytes_sent`: nginx always writes a number (a websocket's 101 line carries the whole stream's bytes). */
  bytes: number;
  referer: string;
  userAgent: string;
  /** `$http_x_forwarded_for`; null when empty (`-`) or when the format has no such field (`combined`). */
  forwardedFor: string | null;
  raw: string;
  /** json_combined only: `$host`, `$upstream_addr`, `$upstream_status`, `$request_time`. */
  host?: string;
  upstreamAddr?: string;
  upstreamStatus?: string;
  requestTime?: number;
}

export interface NginxError {
  kind: 'error';
  /** null for `nginx: [emerg] ...` lines, which nginx prints to stderr without a time while starting. */
  at: Date | null;
  level: string;
  pid: number | null;
  connection: number | null;
  /** The text before nginx's `, client: ...` context. */
  message: string;
  /** The first `(111: Connection refused)` in the message. */
  errno?: number;
  errnoText?: string;
  client?: string;
  server?: string;
  request?: string;
  subrequest?: string;
  upstream?: string;
  host?: string;
  referrer?: string;
  raw: string;
}

export interface NginxLog {
  entries: NginxAccess[];
  errors: NginxError[];
  unparsed: string[];
}

// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
// then `"$http_x_forwarded_for"` in Kasm's `main`.
const ACCESS = new RegExp(`^(?:(\\S+) )?- (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\d+) ${QUOTED} ${QUOTED}(?: ${QUOTED})?\\s*$`);
const ERROR = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)$/;
const STARTUP_ERROR = /^nginx: \[(\w+)\] (.*)$/;
// ngx_http_log_error appends these, in this order, to every error logged while serving a request. Read from the first
// `, client: ` on, so a long request line cannot make the match quadratic.
const CONTEXT =
  /^, client: ([^,]*)(?:, server: ([^,]*))?(?:, request: "((?:[^"\\]|\\.)*)")?(?:, subrequest: "((?:[^"\\]|\\.)*)")?(?:, upstream: "((?:[^"\\]|\\.)*)")?(?:, host: "((?:[^"\\]|\\.)*)")?(?:, referrer: "((?:[^"\\]|\\.)*)")?$/s;

// nginx logs `-` for an empty variable in text formats and an empty string under escape=json.
const orEmpty = (value: string): string => (value === '-' ? '' : value);
const orNull = (value: string | undefined): string | null => (value === undefined || value === '' || value === '-' ? null : value);

function fromText(line: string): NginxAccess | null {
  const m = ACCESS.exec(line);
  const at = m ? parseClfTime(m[3] ?? '') : null;
  if (!m || !at) return null;
  const [, remoteAddr, remoteUser, , request = '', status = '', bytes = '', referer = '', userAgent = '', forwardedFor] = m;
  return {
    kind: 'access',
    format: forwardedFor === undefined ? 'combined' : 'main',
    at,
    remoteAddr: remoteAddr ?? null,
    remoteUser: orNull(remoteUser),
    ...splitRequest(request),
    status: Number(status),
    bytes: Number(bytes),
    referer: orEmpty(referer),
    userAgent: orEmpty(userAgent),
    forwardedFor: orNull(forwardedFor),
    raw: line,
  };
}

type JsonRecord = Record<string, unknown>;

function field(record: JsonRecord, key: string): string {
  const value = record[key];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? orEmpty(value) : '';
}

function jsonTime(record: JsonRecord): Date | null {
  const msec = field(record, 'msec');
  if (/^\d+(\.\d+)?$/.test(msec)) return new Date(Math.round(Number(msec) * 1000));
  return parseIsoTime(field(record, 'time_iso8601')) ?? parseClfTime(field(record, 'time_local'));
}

/**
 * `$request` is the line as the client sent it; `$uri` is nginx's URI after Kasm's `rewrite ^/desktop/(.*) /$1`, so it
 * only stands in when the request line is unreadable.
 */
function jsonRequest(record: JsonRecord): Pick<NginxAccess, 'method' | 'uri' | 'path' | 'query' | 'protocol'> {
  const fromLine = splitRequest(field(record, 'request'));
  if (fromLine.method) return fromLine;
  const query = field(record, 'query_string');
  const uri = field(record, 'uri') + (query ? `?${query}` : '');
  return { method: field(record, 'request_method'), uri, ...splitUri(uri), protocol: field(record, 'server_protocol') };
}

function parseJson(line: string): JsonRecord | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : null;
  } catch {
    return null;
  }
}

function jsonExtras(record: JsonRecord): Pick<NginxAccess, 'host' | 'upstreamAddr' | 'upstreamStatus' | 'requestTime'> {
  const extras: Pick<NginxAccess, 'host' | 'upstreamAddr' | 'upstreamStatus' | 'requestTime'> = {};
  const host = field(record, 'request_host') || field(record, 'server_name');
  if (host) extras.host = host;
  if (field(record, 'upstream_addr')) extras.upstreamAddr = field(record, 'upstream_addr');
  if (field(record, 'upstream_status')) extras.upstreamStatus = field(record, 'upstream_status');
  const requestTime = field(record, 'request_time');
  if (/^\d+(\.\d+)?$/.test(requestTime)) extras.requestTime = Number(requestTime);
  return extras;
}

function fromJson(line: string): NginxAccess | null {
  const record = parseJson(line);
  if (!record) return null;
  const at = jsonTime(record);
  const status = field(record, 'http_status') || field(record, 'status');
  if (!at || !/^\d{3}$/.test(status)) return null;
  const bytes = field(record, 'body_bytes_sent');
  if (!/^\d+$/.test(bytes)) return null;
  return {
    kind: 'access',
    format: 'json',
    at,
    remoteAddr: orNull(field(record, 'remote_addr')),
    remoteUser: orNull(field(record, 'remote_user')),
    ...jsonRequest(record),
    status: Number(status),
    bytes: Number(bytes),
    referer: field(record, 'http_referer'),
    userAgent: field(record, 'http_user_agent'),
    forwardedFor: orNull(field(record, 'http_x_forwarded_for')),
    raw: line,
    ...jsonExtras(record),
  };
}

type ErrorDetails = Omit<NginxError, 'kind' | 'at' | 'level' | 'pid' | 'connection' | 'raw'>;

function errorContext(text: string): ErrorDetails {
  const at = text.indexOf(', client: ');
  const m = at >= 0 ? CONTEXT.exec(text.slice(at)) : null;
  const message = m ? text.slice(0, at) : text;
  const result: ErrorDetails = { message };
  const keys = ['client', 'server', 'request', 'subrequest', 'upstream', 'host', 'referrer'] as const;
  keys.forEach((key, i) => {
    const value = m?.[i + 1];
    if (value !== undefined) result[key] = value;
  });
  const errno = /\((\d+): ([^)]*)\)/.exec(message);
  if (errno) {
    result.errno = Number(errno[1]);
    result.errnoText = errno[2] ?? '';
  }
  return result;
}

function fromError(line: string): NginxError | null {
  const m = ERROR.exec(line);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const at = utcDate(year, month - 1, day, hour, minute, second);
    if (!at) return null;
    return { kind: 'error', at, level: m[7] ?? '', pid: Number(m[8]), connection: m[10] ? Number(m[10]) : null, ...errorContext(m[11] ?? ''), raw: line };
  }
  const startup = STARTUP_ERROR.exec(line);
  if (!startup) return null;
  return { kind: 'error', at: null, level: startup[1] ?? '', pid: null, connection: null, ...errorContext(startup[2] ?? ''), raw: line };
}

/**
 * Reads nginx access lines (`main`, `combined`, `json_combined`) and error lines, with or without `docker logs -t`
 * stamps. Anything else (the image's `/docker-entrypoint.sh: ...` start-up chatter included) goes to `unparsed`.
 */
export function parseNginxAccessLog(input: string): NginxLog {
  const log: NginxLog = { entries: [], errors: [], unparsed: [] };
  for (const original of splitLines(input)) {
    const { rest: line } = splitDockerStamp(original);
    if (isBlank(line)) continue;
    const access = line.startsWith('{') ? fromJson(line) : fromText(line);
    if (access) {
      log.entries.push(access);
      continue;
    }
    const error = fromError(line);
    if (error) log.errors.push(error);
    else log.unparsed.push(original);
  }
  return log;
}
