// Every check the suite runs: its stable id, the hop it speaks for, the guide section an engineer would open, and
// the remediation when the check fails without saying more. Hops are in the order a request travels.
export const HOPS = ['client', 'path', 'webapp', 'api', 'agent', 'session'] as const;
export type Hop = (typeof HOPS)[number];

export const GUIDE_URL = 'https://kasmweb.com/docs/latest/guide/troubleshooting/advanced_connection_troubleshooting.html';

export interface CheckSpec {
  hop: Hop;
  title: string;
  guideSection: string;
  remediation: string;
  /** Check ids whose failure makes this one fail for no reason of its own ("blocked by"). */
  dependsOn: readonly string[];
}

export const CHECKS = {
  'api.health': {
    hop: 'api',
    title: 'kasm_api answers GET /api/__healthcheck with {"ok": true}',
    guideSection: 'Confirm Local Connectivity',
    remediation:
      'On the WebApp servers run `sudo docker ps -a` and confirm kasm_api is Up; if it is not, read `sudo docker logs --tail 100 kasm_api`, then stop and start Kasm (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`) so kasm_proxy re-resolves its upstreams.',
    dependsOn: ['webapp.listening'],
  },
  'api.session-create': {
    hop: 'api',
    title: 'the Developer API creates a session that reaches running',
    guideSection: 'Session hangs at requesting Kasm',
    remediation:
      'Check the API key has the Users Auth Session and User permissions, the synthetic user and workspace exist and are enabled, and an agent has free resources (Admin > Infrastructure > Docker Agents).',
    dependsOn: ['api.health'],
  },
  'client.session-port': {
    hop: 'client',
    title: "the session's vnc.html and websockify URLs use the client-facing port",
    guideSection: 'Validate Session Port',
    remediation:
      'Set Admin > Infrastructure > Zones > (zone) > Proxy Port to the port clients use (443 behind a load balancer even when Kasm listens on 8443; 0 follows the request port), then destroy existing sessions: only new sessions pick up the change.',
    dependsOn: ['api.session-create'],
  },
  'client.cookies': {
    hop: 'client',
    title: 'username and session_token reach vnc.html (and the WebSocket handshake) exactly once each',
    guideSection: 'Validate Session Cookies',
    remediation:
      'Use a fresh incognito window; if a cookie is blocked, follow Browser Blocking Cookies (extensions, security software, SameSite/Secure); if it is duplicated, follow Cookie Conflict (remove the older cookie for the parent domain or path, or give the other application another name).',
    dependsOn: ['client.session-port', 'client.cors'],
  },
  'client.cors': {
    hop: 'client',
    title: 'zone domains are sub-domains of the primary Kasm domain and the session raises no CORS error',
    guideSection: 'Browser Blocking Cookies',
    remediation:
      'Make every zone\'s Proxy Hostname a sub-domain of the primary Kasm domain (e.g. eu.kasm.example.com under kasm.example.com), and upgrade to Kasm 1.14.0 or later for its CORS handling.',
    dependsOn: ['api.session-create'],
  },
  'path.websocket-upgrade': {
    hop: 'path',
    title: 'the /vnc/websockify WebSocket upgrades with 101 in the browser and from outside it',
    guideSection: 'DevTools WebSocket',
    remediation:
      'Let WebSocket upgrades through every load balancer, L7 firewall and proxy in front of Kasm: forward the Upgrade and Connection headers for /desktop/ and do not inspect or rewrite the handshake.',
    dependsOn: ['client.cookies', 'api.kasm-connect', 'api.internal-auth', 'webapp.agent-reachable', 'agent.upstream-auth-reachable', 'agent.local-connectivity'],
  },
  'path.websocket-hold': {
    hop: 'path',
    title: 'the desktop stream stays open without being cut',
    guideSection: 'DevTools WebSocket',
    remediation:
      'Raise the idle and maximum-duration timeouts for WebSockets on load balancers, firewalls and proxies in front of Kasm (kasm_proxy itself allows 1800 s) or exempt /desktop/ from them.',
    dependsOn: ['path.websocket-upgrade'],
  },
  'webapp.containers': {
    hop: 'webapp',
    title: "docker ps -a shows the WebApp role's containers up and healthy, kasm_proxy on the configured port",
    guideSection: 'Confirm Local Connectivity',
    remediation:
      'On that server: `sudo docker ps -a`; start what is down by stopping and starting Kasm in order (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`), and read `sudo docker logs --tail 100 <container>` for anything that keeps restarting.',
    dependsOn: [],
  },
  'webapp.listening': {
    hop: 'webapp',
    title: 'ss -ltn shows kasm_proxy listening on the WebApp port on IPv4 and IPv6',
    guideSection: 'Confirm Local Connectivity',
    remediation: 'Nothing listens on the Kasm port: check kasm_proxy is Up (`sudo docker ps -a`) and publishes that port, then stop and start Kasm in order.',
    dependsOn: [],
  },
  'webapp.local-connectivity': {
    hop: 'webapp',
    title: "/api/__healthcheck answers {\"ok\": true} through the server's own user-facing IP",
    guideSection: 'Confirm Local Connectivity',
    remediation: 'If the curl hangs or is refused, a host firewall is in the way (see Host Based Firewalls); if kasm_proxy answers 502 while kasm_api is Up, stop and start Kasm\'s services in order so kasm_proxy re-resolves the containers.',
    dependsOn: ['webapp.listening', 'webapp.containers'],
  },
  'webapp.firewall': {
    hop: 'webapp',
    title: 'no ufw or iptables rule blocks the Kasm port (read only, never changed)',
    guideSection: 'Host Based Firewalls',
    remediation:
      'Allow the Kasm port (`sudo ufw allow https`, or the port you installed on). The guide\'s iptables flush is a last resort that may break the system: stop Kasm first, set the INPUT policy to ACCEPT before flushing, and restart docker afterwards to regenerate its rules.',
    dependsOn: [],
  },
  'webapp.agent-reachable': {
    hop: 'agent',
    title: 'every WebApp server reaches every agent at https://<agent>:<port>/agent/__healthcheck',
    guideSection: 'Validate Session Authorization',
    remediation: 'Use the address shown in Admin > Infrastructure > Docker Agents: make it resolvable and routable from the WebApp servers, and open the agent port between them.',
    dependsOn: ['agent.local-connectivity', 'agent.listening'],
  },
  'api.kasm-connect': {
    hop: 'api',
    title: 'kasm_api logged GET /api/kasm_connect/ with 202 for the session',
    guideSection: 'Validate Session Authorization',
    remediation: 'kasm_api refused the WebApp proxy\'s kasm_connect: check the session still exists and belongs to the user whose cookies were sent, and read `sudo docker logs --since 10m kasm_api 2>&1 | grep kasm_connect` on the WebApp servers.',
    dependsOn: ['client.cookies', 'webapp.listening'],
  },
  'api.internal-auth': {
    hop: 'api',
    title: 'kasm_api logged GET /api/internal_auth/ with 202 for the session',
    guideSection: 'Validate Session Authorization',
    remediation: 'The agent\'s authorization call was refused or never arrived: check the zone\'s Upstream Auth Address points at these WebApp servers and read `sudo docker logs kasm_api 2>&1 | grep internal_auth` on each.',
    dependsOn: ['api.kasm-connect', 'webapp.agent-reachable', 'agent.upstream-auth-reachable'],
  },
  'agent.containers': {
    hop: 'agent',
    title: "docker ps -a shows the agent role's containers up and healthy, kasm_proxy on the configured port",
    guideSection: 'Confirm Local Connectivity',
    remediation:
      'On that agent: `sudo docker ps -a`; read `sudo docker logs --tail 100 kasm_agent` for an unhealthy agent, then stop and start Kasm in order (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`).',
    dependsOn: [],
  },
  'agent.listening': {
    hop: 'agent',
    title: 'ss -ltn shows kasm_proxy listening on the agent port on IPv4 and IPv6',
    guideSection: 'Confirm Local Connectivity',
    remediation: 'Nothing listens on the agent port: check kasm_proxy is Up on the agent and publishes the port Kasm has for it (Infrastructure > Docker Agents).',
    dependsOn: [],
  },
  'agent.local-connectivity': {
    hop: 'agent',
    title: "/agent/__healthcheck answers {\"ok\": true} through the agent's own user-facing IP",
    guideSection: 'Confirm Local Connectivity',
    remediation: 'A refused or hanging curl to the server\'s own IP while kasm_proxy listens means a host firewall drops the port: see Host Based Firewalls.',
    dependsOn: ['agent.listening'],
  },
  'agent.firewall': {
    hop: 'agent',
    title: 'no ufw or iptables rule blocks the agent port (read only, never changed)',
    guideSection: 'Host Based Firewalls',
    remediation:
      'Allow the agent port (`sudo ufw allow <port>/tcp`). The guide\'s iptables flush is a last resort that may break the system: stop Kasm first, set the INPUT policy to ACCEPT before flushing, and restart docker afterwards to regenerate its rules.',
    dependsOn: [],
  },
  'agent.upstream-auth-reachable': {
    hop: 'agent',
    title: "every agent reaches the zone's Upstream Auth Address at https://<address>/api/__healthcheck",
    guideSection: 'Validate Session Authorization',
    remediation:
      'Set Admin > Infrastructure > Zones > Upstream Auth Address to a name the agents can resolve and reach without a forward proxy doing TLS inspection: an internal load balancer in front of the WebApp servers, or an internal DNS name for them; then destroy existing sessions.',
    dependsOn: [],
  },
  'agent.websocket-log': {
    hop: 'path',
    title: "the agent's kasm_proxy logged GET /desktop/<kasm_id>/vnc/websockify with 101",
    guideSection: 'DevTools WebSocket',
    remediation: 'The websocket never reached the agent: something in front of Kasm (load balancer, L7 firewall, proxy, client security software) interferes with it; follow path.websocket-upgrade.',
    dependsOn: ['path.websocket-upgrade', 'api.internal-auth'],
  },
  'session.stream': {
    hop: 'session',
    title: 'the desktop stream delivers the RFB banner and a framebuffer update',
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      'Follow the session path: confirm the websockify request reaches the agent (`sudo docker logs kasm_proxy 2>&1 | grep /vnc/websockify` on the agent), then read the KasmVNC log inside the session container.',
    dependsOn: ['path.websocket-upgrade'],
  },
  'session.websocket-handshake': {
    hop: 'session',
    title: "KasmVNC identified the session's /websockify request as a WebSocket (using protocol HyBi/IETF 6455 13)",
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      'KasmVNC rejected the WebSocket handshake it received: compare the headers the browser sent (DevTools) with what KasmVNC says was missing, and make every device between the browser and Kasm pass the handshake unchanged (Upgrade, Connection, Sec-WebSocket-Key/Version/Protocol, Origin).',
    dependsOn: ['path.websocket-upgrade'],
  },
  'session.auth': {
    hop: 'session',
    title: "KasmVNC accepted the Authorization header the agent's kasm_proxy injected (BasicAuth matched)",
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      "The last nginx in the path injects the session's Basic credentials: destroy the session and launch a new one; if it persists, restart the agent's kasm_proxy (`sudo docker restart kasm_proxy` on the agent) and check that nothing in front of Kasm adds or rewrites an Authorization header.",
    dependsOn: ['path.websocket-upgrade'],
  },
  'session.crash': {
    hop: 'session',
    title: 'KasmVNC did not crash (no (EE) Backtrace or Caught signal in its log)',
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      "KasmVNC crashed: send the attached support bundle (backtrace, signal and `Xvnc -version`) to Kasm support; meanwhile look for what in front of Kasm alters the session's requests (very large cookies, a non-conformant WebSocket handshake) and update the workspace image to a newer KasmVNC.",
    dependsOn: ['api.session-create'],
  },
} as const satisfies Record<string, CheckSpec>;

export type CheckId = keyof typeof CHECKS;

export function isCheckId(value: string): value is CheckId {
  return value in CHECKS;
}

/** The Allure label a check's result carries its guide section in; the report's hop categories group by it. */
export const GUIDE_LABEL = 'guide';

export const guideLink = (section: string) => `${GUIDE_URL}#${section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;

/** Whether `check` depends on `on`, directly or through the checks it depends on. */
export function dependsOn(check: CheckId, on: CheckId, seen = new Set<CheckId>()): boolean {
  for (const dependency of CHECKS[check].dependsOn as readonly string[]) {
    if (dependency === on) return true;
    if (!isCheckId(dependency) || seen.has(dependency)) continue;
    seen.add(dependency);
    if (dependsOn(dependency, on, seen)) return true;
  }
  return false;
}
