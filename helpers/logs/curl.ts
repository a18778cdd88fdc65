// The suite's health curls run `curl -sS -k --max-time N -o - -w '\n%{http_code}' <url>`: the body, a newline and
// the status on stdout (`000` when no HTTP answer came), curl's one-line error on stderr, the reason in the exit code.

export type CurlCode = 'OK' | 'HTTP_ERROR' | 'BAD_BODY' | 'DNS' | 'REFUSED_OR_NO_ROUTE' | 'TIMEOUT' | 'TLS' | 'OTHER';

export interface CurlRun {
  /** null when curl was killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface CurlClass {
  ok: boolean;
  code: CurlCode;
  httpStatus?: number;
  body?: string;
  /** curl's own message (`Could not resolve host: kasm.example.com`), without the `curl: (6) ` prefix. */
  error?: string;
  meaning: string;
}

function splitOutput(stdout: string): { body: string; httpStatus?: number } {
  const m = /^(?:([\s\S]*)\r?\n)?(\d{3})\s*$/.exec(stdout);
  if (!m) return { body: stdout };
  const status = Number(m[2]);
  return status === 0 ? { body: m[1] ?? '' } : { body: m[1] ?? '', httpStatus: status };
}

function curlError(stderr: string): string | undefined {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim());
  const line = lines.find((l) => /^curl: \(\d+\)/.test(l)) ?? lines.find((l) => l !== '');
  return line?.replace(/^curl: \(\d+\)\s*/, '');
}

/** Kasm's health checks answer `{"ok": true}` (KASM-FACTS.md §3). */
function kasmOk(body: string): boolean {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>).ok === true;
  } catch {
    return false;
  }
}

const excerpt = (body: string) => {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 80)}…` : flat;
};

function httpMeaning(status: number): string {
  if (status >= 300 && status < 400) return 'redirected instead of answering (to a login page of a proxy, or from http to https)';
  if (status === 401 || status === 403) return 'refused by an authentication or access rule in front of the service';
  if (status === 404) return 'nothing serves this path here: a wrong port, or another web server or proxy answered';
  if (status === 407) return 'a forward proxy demands authentication before it passes the request on';
  if (status === 502 || status === 504) return 'a proxy answered but could not get an answer from the Kasm service behind it';
  if (status === 503) return 'the service or a proxy in front of it reports it is unavailable';
  return 'the service answered with an error instead of its health status';
}

function answered(status: number | undefined, body: string): Omit<CurlClass, 'error'> {
  if (status === undefined) return { ok: false, code: 'OTHER', body, meaning: 'curl exited 0 but printed no HTTP status: the command was not the suite\'s health curl' };
  if (status !== 200) return { ok: false, code: 'HTTP_ERROR', httpStatus: status, body, meaning: `HTTP ${status}: ${httpMeaning(status)}` };
  if (kasmOk(body)) return { ok: true, code: 'OK', httpStatus: 200, body, meaning: 'Kasm answered {"ok": true}' };
  const got = body.trim() ? `got "${excerpt(body)}"` : 'got an empty body';
  return {
    ok: false,
    code: 'BAD_BODY',
    httpStatus: 200,
    body,
    meaning: `HTTP 200 but not Kasm's {"ok": true} (${got}): something else answered, such as the web UI's page, a captive portal or an inspecting proxy`,
  };
}

function connectMeaning(error: string): string {
  if (/refused/i.test(error)) return 'connection refused: nothing listens on that address and port, or a firewall rejects the connection';
  if (/no route/i.test(error)) return 'no route to host: the address is unreachable from here, or a firewall rejects with host-unreachable';
  if (/network is unreachable/i.test(error)) return 'network unreachable: this machine has no route to that network';
  if (/timed? ?out/i.test(error)) return 'the TCP connection timed out: a firewall silently drops the traffic, or the address is wrong';
  return 'the TCP connection could not be made';
}

function timeoutMeaning(error: string): string {
  if (/resolv/i.test(error)) return 'name resolution did not finish in time: the DNS server does not answer';
  if (/^connection timed out|failed to connect/i.test(error)) {
    return 'no answer to the TCP connection in time: a firewall silently drops the traffic, or the address is wrong';
  }
  return 'connected, but no complete answer in time: the service hangs, or a device in the path (proxy, L7 firewall) holds the request';
}

function tlsMeaning(exitCode: number, error: string): string {
  if (/wrong version number|unexpected eof|packet length too long/i.test(error)) return 'the TLS handshake failed because the port does not speak TLS (plain HTTP or another protocol): the URL\'s port or scheme is wrong';
  if (exitCode === 60 || exitCode === 51 || exitCode === 83 || exitCode === 90 || exitCode === 91) {
    return 'the server\'s certificate was rejected: typical of an inspecting proxy that re-signs TLS with its own CA';
  }
  return 'the TLS handshake failed: the two sides agree on no protocol version or cipher, or a device in the path (an inspecting proxy, an L7 firewall) interferes with TLS';
}

const TLS_EXITS = new Set([35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91]);

function failed(exitCode: number | null, error: string): Pick<CurlClass, 'code' | 'meaning'> {
  const detail = error ? ` (${error})` : '';
  if (exitCode === 6) return { code: 'DNS', meaning: `the host name does not resolve from here${detail}` };
  if (exitCode === 5) return { code: 'DNS', meaning: `the proxy's host name does not resolve from here${detail}` };
  if (exitCode === 7) return { code: 'REFUSED_OR_NO_ROUTE', meaning: `${connectMeaning(error)}${detail}` };
  if (exitCode === 28 || exitCode === 124) return { code: 'TIMEOUT', meaning: `${timeoutMeaning(error)}${detail}` };
  // A reset is a refusal (a firewall's REJECT with tcp-reset, a device cutting the connection), not evidence of a
  // device reading the traffic: curl reports it as a TLS error (35) only because the handshake was under way.
  if (exitCode === 35 && /reset by peer|connection reset/i.test(error)) return { code: 'REFUSED_OR_NO_ROUTE', meaning: `the connection was reset during the TLS handshake: a firewall rejecting the port with a TCP reset, or a device in the path cutting the connection${detail}` };
  if (exitCode !== null && TLS_EXITS.has(exitCode)) return { code: 'TLS', meaning: `${tlsMeaning(exitCode, error)}${detail}` };
  if (exitCode === 52) return { code: 'OTHER', meaning: `the server closed the connection without answering: often a firewall or proxy cutting it, or a TLS port reached with http://${detail}` };
  if (exitCode === 56) return { code: 'OTHER', meaning: `the connection was reset while waiting for the answer: a firewall or another device in the path reset it${detail}` };
  if (exitCode === 127) return { code: 'OTHER', meaning: 'curl is not installed on this machine' };
  if (exitCode === null) return { code: 'OTHER', meaning: 'curl was killed before it finished' };
  return { code: 'OTHER', meaning: `curl failed with exit code ${exitCode}${detail}` };
}

