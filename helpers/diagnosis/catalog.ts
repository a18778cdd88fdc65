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
  'session.stream': {
    hop: 'session',
    title: 'the desktop stream delivers the RFB banner and a framebuffer update',
    guideSection: 'KasmVNC Troubleshooting',
    remediation:
      'Follow the session path: confirm the websockify request reaches the agent (`sudo docker logs kasm_proxy 2>&1 | grep /vnc/websockify` on the agent), then read the KasmVNC log inside the session container.',
    dependsOn: ['api.session-create'],
  },
} as const satisfies Record<string, CheckSpec>;

export type CheckId = keyof typeof CHECKS;

export function isCheckId(value: string): value is CheckId {
  return value in CHECKS;
}

export const guideLink = (section: string) => `${GUIDE_URL}#${section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
