// The lab's server-side faults as the suite sees them: over SSH on each host (docker, ss, ufw, iptables, the real curl
// leaving from the host's own address) and through the client-facing URL with the session cookies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { createDispatcher, lookup } from '../../helpers/net.ts';
import { FAULTS, REAL_ONLY_FAULTS, type FaultName } from '../../lab/faults.ts';
import { startLab, UNRESOLVABLE_AUTH_HOST, type Lab } from '../../lab/index.ts';
import type { HostState } from '../../lab/state.ts';
import { connect, run, waitFor } from './lab-ssh-client.ts';



interface Curl {
  exit: number;
  ms: number;
  body: string;
}

const HEALTHY = '{"ok": true}';
// nginx's error_log layout: `YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message, client: ..., server: ..., request: "...", host: "..."`.
const NGINX_ERROR = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ (.+?), client: \S+, server: \S*, request: "([^"]*)"(?:, subrequest: "[^"]*")?(?:, upstream: "[^"]*")?, host: "[^"]*"$/;
// curl's exits for a connection the peer refuses or resets: 7 (connect), 35 (TLS handshake), 56 (receive).
const CUT_OFF = [7, 35, 56];





const cookieHeader = (setCookie: string[]) => setCookie.map((c) => c.split(';')[0]).join('; ');

describe('lab server faults', { concurrency: false }, () => {
  let lab: Lab;
  let dispatcher: Dispatcher;
  let userId: string;
  let imageId: string;
  let webapp: HostState;
  let agent: HostState;
  let webShell: ssh2.Client;
  let agentShell: ssh2.Client;
  /** The agent as Kasm names it to the WebApp servers: get_agents' hostname, at the agents' port (KASM_AGENT_PORT). */
  let agentAddress: string;

  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await request(new URL(path, lab.url), { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
  };
  const api = (path: string, body: Record<string, unknown> = {}) => post(path, { api_key: lab.env.KASM_API_KEY, api_key_secret: lab.env.KASM_API_SECRET, ...body });
  const zone = async () => ((await api('/api/public/get_zones')).body.zones as Array<{ upstream_auth_address: string }>)[0]!;
  const get = async (path: string, cookie?: string) => {
    const res = await request(new URL(path, lab.url), { dispatcher, headers: cookie ? { cookie } : {} });
    return { status: res.statusCode, body: await res.body.text() };
  };

  /** A running session and the cookies its one-time link signs the browser in with. */
  const openSession = async () => {
    const created = await api('/api/public/request_kasm', { user_id: userId, image_id: imageId });
    const kasmId = String(created.body.kasm_id);
    await lab.api.sessions.get(kasmId)!.ready;
    const login = await post('/api/authenticate', { user_id: userId, token: String(created.body.kasm_url).split('/').pop() });
    return { kasmId, cookie: cookieHeader(([] as string[]).concat(login.headers['set-cookie'] ?? [])), page: `/desktop/${kasmId}/vnc/vnc.html` };
  };
  const destroy = (kasmId: string) => api('/api/public/destroy_kasm', { user_id: userId, kasm_id: kasmId });

  /** The RFB greeting through the load balancer, or the status the upgrade was refused with. */
  const desktopSocket = (kasmId: string, cookie: string) =>
    new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${lab.url.replace('https', 'wss')}/desktop/${kasmId}/vnc/websockify`, ['binary'], { headers: { Cookie: cookie, Origin: lab.url }, rejectUnauthorized: false, lookup });
      const timer = setTimeout(() => reject(new Error('no answer to the desktop upgrade within 5 s')), 5_000);
      ws.once('message', (data: Buffer) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(data.toString('latin1'));
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(`HTTP ${res.statusCode}`);
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });

  /** The suite's curl as it runs on a host (`curl -sk URL`), with its exit status and how long it took. */
  const curl = async (shell: ssh2.Client, url: string): Promise<Curl> => {
    const result = await run(shell, `s=$(date +%s%N); curl -sk '${url}'; c=$?; e=$(date +%s%N); printf '\\n%s %s\\n' "$c" "$(( (e - s) / 1000000 ))"`);
    const lines = result.stdout.split('\n');
    const [exit = '', ms = ''] = lines.at(-2)!.split(' ');
    return { exit: Number(exit), ms: Number(ms), body: lines.slice(0, -2).join('\n') };
  };
  const dockerLogs = async (shell: ssh2.Client, container: string, since: Date) => {
    const result = await run(shell, `sudo -n docker logs --since ${since.toISOString()} ${container} 2>&1`);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter(Boolean);
  };
  const withFault = async (name: FaultName, body: () => Promise<void>) => {
    lab.faults.set([name]);
    try {
      await body();
    } finally {
      lab.faults.set([]);
    }
  };
  const webappToAgent = () => curl(webShell, `https://${agentAddress}/agent/__healthcheck`);
  const agentLocal = () => curl(agentShell, `https://${agent.ip}:${agent.proxyPort}/agent/__healthcheck`);
  const agentToAuth = async () => curl(agentShell, `https://${(await zone()).upstream_auth_address}/api/__healthcheck`);
  const webappLocal = () => curl(webShell, `https://${webapp.ip}:${webapp.proxyPort}/api/__healthcheck`);

  before(async () => {
    lab = await startLab();
    dispatcher = createDispatcher({ insecureTls: true, connectTimeoutMs: 5_000 });
    webapp = lab.hosts.find((h) => h.role === 'webapp')!;
    agent = lab.hosts.find((h) => h.role === 'agent')!;
    const key = readFileSync(lab.ssh.clientKeyFile);
    const target = (host: HostState) => lab.ssh.hosts.find((h) => h.id === host.id)!;
    webShell = await connect(target(webapp), key, lab.ssh.knownHostsFile);
    agentShell = await connect(target(agent), key, lab.ssh.knownHostsFile);
    userId = String(((await api('/api/public/get_user', { target_user: { username: lab.env.KASM_USER } })).body.user as { user_id: string }).user_id);
    const images = (await api('/api/public/get_images')).body.images as Array<{ image_id: string; friendly_name: string }>;
    imageId = images.find((i) => i.friendly_name === lab.env.KASM_WORKSPACE)!.image_id;
    const agents = (await api('/api/admin/get_agents')).body.agents as Array<{ hostname: string; port?: number }>;
    // As Kasm's public clients show it, get_agents names no port: the agents' one port is the suite's setting.
    assert.equal(agents[0]!.port, undefined, 'get_agents sends no port');
    agentAddress = `${agents[0]!.hostname}:${lab.env.KASM_AGENT_PORT}`;
  });
  after(async () => {
    webShell?.end();
    agentShell?.end();
    await dispatcher?.close();
    await lab?.stop();
  });

  it('answers every health check the suite curls, and each host curls from its own address', async () => {
    const since = new Date();
    assert.deepEqual([(await webappToAgent()).body, (await agentLocal()).body, (await agentToAuth()).body, (await webappLocal()).body], [HEALTHY, HEALTHY, HEALTHY, HEALTHY]);
    const agentProxy = await dockerLogs(agentShell, 'kasm_proxy', since);
    const health = agentProxy.filter((line) => line.includes('"GET /agent/__healthcheck HTTP/1.1" 200'));
    assert.deepEqual(health.map((line) => line.split(' ')[0]).sort(), [webapp.ip, agent.ip].sort(), agentProxy.join('\n'));
  });

  it('kasm-connect-denied: kasm_api answers kasm_connect 403 for valid cookies and logs the denial', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('kasm-connect-denied', async () => {
        const since = new Date();
        assert.equal((await get(page, cookie)).status, 403);
        assert.equal(await desktopSocket(kasmId, cookie), 'HTTP 403');
        const lines = await dockerLogs(webShell, 'kasm_api', since);
        assert.ok(lines.some((line) => /\[INFO\] cherrypy\.access\.\d+: .* "GET \/api\/kasm_connect\/ HTTP\/1\.0" 403 /.test(line)), lines.join('\n'));
        const warning = `[WARNING] client_api_server: Unauthorized access attempt to kasm (${kasmId}) for user (${lab.env.KASM_USER}) at (`;
        assert.ok(lines.some((line) => line.includes(warning) && line.endsWith('for request (kasm_connect)')), lines.join('\n'));
      });
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('cookie-stripped: the load balancer drops the cookies on /desktop/, so kasm_connect logs 401 and the missing values', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('cookie-stripped', async () => {
        const since = new Date();
        assert.equal((await get(page, cookie)).status, 401);
        assert.equal(await desktopSocket(kasmId, cookie), 'HTTP 401');
        assert.equal((await get('/api/__healthcheck')).status, 200, 'only the session path loses its cookies');
        const lines = await dockerLogs(webShell, 'kasm_api', since);
        assert.equal(lines.filter((line) => line.includes('"GET /api/kasm_connect/ HTTP/1.0" 401')).length, 2, lines.join('\n'));
        assert.ok(lines.some((line) => line.includes('[WARNING] client_api_server: Authenticated request missing required username or token values from (')), lines.join('\n'));
      });
      assert.equal((await get(page, cookie)).status, 200);
      assert.equal(await desktopSocket(kasmId, cookie), 'RFB 003.008\n');
    } finally {
      await destroy(kasmId);
    }
  });

  it('agent-unreachable: WebApp servers cannot reach the agent address Kasm hands out, while the agent answers itself', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('agent-unreachable', async () => {
        const fromWebapp = await webappToAgent();
        assert.ok(CUT_OFF.includes(fromWebapp.exit), `curl from the WebApp exited ${fromWebapp.exit}`);
        assert.equal((await agentLocal()).body, HEALTHY);
        assert.equal((await agentToAuth()).body, HEALTHY, 'the agent still reaches the WebApp');
        assert.equal((await get(page, cookie)).status, 502);
        assert.equal(await desktopSocket(kasmId, cookie), 'HTTP 502');
      });
      assert.equal((await webappToAgent()).body, HEALTHY);
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('upstream-auth-unresolvable: the zone names a host nothing resolves; the agent curl exits 6 at once and sessions fail with 500', async () => {
    const { kasmId, cookie, page } = await openSession();
    const healthy = (await zone()).upstream_auth_address;
    try {
      await withFault('upstream-auth-unresolvable', async () => {
        const since = new Date();
        assert.equal((await zone()).upstream_auth_address, UNRESOLVABLE_AUTH_HOST);
        const resolved = await agentToAuth();
        assert.equal(resolved.exit, 6);
        assert.ok(resolved.ms < 1_000, `curl took ${resolved.ms} ms to fail`);
        assert.equal((await get(page, cookie)).status, 500);
        const errors = (await dockerLogs(agentShell, 'kasm_proxy', since)).map((line) => NGINX_ERROR.exec(line)?.[1]).filter(Boolean);
        assert.ok(errors.includes(`${UNRESOLVABLE_AUTH_HOST} could not be resolved (3: Host not found)`), errors.join('\n'));
        assert.ok(errors.includes('auth request unexpected status: 502 while sending to client'), errors.join('\n'));
      });
      assert.equal((await zone()).upstream_auth_address, healthy);
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('upstream-auth-unreachable: the zone names a WebApp port where nothing listens; the agent curl exits 7 and sessions fail with 500', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('upstream-auth-unreachable', async () => {
        const since = new Date();
        const address = (await zone()).upstream_auth_address;
        assert.match(address, new RegExp(`^${webapp.ip.replaceAll('.', '\\.')}:\\d+$`));
        assert.notEqual(address, `${webapp.ip}:${webapp.proxyPort}`);
        assert.equal((await agentToAuth()).exit, 7);
        assert.equal((await get(page, cookie)).status, 500);
        const errors = (await dockerLogs(agentShell, 'kasm_proxy', since)).filter((line) => NGINX_ERROR.test(line));
        assert.ok(errors.some((line) => line.includes('connect() failed (111: Connection refused) while connecting to upstream') && line.includes(`upstream: "https://${address}/api/internal_auth/"`)), errors.join('\n'));
      });
      assert.equal((await agentToAuth()).body, HEALTHY);
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('internal-auth-denied: kasm_api answers internal_auth 403 and logs it, so the agent refuses the session', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('internal-auth-denied', async () => {
        const since = new Date();
        assert.equal((await get(page, cookie)).status, 403);
        const lines = await dockerLogs(webShell, 'kasm_api', since);
        assert.ok(lines.some((line) => line.includes('"GET /api/kasm_connect/ HTTP/1.0" 202')), 'the WebApp hop still authorizes');
        assert.ok(lines.some((line) => /\[INFO\] cherrypy\.access\.\d+: .* "GET \/api\/internal_auth\/ HTTP\/1\.1" 403 /.test(line)), lines.join('\n'));
        assert.ok(lines.some((line) => line.includes('[WARNING] client_api_server: Unauthorized access attempt to kasm (') && line.endsWith('for request (internal_auth)')), lines.join('\n'));
        assert.ok((await dockerLogs(agentShell, 'kasm_proxy', since)).some((line) => line.includes(`"GET ${page} HTTP/1.1" 403`)));
      });
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('container-unhealthy: docker ps shows kasm_agent (unhealthy) while sessions keep working', async () => {
    const kasmAgent = async () => (await run(agentShell, 'sudo -n docker ps -a')).stdout.split('\n').find((line) => line.endsWith(' kasm_agent')) ?? '';
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('container-unhealthy', async () => {
        assert.match(await kasmAgent(), /Up .* \(unhealthy\) /);
        assert.equal((await get(page, cookie)).status, 200);
        assert.equal(await desktopSocket(kasmId, cookie), 'RFB 003.008\n');
      });
      assert.match(await kasmAgent(), /Up .* \(healthy\) /);
    } finally {
      await destroy(kasmId);
    }
  });

  it('proxy-not-listening: the port leaves ss -ltn, local curls are refused and clients get 502', async () => {
    const listening = async () => (await run(webShell, 'ss -ltn')).stdout.includes(`0.0.0.0:${webapp.proxyPort} `);
    assert.ok(await listening());
    await withFault('proxy-not-listening', async () => {
      await waitFor('kasm_proxy to stop listening', async () => !(await listening()));
      assert.equal((await webappLocal()).exit, 7);
      const client = await get('/api/__healthcheck');
      assert.equal(client.status, 502);
      assert.match(client.body, /<center><h1>502 Bad Gateway<\/h1><\/center>/);
      assert.match((await run(webShell, 'sudo -n docker ps -a')).stdout, /Up .* kasm_proxy\n/);
    });
    await waitFor('kasm_proxy to listen again', listening);
    assert.equal((await webappLocal()).body, HEALTHY);
    assert.equal((await get('/api/__healthcheck')).status, 200);
  });

  it('host-firewall: ufw and iptables block the agent port, which still listens but refuses even the agent itself', async () => {
    await withFault('host-firewall', async () => {
      const ufw = await run(agentShell, 'sudo -n ufw status verbose');
      assert.match(ufw.stdout, /^Status: active\n/);
      assert.match(ufw.stdout, new RegExp(`\\n${agent.proxyPort}/tcp +DENY IN +Anywhere`));
      assert.ok((await run(agentShell, 'sudo -n iptables -S')).stdout.includes(`-A INPUT -p tcp -m tcp --dport ${agent.proxyPort} -j DROP\n`));
      assert.ok((await run(agentShell, 'ss -ltn')).stdout.includes(`0.0.0.0:${agent.proxyPort} `), 'the socket still listens');
      const local = await agentLocal();
      assert.ok(CUT_OFF.includes(local.exit), `the agent's own curl exited ${local.exit}`);
      assert.ok(CUT_OFF.includes((await webappToAgent()).exit));
    });
    assert.equal((await run(agentShell, 'sudo -n ufw status verbose')).stdout, 'Status: inactive\n');
    assert.ok(!(await run(agentShell, 'sudo -n iptables -S')).stdout.includes(`--dport ${agent.proxyPort} -j DROP`));
    assert.equal((await agentLocal()).body, HEALTHY);
  });

  it('proxy-stale-dns: kasm_proxy answers /api/ with 502 and logs the resolver error while kasm_api answers on its own port', async () => {
    const { kasmId, cookie, page } = await openSession();
    try {
      await withFault('proxy-stale-dns', async () => {
        const since = new Date();
        assert.equal((await get('/api/__healthcheck')).status, 502);
        const local = await run(webShell, `curl -sk -o /dev/null -w '%{http_code}' 'https://${webapp.ip}:${webapp.proxyPort}/api/__healthcheck'`);
        assert.equal(local.stdout, '502');
        assert.equal((await curl(webShell, `http://${webapp.ip}:${lab.api.port}/api/__healthcheck`)).body, HEALTHY);
        assert.match((await run(webShell, 'sudo -n docker ps -a')).stdout, /Up .* kasm_api\n/);
        assert.equal((await get(page, cookie)).status, 500);
        const lines = await dockerLogs(webShell, 'kasm_proxy', since);
        const resolver = lines.map((line) => NGINX_ERROR.exec(line)).filter((match) => match?.[1] === 'kasm-api could not be resolved (3: Host not found)');
        assert.ok(resolver.some((match) => match![2] === 'GET /api/__healthcheck HTTP/1.1'), lines.join('\n'));
        assert.ok(resolver.some((match) => match![2] === `GET ${page} HTTP/1.1` && match![0].includes('subrequest: "/kasm_connect"')), lines.join('\n'));
      });
      assert.equal((await get('/api/__healthcheck')).body, HEALTHY);
      assert.equal((await get(page, cookie)).status, 200);
    } finally {
      await destroy(kasmId);
    }
  });

  it('switches every fault on and off in rounds and ends healthy', { timeout: 60_000 }, async () => {
    const names = Object.keys(FAULTS).filter((n) => !REAL_ONLY_FAULTS.has(n as FaultName));
    for (let round = 0; round < 3; round++) {
      for (const name of names) {
        lab.faults.set([name]);
        lab.faults.set([]);
      }
      lab.faults.set(names);
      await new Promise((resolve) => setTimeout(resolve, 100));
      lab.faults.set([]);
    }
    await waitFor('the load balancer to answer again', async () => (await get('/api/__healthcheck')).body === HEALTHY);
    assert.equal((await run(webShell, 'ss -ltn')).stdout.includes(`0.0.0.0:${webapp.proxyPort} `), true);
    assert.equal((await run(agentShell, 'sudo -n ufw status')).stdout, 'Status: inactive\n');
    assert.match((await run(agentShell, 'sudo -n docker ps -a')).stdout, /\(healthy\) .* kasm_agent\n/);
    assert.equal((await zone()).upstream_auth_address, `${webapp.ip}:${webapp.proxyPort}`);
    assert.deepEqual([(await webappToAgent()).body, (await agentLocal()).body, (await agentToAuth()).body, (await webappLocal()).body], [HEALTHY, HEALTHY, HEALTHY, HEALTHY]);
    const { kasmId, cookie, page } = await openSession();
    try {
      assert.equal((await get(page, cookie)).status, 200);
      assert.equal(await desktopSocket(kasmId, cookie), 'RFB 003.008\n');
    } finally {
      await destroy(kasmId);
    }
  });
});
