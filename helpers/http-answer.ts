// What an HTTP answer was, in words for a message: an HTML error page becomes `502 Bad Gateway from nginx` (its
// status, title and server), never the page itself; the body goes to the evidence instead.

/** The `<title>` (or first `<h1>`) of an HTML page, whitespace collapsed; undefined when the text is not HTML. */
export function htmlTitle(text: string): string | undefined {
  const head = text.slice(0, 4096);
  if (!/^\s*(?:<!doctype html|<html\b|<head\b|<body\b|<title\b)/i.test(head)) return undefined;
  const found = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(head)?.[1] ?? /<h1[^>]*>([^<]{1,200})<\/h1>/i.exec(head)?.[1];
  return found?.replace(/\s+/g, ' ').trim() || 'an HTML page';
}

/** `nginx/1.25.1` -> `nginx`: the product a Server header names (a version says little and changes). */
export function serverName(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.trim().split(/[\s/]/)[0] || undefined;
}

/**
 * `502 Bad Gateway from nginx` for an HTML error page, `HTTP 500: {"error": ...}` (120 characters at most) for
 * anything else, `HTTP 204 with an empty body` for nothing.
 */
export function describeAnswer(status: number, text: string, server?: string | string[]): string {
  const from = serverName(server);
  const title = htmlTitle(text);
  if (title) {
    const named = title.startsWith(String(status)) ? title : `HTTP ${status} (${title})`;
    return `${named}${from ? ` from ${from}` : ''} (an HTML error page)`;
  }
  const body = text.trim().replace(/\s+/g, ' ');
  if (!body) return `HTTP ${status} with an empty body${from ? ` from ${from}` : ''}`;
  return `HTTP ${status}${from ? ` from ${from}` : ''}: ${body.length > 120 ? `${body.slice(0, 119)}…` : body}`;
}
