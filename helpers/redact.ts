// Secrets never reach a report, a log, a message or an attachment: everything the suite writes passes here.
const known = new Set<string>();

/** Registers a value (API secret, password, token) that must be scrubbed wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) known.add(value);
}

const PATTERNS: Array<[RegExp, string]> = [
  [/(authorization|proxy-authorization|connect-auth)(["']?\s*[:=]\s*["']?)(basic|bearer|digest)?\s*[^\s"',;]+/gi, '$1$2$3 [REDACTED]'],
  [/((?:^|[\s;,{"'&?])(?:session_token|kasm_client_key|token|api_key_secret|password|passwd|secret|VNC_PW)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1[REDACTED]'],
  [/(\/#\/connect\/kasm\/[^/\s]+\/[^/\s]+\/)[^\s"'?&#]+/g, '$1[REDACTED]'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of known) out = out.split(secret).join('[REDACTED]');
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Redacts every string inside a JSON-able value. */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}
