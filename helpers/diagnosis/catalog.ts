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
    dependsOn: [],
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
    dependsOn: ['client.cookies'],
  },
  'path.websocket-hold': {
    hop: 'path',
    title: 'the desktop stream stays open without being cut',
    guideSection: 'DevTools WebSocket',
    remediation:
      'Raise the idle and maximum-duration timeouts for WebSockets on load balancers, firewalls and proxies in front of Kasm (kasm_proxy itself allows 1800 s) or exempt /desktop/ from them.',
    dependsOn: ['path.websocket-upgrade'],
  },
  'session.stream': {
    hop: 'session',
    title: 'the desktop stream delivers the RFB banner and a framebuffer update',
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      'Follow the session path: confirm the websockify request reaches the agent (`sudo docker logs kasm_proxy 2>&1 | grep /vnc/websockify` on the agent), then read the KasmVNC log inside the session container.',
    dependsOn: ['path.websocket-upgrade'],
  },
} as const satisfies Record<string, CheckSpec>;

export type CheckId = keyof typeof CHECKS;

export function isCheckId(value: string): value is CheckId {
  return value in CHECKS;
}

export const guideLink = (section: string) => `${GUIDE_URL}#${section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
