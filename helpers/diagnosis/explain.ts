// Turns a Developer API failure into the hop it points at and what to do about it.
import { KasmApiError } from '../kasm-api.ts';
import { isTransientNetworkError } from './attempts.ts';
import type { Hop } from './catalog.ts';

export interface Explanation {
  summary: string;
  remediation?: string;
  hop?: Hop;
  evidence: Record<string, unknown>;
  /** A timeout or a reset: the check is retried. */
  transient?: boolean;
}

/** Runs a Developer API call; its failure fails the check with the hop and the fix it points to. Other errors are bugs and pass through. */
export async function orFailCheck<T>(check: { fail(details: Explanation): never }, kasmUrl: URL, call: () => Promise<T>, prefix = ''): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof KasmApiError)) throw error;
    const explained = explainApiError(error, kasmUrl);
    return check.fail({ ...explained, summary: `${prefix}${explained.summary}` });
  }
}

export function explainApiError(error: unknown, kasmUrl: URL): Explanation {
  if (!(error instanceof KasmApiError)) {
    return { summary: error instanceof Error ? error.message : String(error), evidence: {} };
  }
  const evidence = { call: error.call, code: error.code, ...error.details };
  switch (error.code) {
    case 'KASM_API_UNREACHABLE':
    case 'KASM_API_TIMEOUT':
      return {
        transient: error.code === 'KASM_API_TIMEOUT' || isTransientNetworkError(error.message),
        summary: `${error.call}: ${error.message}`,
        remediation: `Nothing answered at ${kasmUrl.origin}: check DNS for ${kasmUrl.hostname}, the load balancer and firewalls in front of the WebApp servers, and that kasm_proxy is up on them (\`sudo docker ps -a\`).`,
        hop: 'path',
        evidence,
      };
    case 'KASM_API_AUTH':
      return {
        summary: `${error.call}: the Developer API refused the key: ${error.message}`,
        remediation: 'Check KASM_API_KEY/KASM_API_SECRET (Admin > Settings > Developers), the key\'s permissions (Users Auth Session, User), and KASM_API_AUTH (json for 1.7-1.19, basic for newer releases).',
        hop: 'api',
        evidence,
      };
    case 'KASM_API_HTTP':
      if (error.details.status !== undefined && error.details.status >= 502 && error.details.status <= 504) {
        return {
          summary: `${error.call}: ${error.message}: kasm_api is down or kasm_proxy cannot reach it`,
          remediation:
            'On the WebApp servers: `sudo docker ps -a` (kasm_api Up?), `sudo docker logs --tail 100 kasm_api`; then stop and start Kasm (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`) so kasm_proxy re-resolves the containers.',
          hop: 'api',
          evidence,
        };
      }
      return { summary: `${error.call}: ${error.message}`, remediation: `Check ${kasmUrl.origin}${'/api/'} is Kasm's API and KASM_API_PATH matches the release.`, hop: 'api', evidence };
    case 'KASM_API_ERROR':
      return {
        summary: `${error.call}: Kasm said "${error.details.errorMessage ?? error.message}"`,
        remediation: /resources/i.test(error.details.errorMessage ?? '')
          ? 'No agent could take the session: check Admin > Infrastructure > Docker Agents (enabled, free cores/memory) and the workspace\'s zone restrictions.'
          : 'Check the synthetic user and workspace exist, are enabled and that the user may launch the workspace.',
        hop: 'api',
        evidence,
      };
    default:
      return { summary: `${error.call}: ${error.message}`, remediation: 'Check KASM_API_PATH and that the API answers JSON.', hop: 'api', evidence };
  }
}
