// Offline logs arrive mixed (`docker logs kasm_proxy 2>&1`, several commands pasted into one file): each line goes to
// the parser that can read it, decided line by line so one format's oddities never hide another's lines.
import { isBlank, looksBinary, parseJsonObject, splitDockerStamp, splitLines } from '../logs/text.ts';
import { parseNginxAccessLog } from '../logs/nginx.ts';

export const FORMATS = ['kasm_api', 'nginx', 'kasmvnc', 'docker_ps', 'curl'] as const;
export type Format = (typeof FORMATS)[number];

export interface Routed {
  lines: Record<Format, string[]>;
  unreadable: string[];
  /** Non-blank lines seen. */
  total: number;
}

// KasmVNC's Logger_File and wslog() put a space before the date; Python logging does not.
const KASMVNC_DATED = /^ \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \[[A-Za-z]+\] /;
const KASMVNC_WEBSOCKET = /^ ?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \[[A-Za-z]+\] websocket \d+: /;
const KASMVNC_OTHER = /^\(EE\)|^Fatal server error:|^Xvnc KasmVNC |^Underlying X server release |^Copyright \(C\) \d{4}-\d{4} KasmVNC|^See .* for information on KasmVNC|^\s*-+ Xvnc started -+\s*$/;
const PYTHON_HEADER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})? \[[A-Za-z]+\] \S+?:/;
const DOCKER_HEADER = /^CONTAINER ID\s{2,}|^\s*NAMES\s*$|^CONTAINER ID\s+IMAGE/;
const DOCKER_ROW = /^[0-9a-f]{12,64}\s{2,}\S/;
const CURL = /^curl: \(\d+\) |^\s*\$?\s*curl\s|^\s*\{\s*"ok"\s*:\s*(true|false)\s*\}\s*$/;
// Python tracebacks and wrapped messages that follow a kasm_api line.
const CONTINUATION = /^(\s+\S|Traceback \(most recent call last\):|[A-Za-z_.]+(Error|Exception)(: |$))/;

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

function formatOf(line: string, previous: Format | null): Format | null {
  if (KASMVNC_DATED.test(line) || KASMVNC_WEBSOCKET.test(line) || KASMVNC_OTHER.test(line)) return 'kasmvnc';
  if (PYTHON_HEADER.test(line)) return 'kasm_api';
  if (line.trimStart().startsWith('{')) return jsonFormat(line);
  if (DOCKER_HEADER.test(line) || DOCKER_ROW.test(line)) return 'docker_ps';
  if (CURL.test(line)) return 'curl';
  if (isNginx(line)) return 'nginx';
  if (previous === 'kasm_api' && CONTINUATION.test(line)) return 'kasm_api';
  return null;
}

export function route(text: string): Routed {
  const routed: Routed = { lines: { kasm_api: [], nginx: [], kasmvnc: [], docker_ps: [], curl: [] }, unreadable: [], total: 0 };
  let previous: Format | null = null;
  for (const original of splitLines(text)) {
    if (isBlank(original)) continue;
    routed.total += 1;
    const { rest } = splitDockerStamp(original);
    const format: Format | null = looksBinary(original) ? null : formatOf(rest, previous);
    if (format) routed.lines[format].push(original);
    else routed.unreadable.push(original);
    previous = format;
  }
  return routed;
}
