// Offline logs arrive mixed (`docker logs kasm_proxy 2>&1`, several commands pasted into one file): each line goes to
// the parser that can read it, decided line by line so one format's oddities never hide another's lines.
import { isBlank, looksBinary, parseJsonObject, splitDockerStamp, splitLines, stripPaste } from '../logs/text.ts';
import { EXCEPTION } from '../logs/kasm-agent.ts';
import { isUiExportLine } from '../logs/ui-export.ts';
import { parseNginxAccessLog } from '../logs/nginx.ts';
import { browserLine } from '../logs/browser.ts';
import { parseCurlCommand } from '../logs/curl.ts';
import { isInstallerLine } from '../logs/installer.ts';
import { isKubectlLine } from '../logs/kubectl.ts';

export const FORMATS = ['kasm_api', 'kasm_agent', 'nginx', 'kasmvnc', 'docker_ps', 'curl', 'html_page', 'ui_export', 'compose', 'installer', 'kubectl', 'browser'] as const;
export type Format = (typeof FORMATS)[number];

export interface Routed {
  lines: Record<Format, string[]>;
  unreadable: string[];
  /** Non-blank lines seen. */
  total: number;
}

// KasmVNC's Logger_File and wslog() put a space before the date; Python logging does not.
const KASMVNC_DATED = /^ \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \[[A-Za-z]+\] /;
// wslog() lines and Xvnc's `Connections: accepted/closed` lines, also when a paste lost the leading space.
const KASMVNC_WEBSOCKET = /^ ?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \[[A-Za-z]+\] (?:websocket \d+|Connections): /;
const KASMVNC_UNDATED = /^ ?websocket \d+: /;
// OpenSSL's own line when a TLS client aborts the handshake with KasmVNC (`...:SSL alert number 46`).
const OPENSSL_ALERT = /^[0-9A-F]+:error:[0-9A-F]+:SSL routines:/;
// Also vncserver's refusal of a display and its lock warnings, and websocket.c's fatal TLS exits with perror's reason line.
const KASMVNC_OTHER =
  /^\(EE\)|^Fatal server error:|^Xvnc KasmVNC |^Underlying X server release |^Copyright \(C\) \d{4}-\d{4} KasmVNC|^See .* for information on KasmVNC|^\s*-+ Xvnc started -+\s*$|^\s*(?:Warning|WARNING): \S+:\d+ is taken because of \/tmp\/\.X|^Remove this file if there is no X server \S+:\d+$|^A VNC server is already running as :\d+$|^Unable to load (?:private key|certificate) file |^Failed to configure SSL context|^: [A-Z][a-z]+(?: [a-z]+){0,6}$/;
const PYTHON_HEADER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})? \[[A-Za-z]+\] \S+?:/;
const DOCKER_HEADER = /^CONTAINER ID\s{2,}|^\s*NAMES\s*$|^CONTAINER ID\s+IMAGE/;
const DOCKER_ROW = /^[0-9a-f]{12,64}\s{2,}\S/;
const CURL = /^curl: \(\d+\) |^\s*(?:\$\s*)?curl\s|^\s*\{\s*"ok"\s*:\s*(true|false)\s*\}\s*$/;
// kasm_agent: its launcher's lines, its logger (`__main__.handler`), and the shell's `Terminated` after a start.
const AGENT = /^Executing \/usr\/bin\/kasm_agent|^Received config \S*agent\.app\.config\.yaml|^\[\d+\] Failed to execute script |^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d+ \[[A-Z]+\] __main__\.handler: /;
// Python tracebacks and wrapped messages that follow a kasm_api line (exception names may hold digits: psycopg2.*).
const CONTINUATION = /^(\s+\S|Traceback \(most recent call last\):|[A-Za-z_][\w.]*(Error|Exception)(: |$))/;

function jsonFormat(line: string): Format | null {
  const record = parseJsonObject(line.trim());
  if (!record) return null;
  if ('levelname' in record && 'message' in record) return 'kasm_api';
  if ('body_bytes_sent' in record || 'http_status' in record) return 'nginx';
  if ('ID' in record && ('Names' in record || 'Image' in record)) return 'docker_ps';
  if ('ok' in record) return 'curl';
  return null;
}

