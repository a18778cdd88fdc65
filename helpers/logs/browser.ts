// What an engineer copies from the browser's developer tools: a request copied with "Copy as fetch" (Chrome, Edge:
// `fetch("<url>", {` ... `"referrer": "<page>",` ... `});`; Firefox: `await fetch(...)`; Chrome's Node.js form puts the
// page in a `"Referer"` header instead). The page the request was made from and the URL it went to are what matter:
// Kasm builds a session's URLs from the Host header it received (workspaces-issues #868).

export interface CopiedFetch {
  url: string;
  /** The page the request was made from: `"referrer"`, or the `Referer` header of the Node.js form. */
  referrer: string | null;
  method: string | null;
  lines: string[];
}

export interface BrowserCopy {
  fetches: CopiedFetch[];
  unparsed: string[];
}

const FETCH_START = /^(?:await\s+)?fetch\("([^"\s]+)",\s*\{$/;
// The options object, one key a line as DevTools writes it, and the lines that close it.
const OPTION = /^"([^"\\]{1,100})":\s*(.*?),?$/;
const CLOSE = /^\}\s*,?$/;
const END = /^\}\)\s*;?$/;

/** Whether a line belongs to a copied fetch (`open`: the lines since a `fetch(` have not closed it yet). */
export function browserLine(line: string, open: boolean): { browser: boolean; open: boolean } {
  const text = line.trim();
  if (FETCH_START.test(text)) return { browser: true, open: true };
  if (!open) return { browser: false, open: false };
  if (END.test(text)) return { browser: true, open: false };
  if (OPTION.test(text) || CLOSE.test(text)) return { browser: true, open: true };
  return { browser: false, open: false };
}

const unquote = (value: string): string | null => {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(value.trim());
  return m ? m[1]! : null;
};

export function parseBrowserCopy(lines: readonly string[]): BrowserCopy {
  const out: BrowserCopy = { fetches: [], unparsed: [] };
  let current: CopiedFetch | null = null;
  for (const raw of lines) {
    const text = raw.trim();
    const start = FETCH_START.exec(text);
    if (start) {
      current = { url: start[1]!, referrer: null, method: null, lines: [raw] };
      out.fetches.push(current);
      continue;
    }
    if (!current) {
      out.unparsed.push(raw);
      continue;
    }
    current.lines.push(raw);
    const option = OPTION.exec(text);
    if (option) {
      const key = option[1]!.toLowerCase();
      const value = unquote(option[2] ?? '');
      if ((key === 'referrer' || key === 'referer') && value) current.referrer ??= value;
      if (key === 'method' && value) current.method = value;
    }
    if (END.test(text)) current = null;
  }
  return out;
}

export interface Origin {
  scheme: string;
  host: string;
  /** The port the URL names, or the scheme's default. */
  port: number;
}

/** Scheme, host and port of an absolute URL; null for anything else. DevTools' `[...]` placeholders are left alone. */
export function originOf(url: string): Origin | null {
  const m = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^/?#\s:@[\]]+)(?::(\d{1,5}))?(?:[/?#]|$)/i.exec(url);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  return { scheme, host: m[2]!.toLowerCase(), port: m[3] ? Number(m[3]) : scheme === 'https' ? 443 : 80 };
}
