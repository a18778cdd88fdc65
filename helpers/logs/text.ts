// What every parser in helpers/logs shares: splitting captured command output into lines, spotting lines that are not
// text at all, and the date layouts the Kasm containers write (they run in UTC).

// ip -c, some loggers and terminals colour their output; the codes are not part of any field.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
// Control characters other than tab, and the replacement character a lossy UTF-8 decode leaves behind.
const NOT_TEXT = /[\x00-\x08\x0b-\x1f\x7f\ufffd]/;

/** Lines of captured output: CRLF and CR-only endings (output passed through Windows tools or PTYs) both end a line. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/^\ufeff/, '').replace(ANSI, '').split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export const isBlank = (line: string): boolean => line.trim() === '';

export const looksBinary = (line: string): boolean => NOT_TEXT.test(line);

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

export function monthIndex(name: string): number | null {
  return MONTHS[name.toLowerCase()] ?? null;
}

/** A UTC date, or null when the fields do not name a real moment (`Date.UTC` silently rolls 31 Feb into March). */
export function utcDate(year: number, month: number, day: number, hour: number, minute: number, second: number, ms = 0): Date | null {
  const date = new Date(Date.UTC(year, month, day, hour, minute, second, ms));
  const same =
    date.getUTCFullYear() === year && date.getUTCMonth() === month && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
  return same ? date : null;
}

/** Minutes east of UTC for `+0000`, `-0500`, `+05:30`, `Z`; null when the text is no offset. */
export function offsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** Python logging's asctime, `2024-04-10 06:10:58,839` (also with `.` before the milliseconds, as some configs set it). */
export function parsePythonTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:[,.](\d{1,6}))?$/.exec(text);
  if (!m) return null;
  const ms = m[7] ? Math.trunc(Number(m[7].padEnd(3, '0').slice(0, 3))) : 0;
  return utcDate(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
}

/**
 * Common-log time: nginx's `$time_local` (`15/Nov/2023:18:50:20 +0000`) and CherryPy's `{t}` without an offset
 * (`17/Nov/2023:18:31:01`, the container's local time, which is UTC).
 */
export function parseClfTime(text: string): Date | null {
  const m = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: ([+-]\d{4}))?$/.exec(text);
  if (!m) return null;
  const month = monthIndex(m[2] ?? '');
  if (month === null) return null;
  const local = utcDate(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!local) return null;
  const offset = m[7] ? offsetMinutes(m[7]) : 0;
  return offset === null ? null : new Date(local.getTime() - offset * 60_000);
}

/** ISO 8601 / RFC 3339 (`2024-01-01T12:00:00+00:00`, with or without fraction); without an offset it is read as UTC. */
export function parseIsoTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return null;
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const local = utcDate(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  if (!local) return null;
  const offset = m[8] ? offsetMinutes(m[8]) : 0;
  return offset === null ? null : new Date(local.getTime() - offset * 60_000);
}

// `docker logs -t` puts the engine's RFC 3339 nano stamp in front of every line.
const DOCKER_STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) (.*)$/;

/** Splits off a `docker logs -t` stamp, if the line carries one. */
export function splitDockerStamp(line: string): { stamp: Date | null; rest: string } {
  const m = DOCKER_STAMP.exec(line);
  if (!m) return { stamp: null, rest: line };
  const stamp = parseIsoTime(m[1] ?? '');
  return stamp ? { stamp, rest: m[2] ?? '' } : { stamp: null, rest: line };
}

/** A double-quoted log field; quotes inside it come backslash-escaped (nginx writes `\x22`, CherryPy `\"`). */
export const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';

/** `GET /path?x=1 HTTP/1.1` into its parts; a request line that is not HTTP (a TLS hello on a plain port) keeps empty parts. */
export function splitRequest(request: string): { method: string; uri: string; path: string; query: string; protocol: string } {
  const m = /^([A-Z][A-Z_-]*) (\S+)(?: (HTTP\/[\d.]+))?$/.exec(request);
  if (!m) return { method: '', uri: '', path: '', query: '', protocol: '' };
  const uri = m[2] ?? '';
  return { method: m[1] ?? '', uri, ...splitUri(uri), protocol: m[3] ?? '' };
}

export function splitUri(uri: string): { path: string; query: string } {
  const at = uri.indexOf('?');
  return at < 0 ? { path: uri, query: '' } : { path: uri.slice(0, at), query: uri.slice(at + 1) };
}

/** Well-known service names `ss` and `netstat` print without -n (from /etc/services), for the ports Kasm hosts show. */
export const SERVICE_PORTS: Record<string, number> = {
  ssh: 22,
  smtp: 25,
  domain: 53,
  http: 80,
  sunrpc: 111,
  https: 443,
  ipp: 631,
  'http-alt': 8080,
  webcache: 8080,
  'pcsync-https': 8443,
  postgresql: 5432,
  mysql: 3306,
};

/** A JSON object on one line (docker's `{{json .}}`, Kasm's JSON file logs), or null for anything else. */
export function parseJsonObject(line: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

// What a paste carries around the log's own text: a Markdown quote (`> `), a line wrapped in backticks, a compose
// service's prefix (`kasm_api  | `), `kubectl logs --prefix`'s `[pod/name/container] `, a terminal pane's borders.
const QUOTE = /^\s*(?:>\s?)+/;
const COMPOSE = /^([a-z0-9][\w.-]*)\s+\|\s?/i;
const KUBECTL = /^\[pod\/[^\]\s]+\]\s/;
const PANE_START = /^\s*[│┃║]\s?/;
const PANE = new Set(['│', '┃', '║']);
const PANE_NAME = /^[a-z0-9][\w.-]* (?=\S| \d{4}-)/i;

/** The line without the wrapping a paste added. */
export function stripPaste(line: string): string {
  let rest = line;
  for (const pattern of [QUOTE, KUBECTL, COMPOSE, PANE_START]) {
    const m = pattern.exec(rest);
    if (m && m[0].length < rest.length) {
      rest = rest.slice(m[0].length);
      // A log viewer's pane (`│ <container> <line>`) names the container before each line.
      if (pattern === PANE_START) rest = rest.replace(PANE_NAME, '');
    }
  }
  // Trimmed by hand, not by a pattern: an unanchored `\s*x\s*$` backtracks quadratically on a long run of spaces.
  const trimmed = rest.trimEnd();
  if (PANE.has(trimmed.at(-1) ?? '')) rest = trimmed.slice(0, -1).trimEnd();
  return unwrapBackticks(rest);
}

/** `` `websocket 34: ...` `` -> the text inside the backticks (an inline code span in a Markdown post). */
function unwrapBackticks(line: string): string {
  const text = line.trim();
  let start = 0;
  while (text[start] === '`') start += 1;
  let end = text.length;
  while (end > start && text[end - 1] === '`') end -= 1;
  return start > 0 && end < text.length && end > start ? text.slice(start, end) : line;
}
