// kasm_api in the real-parts lab: the lab's kasm_api (lab/kasm-api.ts) on 8080 in its container, launching sessions
// through each agent's kasm_proxy (`/agent/` -> kasm_agent:4444), and a control socket in /etc/kasm that only the lab
// reaches (a Unix socket in the mounted folder): what the project's tests ask of Kasm's database.
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { KasmApi, newStore, type LabAgent, type LabImage, type LabSession, type LabUser, type LabZone, type LaunchedContainer } from '../../kasm-api.ts';
import { FileFaults, onStop, readSettings, stdoutLog } from './common.ts';

export interface ApiSettings {
  apiKey: string;
  apiSecret: string;
  users: Array<Pick<LabUser, 'userId' | 'username' | 'password'>>;
  images: LabImage[];
  zones: LabZone[];
  agents: LabAgent[];
  /** The manager token the agents accept. */
  agentToken: string;
  proxyContainerIp: string;
}

const settings = readSettings<ApiSettings>('/etc/kasm/api.json');
const faults = new FileFaults('/etc/kasm/faults.json');
const users: LabUser[] = settings.users.map((u) => ({ ...u, tokens: new Set(), linkTokens: new Map() }));
const agentHttps = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

function callAgent(agent: LabAgent, path: string, payload: unknown): Promise<unknown> {
  const text = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = https.request(`https://${agent.hostname}:${agent.port}/agent${path}`, { method: 'POST', agent: agentHttps, timeout: 60_000, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Authorization: `Bearer ${settings.agentToken}` } }, (res) => {
      let answer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (answer += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`agent ${agent.hostname} answered ${res.statusCode}: ${answer.slice(0, 300)}`));
        try {
          resolve(JSON.parse(answer));
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`agent ${agent.hostname} did not answer within 60 s`)));
    // A connection nobody accepts (a firewall that drops) fails the call in 5 s, not in the 60 s a provision may take.
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new Error(`agent ${agent.hostname}:${agent.port} did not accept a connection within 5 s`)), 5_000);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const api = new KasmApi({
  host: '0.0.0.0',
  port: 8080,
  store: newStore(),
  apiKey: settings.apiKey,
  apiSecret: settings.apiSecret,
  users,
  images: settings.images,
  zones: settings.zones,
  agents: settings.agents,
  log: stdoutLog,
  faults,
  proxyContainerIp: settings.proxyContainerIp,
  launcher: {
    async launch(session: LabSession, image: LabImage, agent: LabAgent): Promise<LaunchedContainer> {
      const vncPassword = randomBytes(18).toString('base64url');
      const runConfig = JSON.parse(image.run_config || '{}') as unknown;
      // The agent's kasm_proxy authorizes the session at the zone's Upstream Auth Address (KASM-FACTS §1: "if the
      // agent cannot reach or resolve that address, sessions fail"), so it learns the address with the session.
      const zone = settings.zones.find((z) => z.zone_id === agent.zone_id) ?? settings.zones[0]!;
      const launched = (await callAgent(agent, '/provision', { kasm_id: session.kasmId, username: session.user.username, image: image.name, run_config: runConfig, vnc_password: vncPassword, desktop_label: image.friendly_name, upstream_auth_address: zone.upstream_auth_address })) as Omit<LaunchedContainer, 'vncPassword'>;
      return { ...launched, vncPassword };
    },
    async destroy(session: LabSession): Promise<void> {
      if (session.container) await callAgent(session.agent, '/destroy', { kasm_id: session.kasmId, container: session.container.containerName });
    },
  },
});
await api.listen();

const CONTROL = '/etc/kasm/control.sock';
rmSync(CONTROL, { force: true });
const control = http.createServer((req, res) => {
  const send = (value: unknown) => {
    const text = JSON.stringify(value);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.url === '/state') {
    return send({
      sessions: [...api.sessions.values()].map((s) => ({ kasmId: s.kasmId, status: s.status, username: s.user.username, agent: s.agent.hostname, container: s.container?.containerName })),
      issued: [...api.issued],
      images: settings.images,
    });
  }
  // An administrator editing the zone (Admin > Infrastructure > Zones): what get_zones answers and sessions use next.
  if (req.url === '/zone' && req.method === 'POST') {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const edit = JSON.parse(text) as Partial<Pick<LabZone, 'proxy_port' | 'proxy_hostname' | 'upstream_auth_address'>>;
      for (const zone of settings.zones) Object.assign(zone, edit);
      send({ zones: settings.zones });
    });
    return;
  }
  if (req.url === '/destroy-all' && req.method === 'POST') {
    void api.destroyAll().then(() => send({}), () => send({}));
    return;
  }
  res.writeHead(404);
  res.end();
});
control.listen(CONTROL);
onStop(async () => {
  control.close();
  await api.stop();
});