function isNginx(line: string): boolean {
  const parsed = parseNginxAccessLog(line);
  return parsed.entries.length > 0 || parsed.errors.length > 0;
}

// An error page a proxy answered with (nginx's `<title>504 Gateway Time-out</title>`), pasted from a browser or curl.
const HTML = /^\s*<\/?(?:!doctype|html|head|title|body|center|h1|hr|meta|style|p|div|address)\b[^>]*>/i;

// `docker compose` (Kasm's /opt/kasm/bin/start and stop, linuxserver's docker-kasm): its progress lines.
export const COMPOSE_LINE = /^\s*(?:[\u2800-\u28ff✔✘]\s+)?Container \S+\s+(?:Stopped|Started|Starting|Stopping|Healthy|Unhealthy|Error|Created|Creating|Running|Waiting|Removed|Removing|Recreated|Exited)\b|^\s*\[\+\] (?:Running|Building|Stopping|Removing) \d+\/\d+|^dependency failed to start: container \S+ (?:is unhealthy|exited)/;

function formatOf(line: string, previous: Format | null, curlPage: boolean): Format | null {
  if (COMPOSE_LINE.test(line)) return 'compose';
  // A page right after a curl command is that curl's answer: read with the command, which says where it ran.
  if (HTML.test(line)) return curlPage ? 'curl' : 'html_page';
  // The UI's log export: its fields, and the message text under a bare `message` key in the table's form.
  if (isUiExportLine(line) || (previous === 'ui_export' && /^\s*\S/.test(line) && !/^\s*\d{4}-\d{2}-\d{2}/.test(line))) return 'ui_export';
  if (AGENT.test(line)) return 'kasm_agent';
  // A traceback alone, or after the agent's lines, is the agent's (kasm_api's follow its own lines).
  if (previous !== 'kasm_api' && (/^Traceback \(most recent call last\):/.test(line) || (previous === 'kasm_agent' && (CONTINUATION.test(line) || EXCEPTION.test(line) || line.trim() === 'Terminated')))) return 'kasm_agent';
  if (KASMVNC_DATED.test(line) || KASMVNC_WEBSOCKET.test(line) || KASMVNC_UNDATED.test(line) || OPENSSL_ALERT.test(line) || KASMVNC_OTHER.test(line)) return 'kasmvnc';
  if (PYTHON_HEADER.test(line)) return 'kasm_api';
  if (line.trimStart().startsWith('{')) return jsonFormat(line);
  if (DOCKER_HEADER.test(line) || DOCKER_ROW.test(line)) return 'docker_ps';
  if (CURL.test(line) || parseCurlCommand(line)) return 'curl';
  if (isKubectlLine(line)) return 'kubectl';
  if (isInstallerLine(line, previous === 'installer')) return 'installer';
  if (isNginx(line)) return 'nginx';
  if (previous === 'kasm_api' && CONTINUATION.test(line)) return 'kasm_api';
  return null;
}

export function route(text: string): Routed {
  const routed: Routed = { lines: { kasm_api: [], kasm_agent: [], nginx: [], kasmvnc: [], docker_ps: [], curl: [], html_page: [], ui_export: [], compose: [], installer: [], kubectl: [], browser: [] }, unreadable: [], total: 0 };
  let previous: Format | null = null;
  // What the lines before opened: a copied fetch's options object, a curl command whose page may follow.
  let fetchOpen = false;
  let curlPage = false;
  for (const pasted of splitLines(text)) {
    // Quote marks, compose prefixes and pane borders are the paste's, not the log's: each parser reads the log line.
    const original = stripPaste(pasted);
    if (isBlank(original)) continue;
    routed.total += 1;
    const { rest } = splitDockerStamp(original);
    const fetch = browserLine(rest, fetchOpen);
    const format: Format | null = looksBinary(original) ? null : fetch.browser ? 'browser' : formatOf(rest, previous, curlPage);
    if (format) routed.lines[format].push(original);
    else routed.unreadable.push(original);
    fetchOpen = format === 'browser' && fetch.open;
    curlPage = format === 'curl' && (parseCurlCommand(rest) !== null || (HTML.test(rest) && !/<\/html>/i.test(rest)));
    previous = format;
  }
  return routed;
}
