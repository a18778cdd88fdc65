// Is kasm_proxy on a WebApp server still sending to an address kasm_api no longer has? The guide's story ("if
// individual Kasm service containers are started, stopped, or restarted, the Kasm proxy container may lose the local
// hostname resolution of the other containers"): nginx resolved `kasm_api` once, when it started. Real nginx then
// answers 502 (or, while the kernel waits ~3 s for an ARP answer from the vanished address, nothing in time) and
// logs why; a 502 alone cannot tell this from a kasm_api that hangs, the error line can.
import type { CurlClass } from '../logs/curl.ts';
import type { NginxError } from '../logs/nginx.ts';

export interface StaleProxyInput {
  curl: Pick<CurlClass, 'code' | 'httpStatus'>;
  /** `docker ps -a` shows kasm_api Up. */
  apiUp: boolean;
  /** kasm_proxy's error lines from the time of the curl. */
  proxyErrors: NginxError[];
  path: string;
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
  // A timeout with no such line is a hang anywhere (kasm_api itself, a firewall): not this story.
  if (!gateway && !line) return undefined;
  const answer = gateway ? `answers ${input.curl.httpStatus}` : 'gives no answer in time';
  const why = line ? `, and its log says "${line.message}" for ${line.upstream}` : '';
  return {
    summary: `kasm_proxy ${answer} for ${input.path} while kasm_api is Up${why}: kasm_proxy lost the container names it resolves (stale DNS after containers were restarted one by one)`,
    evidence: line?.raw,
  };
}
