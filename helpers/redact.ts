// Secrets never reach a report, a log, a message or an attachment: everything the suite writes passes here.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

const known = new Set<string>();
// Longest first, so a form that contains another is replaced whole; rebuilt when a secret is registered.
let ordered: string[] = [];
const remember = (form: string) => {
  if (known.has(form)) return false;
  known.add(form);
  ordered = [...known].sort((a, b) => b.length - a.length);
  return true;
};

/**
 * Where a worker leaves the secrets it learned during the run (session tokens, link tokens) for the runner's
 * redaction of results and files (helpers/report/redaction.ts): a file of JSON strings in an owner-only folder the
 * global setup makes and the last redaction pass removes.
 */
export const SHARED_SECRETS_VARIABLE = 'KASM_SHARED_SECRETS_FILE';

function share(forms: string[]): void {
  const file = process.env[SHARED_SECRETS_VARIABLE];
  if (!file || !forms.length) return;
  appendFileSync(file, forms.map((form) => `${JSON.stringify(form)}\n`).join(''), { mode: 0o600 });
}

/** The runner's side: every secret the workers shared so far is redacted here too. */
export function loadSharedSecrets(file = process.env[SHARED_SECRETS_VARIABLE]): number {
  if (!file || !existsSync(file)) return 0;
  let added = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const form = JSON.parse(line) as unknown;
      if (typeof form === 'string' && form.length >= 4 && remember(form)) added++;
    } catch {
      // A line cut short by a killed worker: the next one is whole.
    }
  }
  return added;
}

/**
 * The forms a value takes in what the suite writes: as is, escaped inside JSON text (a `"` or `\\` in it), URL- and
 * form-encoded (a query, a cookie), and base64 (a header, an attachment).
 */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const url = encodeURIComponent(value);
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  return [value, json, JSON.stringify(json).slice(1, -1), url, url.replace(/%20/g, '+'), base64, base64.replace(/=+$/, ''), Buffer.from(value, 'utf8').toString('base64url')];
}

/**
 * Registers a value (API secret, password, token) that must be scrubbed wherever it appears, in every form. A secret
 * the run learned (a session token) is shared with the runner; a configured one is known to every process already.
 */
export function registerSecret(value: string | undefined, origin: 'learned' | 'configured' = 'learned'): void {
  if (!value || value.length < 4) return;
  const added = formsOf(value).filter((form) => form.length >= 4 && remember(form));
  if (origin === 'learned') share(added);
}

/** HTTP Basic credentials (`Authorization: Basic base64(user:secret)`): the pair is a secret of its own. */
export function registerBasicCredentials(user: string | undefined, secret: string | undefined): void {
  if (!user || !secret || secret.length < 4) return;
  const pair = Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
  for (const form of [pair, pair.replace(/=+$/, '')]) remember(form);
}

/** `a=1; username=u; b=2` -> `a=[REDACTED]; username=u; b=[REDACTED]` (split by hand: no pattern to backtrack). */
function redactCookiePairs(pairs: string): string {
  return pairs
    .split(';')
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at < 0) return pair;
      const name = pair.slice(0, at);
      return name.trim().toLowerCase() === 'username' ? pair : `${name}=[REDACTED]`;
    })
    .join(';');
}

const PATTERNS: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  [/(authorization|proxy-authorization|connect-auth)(["']?\s*[:=]\s*["']?)(basic|bearer|digest)?\s*[^\s"',;]+/gi, '$1$2$3 [REDACTED]'],
  [/((?:^|[\s;,{"'&?])(?:session_token|kasm_client_key|token|api_key_secret|password|passwd|secret|VNC_PW)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1[REDACTED]'],
  [/(\/#\/connect\/kasm\/[^/\s]+\/[^/\s]+\/)[^\s"'?&#]+/g, '$1[REDACTED]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
  // Every value in a Cookie header but the Kasm user name: its other cookies are other applications' sessions.
  // Only a header or key named so (at a line's start or opening a quote), not a name that ends in the word.
  [/((?:^[ \t]*|["'])(?:set-)?cookie["']?\s*[:=]\s*["']?)([^"'\r\n]+)/gim, (_, head: string, pairs: string) => `${head}${redactCookiePairs(pairs)}`],
  // Credentials in a URL (`postgresql://kasmapp:<password>@kasm_db:5432/kasm` in a traceback).
  [/(\b[a-z][\w+.-]*:\/\/[^\s:/@"']+:)[^\s@/"']+@/gi, '$1[REDACTED]@'],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of ordered) out = out.split(secret).join('[REDACTED]');
  for (const [pattern, replacement] of PATTERNS) out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  return out;
}

/** Redacts every string inside a JSON-able value. */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}

const REDACTING = Symbol.for('kasm-synthetics.redacting');

/**
 * A worker's stdout and stderr pass here before Playwright hands them on to the reporters, which print them (the
 * console, JUnit's system-out) without a chance to redact: a `console.log` of a token comes out redacted.
 */
export function redactProcessOutput(): void {
  for (const stream of [process.stdout, process.stderr] as Array<NodeJS.WriteStream & { [REDACTING]?: true }>) {
    if (stream[REDACTING]) continue;
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') return write(redact(chunk), ...rest);
      if (chunk instanceof Uint8Array && !chunk.includes(0)) return write(Buffer.from(redact(Buffer.from(chunk).toString('utf8'))), ...rest);
      return write(chunk, ...rest);
    }) as typeof stream.write;
    stream[REDACTING] = true;
  }
}
