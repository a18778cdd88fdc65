// Secrets never reach a report, a log, a message or an attachment: everything the suite writes passes here.
const known = new Set<string>();
// Longest first, so a form that contains another is replaced whole; rebuilt when a secret is registered.
let ordered: string[] = [];
const remember = (form: string) => {
  if (known.has(form)) return;
  known.add(form);
  ordered = [...known].sort((a, b) => b.length - a.length);
};

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

/** Registers a value (API secret, password, token) that must be scrubbed wherever it appears, in every form. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4) return;
  for (const form of formsOf(value)) if (form.length >= 4) remember(form);
}

/** HTTP Basic credentials (`Authorization: Basic base64(user:secret)`): the pair is a secret of its own. */
export function registerBasicCredentials(user: string | undefined, secret: string | undefined): void {
  if (!user || !secret || secret.length < 4) return;
  const pair = Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
  for (const form of [pair, pair.replace(/=+$/, '')]) remember(form);
}

const PATTERNS: Array<[RegExp, string]> = [
  [/(authorization|proxy-authorization|connect-auth)(["']?\s*[:=]\s*["']?)(basic|bearer|digest)?\s*[^\s"',;]+/gi, '$1$2$3 [REDACTED]'],
  [/((?:^|[\s;,{"'&?])(?:session_token|kasm_client_key|token|api_key_secret|password|passwd|secret|VNC_PW)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1[REDACTED]'],
  [/(\/#\/connect\/kasm\/[^/\s]+\/[^/\s]+\/)[^\s"'?&#]+/g, '$1[REDACTED]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of ordered) out = out.split(secret).join('[REDACTED]');
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Redacts every string inside a JSON-able value. */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}