export function classifyCurl(run: CurlRun): CurlClass {
  const { body, httpStatus } = splitOutput(run.stdout);
  const error = curlError(run.stderr);
  if (run.exitCode === 0) return { ...answered(httpStatus, body), ...(error ? { error } : {}) };
  const verdict: CurlClass = { ok: false, ...failed(run.exitCode, error ?? '') };
  if (httpStatus !== undefined) verdict.httpStatus = httpStatus;
  if (body) verdict.body = body;
  if (error) verdict.error = error;
  return verdict;
}

export interface PresentedCertificate {
  subject: string;
  issuer: string;
}

/**
 * The server certificate in `curl -v`'s report: OpenSSL's and GnuTLS's builds print `*  subject: ...` and
 * `*  issuer: ...` under `* Server certificate:`. The last pair wins (a proxy's CONNECT can come first); none when the
 * handshake never got that far or the build prints no certificate.
 */
export function parseCurlCertificate(report: string): PresentedCertificate | undefined {
  let subject: string | undefined;
  let found: PresentedCertificate | undefined;
  for (const line of report.split(/\r?\n/)) {
    const m = /^\*\s+(subject|issuer):\s*(.{1,1000}?)\s*$/.exec(line);
    if (!m) continue;
    if (m[1] === 'subject') subject = m[2]!;
    else if (subject !== undefined) {
      found = { subject, issuer: m[2]! };
      subject = undefined;
    }
  }
  return found;
}

/** A curl command as an engineer pastes it from a shell: the prompt before it tells where it ran. */
export interface CurlCommand {
  /** `default:~$`: null when the line has no prompt. */
  prompt: string | null;
  /** The first http(s) URL on the line. */
  url: string | null;
  /** The prompt is a Kasm workspace image's shell (`default:~$`, user kasm-user): the curl ran inside a session. */
  inSession: boolean;
  raw: string;
}

// A shell prompt (`default:~$ `, `user@host:~/dir# `, `$ `), then sudo, `docker exec <flags> <container>`, and curl.
const PROMPT = /^(?:([\w.-]{1,64}(?:@[\w.-]{1,64})?:[^\s$#]{0,200}[$#])\s*|[$#]\s+)/;
const COMMAND = /^(?:sudo\s+)?(?:docker\s+exec\s+(?:-[\w-]+\s+)*\w[\w.-]*\s+)?curl\s/;
const URL_ARG = /(?:^|\s)['"]?(https?:\/\/[^\s'"]+)/;
// Kasm's workspace images run as kasm-user, whose shell prompt reads `default:~$` (workspaces-issues #132,
// workspaces-images #100).
const SESSION_PROMPT = /^(?:default:|kasm-user@)/;

export function parseCurlCommand(line: string): CurlCommand | null {
  const text = line.trim();
  const prompt = PROMPT.exec(text);
  const command = prompt ? text.slice(prompt[0].length) : text;
  if (!COMMAND.test(command)) return null;
  const name = prompt?.[1] ?? null;
  return { prompt: name, url: URL_ARG.exec(command)?.[1] ?? null, inSession: name !== null && SESSION_PROMPT.test(name), raw: line };
}
