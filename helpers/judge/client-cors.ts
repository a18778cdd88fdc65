// The verdict of client.cors (the guide's CORS errors with zones): every zone's Proxy Hostname, and the host the
// session iframe was served from, must be the primary Kasm domain or a sub-domain of it, and the session's console
// must hold no CORS error. Evidence in, one verdict out.
import { plural } from '../report/text.ts';
import type { Verdict } from './verdict.ts';

/** A zone's Proxy Hostname left at Kasm's placeholder (`$request_host$`) follows the request: nothing to check. */
const PLACEHOLDER = /^\$\w+\$$/;

export interface ZoneRecord {
  zone_name?: string;
  proxy_hostname?: string;
}

/**
 * The host names to check, each with where it came from, in the order found: KASM_ZONE_HOSTS, get_zones' Proxy
 * Hostnames (undefined when get_zones could not be read), then the session iframe's host if no other source named it.
 */
export function zoneHostsOf(sources: { configured: string[]; zones: ZoneRecord[] | undefined; sessionHost: string | undefined }): Record<string, string> {
  const hosts = new Map<string, string>(sources.configured.map((h) => [h, 'KASM_ZONE_HOSTS']));
  for (const zone of sources.zones ?? []) {
    const host = (zone.proxy_hostname ?? '').trim().toLowerCase();
    if (host && !PLACEHOLDER.test(host)) hosts.set(host, `zone "${zone.zone_name}" Proxy Hostname`);
  }
  if (sources.sessionHost && !hosts.has(sources.sessionHost)) hosts.set(sources.sessionHost, 'the session iframe');
  return Object.fromEntries(hosts);
}

export interface ClientCorsEvidence {
  /** The primary Kasm domain (KASM_URL's host name, lower case). */
  primary: string;
  /** Host name -> where it came from (zoneHostsOf). */
  zoneHosts: Record<string, string>;
  /** The CORS errors the session raised: the console's, and requests DevTools saw fail on CORS. */
  corsErrors: Array<{ text: string; origin: string | undefined }>;
  /** How many console messages the session logged (all read for CORS errors). */
  consoleMessages: number;
}

const isWithin = (host: string, primary: string) => host === primary || host.endsWith(`.${primary}`);

export function judgeClientCors(e: ClientCorsEvidence): Verdict {
  const hosts = Object.entries(e.zoneHosts);
  const outside = hosts.filter(([host]) => !isWithin(host, e.primary));
  const cors = e.corsErrors;
  if (outside.length || cors.length) {
    const parts = [
      ...outside.map(([host, from]) => `${host} (${from}) is not a sub-domain of ${e.primary}`),
      ...(cors.length ? [`${plural(cors.length, 'CORS error')} from ${[...new Set(cors.map((c) => c.origin ?? 'unknown origin'))].join(', ')}: ${cors[0]!.text.slice(0, 200)}`] : []),
    ];
    return {
      status: 'fail',
      summary: parts.join('; '),
      ...(outside.length
        ? { remediation: `Make every zone's Proxy Hostname a sub-domain of ${e.primary} (e.g. eu.${e.primary}), so the session iframe stays within the site the cookies and CORS rules allow; then destroy existing sessions.` }
        : {}),
    };
  }
  // No host from anywhere (get_zones unread or all placeholders, KASM_ZONE_HOSTS empty, no session page seen): the
  // domains were not seen, which is not the same as seen right.
  if (!hosts.length) {
    return {
      status: 'warn',
      summary: `not judged: no zone host name was known (get_zones named none or could not be read, KASM_ZONE_HOSTS is empty, and no session page was seen); no CORS error in ${plural(e.consoleMessages, 'console message')}`,
      remediation: 'Give the API key permission to read zones, or list the zones\' Proxy Hostnames in KASM_ZONE_HOSTS; if the session page never loaded, follow the client and path checks first.',
    };
  }
  return { status: 'pass', summary: `${hosts.map(([host]) => host).join(', ')} within ${e.primary}; no CORS error in ${plural(e.consoleMessages, 'console message')}` };
}
