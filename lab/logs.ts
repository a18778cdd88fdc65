// Log lines in the exact layouts the real components write (KASM-FACTS.md §4-§5), so the suite's parsers meet the
// same text in the lab as on a Kasm host.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Python logging's asctime: `2024-04-10 06:10:58,839` (the containers run in UTC). */
export function pythonTime(at: Date): string {
  return `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())},${pad(at.getUTCMilliseconds(), 3)}`;
}

/** CherryPy's `{t}` without zone (`[10/Apr/2024:06:10:58]`); nginx's `$time_local` adds ` +0000`. */
function clfTime(at: Date, zone: boolean): string {
  const base = `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  return zone ? `${base} +0000` : base;
}

// CherryPy names its access logger after id(app); one stable value per lab process is what a real container shows.
const CHERRYPY_APP_ID = '140087972390848';

export function kasmApiLine(level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', logger: string, message: string, at = new Date()): string {
  return `${pythonTime(at)} [${level}] ${logger}: ${message}`;
}

export interface AccessRecord {
  remoteAddr: string;
  method: string;
  uri: string;
  protocol: string;
  status: number;
  bytes: number;
  referer: string;
  userAgent: string;
}

/** kasm_api's CherryPy access line: `{h} {l} {u} {t} "{r}" {s} {b} "{f}" "{a}"`, `-` for an empty body. */
export function cherrypyAccessLine(record: AccessRecord, at = new Date()): string {
  const request = `${record.method} ${record.uri} ${record.protocol}`;
  const body = record.bytes > 0 ? String(record.bytes) : '-';
  return kasmApiLine(
    'INFO',
    `cherrypy.access.${CHERRYPY_APP_ID}`,
    `${record.remoteAddr} - - [${clfTime(at, false)}] "${request}" ${record.status} ${body} "${record.referer}" "${record.userAgent}"`,
    at,
  );
}

/** nginx `main`: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"`. */
export function nginxAccessLine(record: AccessRecord & { forwardedFor: string }, at = new Date()): string {
  const dash = (value: string) => (value === '' ? '-' : value);
  return `${record.remoteAddr} - - [${clfTime(at, true)}] "${record.method} ${record.uri} ${record.protocol}" ${record.status} ${record.bytes} "${dash(record.referer)}" "${dash(record.userAgent)}" "${dash(record.forwardedFor)}"`;
}
