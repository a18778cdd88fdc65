// Fault injection: each fault breaks one hop the way the troubleshooting guide describes it happening in the field.
import { EventEmitter } from 'node:events';
import { paths, writeJson } from './state.ts';

export const FAULTS = {
  'api-down': 'kasm_api has stopped: its container exited and nothing listens on its port (the WebApp proxy answers 502)',
  'port-mismatch': "the zone's Proxy Port names a port where nothing listens (Kasm listens on 8443 inside, clients come in on 443), so the session URL points nowhere",
  'duplicate-cookies': 'login also sets a stale session_token with Path=/desktop, so /desktop/ requests carry two session_token cookies and nginx forwards the stale one',
  'cookie-blocked': 'login sets session_token with SameSite=None but without Secure, which Chromium refuses to store (SameSiteNoneInsecure); username is still set',
  'zone-domain-not-subdomain': "the zone's Proxy Hostname is kasm-zone.localhost, not a sub-domain of kasm.localhost, so the session iframe is cross-site and gets no cookies",
  'websocket-blocked': 'the load balancer refuses WebSocket upgrades to /websockify with a 403 page, as a security device in front of Kasm does',
  'websocket-upgrade-stripped': 'the load balancer drops the Upgrade and Connection headers, so KasmVNC fails its websocket checks and answers 404',
  'websocket-idle-cut': 'the load balancer cuts every WebSocket tunnel idleCutMs after its 101, without a close frame (an L7 idle or max-duration timeout)',
  'websocket-malformed': 'the load balancer removes the Sec-WebSocket-Protocol header from WebSocket upgrades to /websockify, so KasmVNC fails its websocket checks (missing Sec-WebSocket-Protocol header) and answers 404',
  'no-resources': 'request_kasm answers 200 with error_message "No resources are available" and creates no session',
  'kasm-connect-denied': "kasm_api answers the WebApp proxy's GET /api/kasm_connect/ with 403 although the cookies are valid, and logs why (the auth sub-request denies the session)",
  'cookie-stripped': 'the load balancer removes the Cookie header from /desktop/ requests and upgrades, so kasm_connect sees no username or token and answers 401',
  'agent-unreachable': "every agent's kasm_proxy resets connections that come from a WebApp server's address (the address get_agents and Connect-Hostname name), while the agent still answers its own",
  'upstream-auth-unresolvable': "the zone's Upstream Auth Address is a name no resolver accepts (a label over 63 characters, refused before any DNS query), so the agent's internal_auth fails (curl exit 6, nginx 500)",
  'upstream-auth-unreachable': "the zone's Upstream Auth Address is a WebApp address with a port where nothing listens, so the agent's internal_auth is refused (curl exit 7, nginx 500)",
  'internal-auth-denied': "kasm_api answers the agent's GET /api/internal_auth/ with 403 and logs why, so the agent's kasm_proxy refuses the session",
  'container-unhealthy': "every agent's kasm_agent container reports (unhealthy) in docker ps; sessions keep working, only its health check fails",
  'proxy-not-listening': "every WebApp server's kasm_proxy stops listening on its port (gone from ss -ltn), so the load balancer's connections are refused and clients get 502",
  'host-firewall': "every agent host's firewall blocks its kasm_proxy port (ufw DENY, iptables DROP): the socket still listens, but every connection to it is reset, the agent's own included",
  'proxy-stale-dns': "every WebApp server's kasm_proxy can no longer resolve kasm-api: /api/ answers 502 and /desktop/ 500 with nginx resolver errors in its log, while kasm_api itself is up",
  'kasmvnc-crash': "KasmVNC's Xvnc segfaults about 200 ms after it sends a viewer its first framebuffer update, cuts every viewer without a close frame, and logs an (EE) backtrace before vnc_startup.sh restarts it",
  'vnc-password-stale': "kasm_api hands the proxies a VNC password the session's KasmVNC does not have (Kasm's record and the container disagree), so KasmVNC refuses vnc.html and the websocket with 401 and logs the failed Basic auth",
  'tls-inspecting-proxy': "a TLS-inspecting device between the agents and the Upstream Auth Address: the agents' connections to the WebApp server's port are diverted to a proxy that re-signs TLS with its own CA (another issuer than the WebApp server's) and passes the requests on; sessions still work",
  'network-blip': 'the load balancer resets the first connection to /api/__healthcheck after the fault is switched on (TCP RST, no answer), then passes everything again: a transient failure a retry recovers from',
} as const satisfies Record<string, string>;

export type FaultName = keyof typeof FAULTS;

/**
 * Faults only the real-parts lab has a form of: a device that diverts one host's traffic and not another's needs the
 * hosts' own network namespaces, which the in-process lab (every host on 127.0.0.0/8 of one namespace) has not.
 */
export const REAL_ONLY_FAULTS: ReadonlySet<FaultName> = new Set(['tls-inspecting-proxy']);

export class FaultNeedsRealLabError extends Error {
  readonly code = 'LAB_FAULT_NEEDS_REAL_LAB';
  constructor(readonly names: string[]) {
    super(`the in-process lab has no form of ${names.join(', ')}: it needs the hosts' own network namespaces (run as root on Linux, KASM_LAB_KIND=real)`);
  }
}

export class UnknownFaultError extends Error {
  readonly code = 'LAB_UNKNOWN_FAULT';
  constructor(readonly names: string[]) {
    super(`Unknown lab fault${names.length > 1 ? 's' : ''} ${names.map((n) => `"${n}"`).join(', ')}; known: ${Object.keys(FAULTS).join(', ')}`);
  }
}

export function parseFaults(list: string | string[] | undefined): FaultName[] {
  const names = (Array.isArray(list) ? list : (list ?? '').split(',')).map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(name in FAULTS));
  if (unknown.length) throw new UnknownFaultError(unknown);
  return [...new Set(names)] as FaultName[];
}

/** What a component asks of the active faults: the in-process lab's Faults, or a real-parts container's file. */
export interface FaultSet {
  has(name: FaultName): boolean;
}

/** The active faults; components read them per request, and listeners react when the set changes. */
export class Faults extends EventEmitter<{ change: [active: ReadonlySet<FaultName>, previous: ReadonlySet<FaultName>] }> implements FaultSet {
  #active = new Set<FaultName>();

  constructor(private readonly root: string) {
    super();
    // Every proxy and host of the lab listens, and a lab may have up to 50 agents.
    this.setMaxListeners(0);
    writeJson(paths.faults(root), []);
  }

  has(name: FaultName): boolean {
    return this.#active.has(name);
  }

  get active(): ReadonlySet<FaultName> {
    return this.#active;
  }

  set(list: string | string[] | undefined): void {
    const next = new Set(parseFaults(list));
    const realOnly = [...next].filter((f) => REAL_ONLY_FAULTS.has(f));
    if (realOnly.length) throw new FaultNeedsRealLabError(realOnly);
    const previous = this.#active;
    this.#active = next;
    writeJson(paths.faults(this.root), [...next]);
    this.emit('change', next, previous);
  }
}
