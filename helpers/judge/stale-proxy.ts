// Is kasm_proxy on a WebApp server still sending to an address kasm_api no longer has? The guide's story ("if
// individual Kasm service containers are started, stopped, or restarted, the Kasm proxy container may lose the local
// hostname resolution of the other containers"): nginx resolved `kasm_api` once, when it started. Real nginx then
// answers 502, or nothing in time: while the kernel still holds the old address's neighbour entry (up to ~45 s), its
// connect waits past any client, which gives up first, and nginx logs only a 499, no error. So the strong evidence is
// kasm_api itself answering at its current address from the server while kasm_proxy does not; the error line, when
// nginx wrote one, says the same from the other side. A 502 with neither cannot tell this from a kasm_api that hangs.
import type { CurlClass } from '../logs/curl.ts';
import type { NginxError } from '../logs/nginx.ts';

export interface StaleProxyInput {
  curl: Pick<CurlClass, 'code' | 'httpStatus'>;
  /** `docker ps -a` shows kasm_api Up. */
  apiUp: boolean;
  /** kasm_proxy's error lines from the time of the curl. */
  proxyErrors: NginxError[];
  path: string;
  /**
   * The same health path curled at kasm_api's current Docker address from the server, past kasm_proxy: `ok`, `failed`
   * (connected, then no good answer: kasm_api itself hangs or errs), or `unreachable` (the server cannot route into
   * the Docker network, which tells nothing about kasm_api).
   */
  direct?: { url: string; answered: 'ok' | 'failed' | 'unreachable' };
}

export interface StaleProxyVerdict {
  summary: string;
  /** The error line that names the old address, when kasm_proxy logged one. */
  evidence?: string;
}

// Errors nginx logs while connecting to an upstream that is gone: no route (ARP failed), refused, timed out.
const CONNECT_ERRNOS = new Set([110, 111, 113]);

export function judgeStaleProxy(input: StaleProxyInput): StaleProxyVerdict | undefined {
  if (!input.apiUp) return undefined;
  const gateway = input.curl.code === 'HTTP_ERROR' && input.curl.httpStatus !== undefined && input.curl.httpStatus >= 502 && input.curl.httpStatus <= 504;
  if (!gateway && input.curl.code !== 'TIMEOUT') return undefined;
  const line = input.proxyErrors.findLast((e) => e.errno !== undefined && CONNECT_ERRNOS.has(e.errno) && /while connecting to upstream/.test(e.message) && (e.upstream ?? '').startsWith('http'));
  // kasm_api not answering at its own address either, and no failed connect logged: kasm_api hangs, not kasm_proxy.
  if (input.direct?.answered === 'failed' && !line) return undefined;
  // A timeout with neither the line nor kasm_api's own answer is a hang anywhere (kasm_api, a firewall): not this story.
  const answersItself = input.direct?.answered === 'ok';
  if (!gateway && !line && !answersItself) return undefined;
  const answer = gateway ? `answers ${input.curl.httpStatus}` : 'gives no answer in time';
  const why = [answersItself ? `kasm_api answers ${input.direct!.url} itself` : '', line ? `kasm_proxy's log says "${line.message}" for ${line.upstream}` : ''].filter(Boolean);
  return {
    summary: `kasm_proxy ${answer} for ${input.path} while kasm_api is Up${why.length ? `, ${why.join(', and ')}` : ''}: kasm_proxy lost the container names it resolves (stale DNS after containers were restarted one by one)`,
    evidence: line?.raw,
  };
}

/** How kasm_api answered the server's curl at its own address: connected and answered well, connected and not, or never reached. */
export function directAnswer(curl: Pick<CurlClass, 'ok' | 'code'>): NonNullable<StaleProxyInput['direct']>['answered'] {
  if (curl.ok) return 'ok';
  return curl.code === 'TIMEOUT' || curl.code === 'HTTP_ERROR' || curl.code === 'BAD_BODY' ? 'failed' : 'unreachable';
}
