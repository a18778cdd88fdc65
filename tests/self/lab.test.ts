// The lab must behave like the Kasm facts say: API shapes and errors, the auth sub-requests, the log layouts,
// the WebSocket access line written at close, the web app's own calls, and each fault's one broken thing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { createDispatcher, lookup } from '../../helpers/net.ts';
import { FAULTS, FaultNeedsRealLabError, REAL_ONLY_FAULTS, type FaultName } from '../../lab/faults.ts';
import { FOREIGN_ZONE_HOST, startLab, type Lab } from '../../lab/index.ts';
import { paths, readJson, type ContainerState } from '../../lab/state.ts';
import { waitFor } from './wait.ts';

const CHERRYPY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[INFO\] cherrypy\.access\.\d+: \S+ - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\] "(\w+) (\S+) (HTTP\/1\.[01])" (\d{3}) (\d+|-) "[^"]*" "[^"]*"$/;
// Short, so the idle-cut test waits little; the cut only happens while that fault is on.
const IDLE_CUT_MS = 300;

const NGINX = /^\S+ - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "(\w+) (\S+) HTTP\/1\.1" (\d{3}) (\d+) "[^"]*" "[^"]*" "[^"]*"$/;

describe('embedded lab', () => {
  let lab: Lab;
  let dispatcher: Dispatcher;
  let userId: string;
  let imageId: string;

  const post = async (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await request(new URL(path, lab.url), { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const api = (name: string, body: Record<string, unknown> = {}) => post(`/api/public/${name}`, { api_key: lab.env.KASM_API_KEY, api_key_secret: lab.env.KASM_API_SECRET, ...body });
  const logOf = (hostId: string, container: string) =>
    readFileSync(join(paths.container(lab.root, hostId, container), 'log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf(' ') + 1));
  const authenticate = async (body: Record<string, unknown>) => {
    const res = await request(new URL('/api/authenticate', lab.url), { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await res.body.text();
    return { status: res.statusCode, setCookie: ([] as string[]).concat(res.headers['set-cookie'] ?? []) };
  };
  const withFault = async (name: FaultName, run: () => Promise<void>) => {
    lab.faults.set([name]);
    try {
      await run();
    } finally {
      lab.faults.set([]);
    }
  };
  /** A running session and the cookies its one-time link signs the browser in with. */
  const openSession = async () => {
    const created = await api('request_kasm', { user_id: userId, image_id: imageId });
    const kasmId = String(created.body.kasm_id);
    await lab.api.sessions.get(kasmId)!.ready;
    const login = await authenticate({ user_id: userId, token: String(created.body.kasm_url).split('/').pop() });
    return { kasmId, cookies: cookieHeader(login.setCookie) };
  };
  const destroy = (kasmId: string) => api('destroy_kasm', { user_id: userId, kasm_id: kasmId });
  const desktopSocket = (kasmId: string, cookies: string) =>
    new WebSocket(`${lab.url.replace('https', 'wss')}/desktop/${kasmId}/vnc/websockify`, ['binary'], { headers: { Cookie: cookies, Origin: lab.url }, rejectUnauthorized: false, lookup });

  before(async () => {
    lab = await startLab({ idleCutMs: IDLE_CUT_MS });
    dispatcher = createDispatcher({ insecureTls: true, connectTimeoutMs: 5_000 });
    userId = String(((await api('get_user', { target_user: { username: lab.env.KASM_USER } })).body.user as { user_id: string }).user_id);
    const images = (await api('get_images')).body.images as Array<{ image_id: string; friendly_name: string }>;
    imageId = images.find((i) => i.friendly_name === lab.env.KASM_WORKSPACE)!.image_id;
  });
  after(async () => {
    await dispatcher?.close();
    await lab?.stop();
  });

  it('answers the health check with the exact body Kasm sends', async () => {
    const res = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), '{"ok": true}');
  });

  it('accepts both credential styles and refuses a wrong secret with an error_message', async () => {
    assert.equal((await api('get_zones')).status, 200);
    const basic = Buffer.from(`${lab.env.KASM_API_KEY}:${lab.env.KASM_API_SECRET}`).toString('base64');
    const viaBasic = await post('/api/get_zones', {}, { authorization: `Basic ${basic}` });
    assert.equal(viaBasic.status, 200);
    assert.equal((viaBasic.body.zones as unknown[]).length, 1);
    const wrong = await post('/api/public/get_zones', { api_key: lab.env.KASM_API_KEY, api_key_secret: 'nope' });
    assert.equal(wrong.status, 403);
    assert.equal(typeof wrong.body.error_message, 'string');
  });

  it('creates a session, rotates its link on get_kasm_status, and destroys it', async () => {
    const created = await api('request_kasm', { user_id: userId, image_id: imageId });
    assert.equal(created.body.status, 'starting');
    const kasmId = String(created.body.kasm_id);
    assert.match(String(created.body.kasm_url), new RegExp(`^/#/connect/kasm/${kasmId}/${userId}/[0-9a-f-]{36}$`));
    await lab.api.sessions.get(kasmId)!.ready;
    const status = await api('get_kasm_status', { user_id: userId, kasm_id: kasmId });
    assert.equal(status.body.operational_status, 'running');
    assert.equal((status.body.kasm as { kasm_id: string }).kasm_id, kasmId);
    const oldToken = String(created.body.kasm_url).split('/').pop();
    const stale = await post('/api/authenticate', { user_id: userId, token: oldToken });
    assert.equal(stale.status, 403, 'the link from request_kasm must be invalid after get_kasm_status');
    const agent = lab.hosts.find((h) => h.role === 'agent')!;
    const container = lab.api.sessions.get(kasmId)!.container!;
    const state = readJson<ContainerState>(join(paths.container(lab.root, agent.id, container.containerName), 'container.json'));
    assert.equal(state.env.VNC_PW, container.vncPassword);
    assert.deepEqual((await api('destroy_kasm', { user_id: userId, kasm_id: kasmId })).body, {});
    const gone = await api('get_kasm_status', { user_id: userId, kasm_id: kasmId });
    assert.equal(typeof gone.body.error_message, 'string');
  });

  it('refuses desktop requests without the session cookies at kasm_connect (401) and logs it like CherryPy', async () => {
    const res = await request(new URL('/desktop/4fa42139-aef3-4c86-929a-e479cda68857/vnc/vnc.html', lab.url), { dispatcher });
    await res.body.text();
    assert.equal(res.statusCode, 401);
    const webapp = lab.hosts.find((h) => h.role === 'webapp')!;
    const lines = logOf(webapp.id, 'kasm_api');
    const access = lines.filter((line) => CHERRYPY.test(line));
    assert.ok(access.some((line) => line.includes('"GET /api/kasm_connect/ HTTP/1.0" 401')), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('client_api_server: Authenticated request missing required username or token values')));
    assert.ok(logOf(webapp.id, 'kasm_proxy').every((line) => NGINX.test(line)), 'every kasm_proxy line is an nginx main line');
  });

  it('tunnels the websocket through both proxies and writes the agent access line with 101 when it closes', async () => {
    const created = await api('request_kasm', { user_id: userId, image_id: imageId });
    const kasmId = String(created.body.kasm_id);
    await lab.api.sessions.get(kasmId)!.ready;
    const link = String((await api('get_kasm_status', { user_id: userId, kasm_id: kasmId })).body.kasm_url).split('/');
    const login = await request(new URL('/api/authenticate', lab.url), { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId, token: link.pop() }) });
    await login.body.text();
    const cookies = cookieHeader(([] as string[]).concat(login.headers['set-cookie'] ?? []));
    const ws = desktopSocket(kasmId, cookies);
    assert.equal(await firstMessage(ws), 'RFB 003.008\n');
    const agent = lab.hosts.find((h) => h.role === 'agent')!;
    const pattern = new RegExp(`"GET /desktop/${kasmId}/vnc/websockify HTTP/1.1" 101 \\d+`);
    assert.ok(!logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line)), 'nginx writes the websocket line only at close');
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    await waitFor('the agent kasm_proxy websockify line', () => logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line)));
    assert.ok(logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line) && NGINX.test(line)));
    await api('destroy_kasm', { user_id: userId, kasm_id: kasmId });
  });

  it('api-down: the WebApp proxy answers 502 and kasm_api shows as exited until the fault is cleared', async () => {
    const webapp = lab.hosts.find((h) => h.role === 'webapp')!;
    const apiState = () => readJson<ContainerState>(join(paths.container(lab.root, webapp.id, 'kasm_api'), 'container.json')).state;
    lab.faults.set(['api-down']);
    await waitFor('kasm_api to show as exited', () => apiState() === 'exited');
    const down = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(down.statusCode, 502);
    assert.match(await down.body.text(), /<center><h1>502 Bad Gateway<\/h1><\/center>/);
    lab.faults.set([]);
    await waitFor('kasm_api to show as running', () => apiState() === 'running');
    const up = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(up.statusCode, 200);
    await up.body.text();
  });

  it('lets a signed-in browser list its workspaces and launch one with its cookies alone, as the web app does', async () => {
    const login = await authenticate({ username: lab.env.KASM_USER, password: lab.env.KASM_USER_PASSWORD });
    assert.equal(login.status, 200);
    const cookie = cookieHeader(login.setCookie);
    const images = (await post('/api/get_user_images', {}, { cookie })).body.images as Array<{ image_id: string; name: string; friendly_name: string }>;
    const image = images.find((i) => i.friendly_name === lab.env.KASM_WORKSPACE);
    assert.ok(image, JSON.stringify(images));
    assert.deepEqual(Object.keys(image).sort(), ['friendly_name', 'image_id', 'name']);
    assert.equal((await post('/api/request_kasm', { image_id: image.image_id })).status, 401, 'a launch without cookies or API key is refused');
    const created = await post('/api/request_kasm', { image_id: image.image_id }, { cookie });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.status, 'starting');
    assert.equal(created.body.kasm_url, undefined, 'a signed-in browser needs no one-time link');
    const kasmId = String(created.body.kasm_id);
    let kasm: Record<string, unknown> = {};
    await waitFor('the UI-launched session to run', async () => {
      kasm = (await post('/api/get_user_kasm', { kasm_id: kasmId }, { cookie })).body;
      return kasm.operational_status === 'running';
    });
    assert.deepEqual(kasm, { kasm_id: kasmId, operational_status: 'running', proxy_hostname: '$request_host$', proxy_port: 0, proxy_path: 'desktop' });
    await destroy(kasmId);
  });

  it('port-mismatch: zones and the session carry a Proxy Port where nothing listens, until the fault is cleared', async () => {
    const { kasmId, cookies } = await openSession();
    await withFault('port-mismatch', async () => {
      const zone = ((await api('get_zones')).body.zones as Array<{ proxy_port: number }>)[0]!;
      assert.notEqual(zone.proxy_port, 0);
      assert.equal((await post('/api/get_user_kasm', { kasm_id: kasmId }, { cookie: cookies })).body.proxy_port, zone.proxy_port);
      assert.equal(await connectError('127.0.0.1', zone.proxy_port), 'ECONNREFUSED');
    });
    assert.equal(((await api('get_zones')).body.zones as Array<{ proxy_port: number }>)[0]!.proxy_port, 0);
    await destroy(kasmId);
  });

  it('duplicate-cookies: login adds a stale session_token for /desktop, which kasm_connect then refuses', async () => {
    const { kasmId } = await openSession();
    await withFault('duplicate-cookies', async () => {
      const login = await authenticate({ username: lab.env.KASM_USER, password: lab.env.KASM_USER_PASSWORD });
      const tokens = login.setCookie.filter((c) => c.startsWith('session_token='));
      assert.equal(tokens.length, 2, login.setCookie.join('\n'));
      const stale = tokens.find((c) => /;\s*Path=\/desktop(;|$)/.test(c));
      const valid = tokens.find((c) => /;\s*Path=\/(;|$)/.test(c));
      assert.ok(stale && valid, tokens.join('\n'));
      // A browser sends the cookie with the longer path first.
      const cookie = cookieHeader([login.setCookie.find((c) => c.startsWith('username='))!, stale, valid]);
      const res = await request(new URL(`/desktop/${kasmId}/vnc/vnc.html`, lab.url), { dispatcher, headers: { cookie } });
      await res.body.text();
      assert.equal(res.statusCode, 403);
      const webapp = lab.hosts.find((h) => h.role === 'webapp')!;
      const staleValue = stale.split(';')[0]!.split('=')[1]!;
      assert.ok(logOf(webapp.id, 'kasm_api').some((line) => line.includes(`Invalid token (${staleValue.slice(0, 8)}`)));
    });
    assert.equal((await authenticate({ username: lab.env.KASM_USER, password: lab.env.KASM_USER_PASSWORD })).setCookie.filter((c) => c.startsWith('session_token=')).length, 1);
    await destroy(kasmId);
  });

  it('cookie-blocked: login sets session_token with SameSite=None and no Secure, and username as usual', async () => {
    await withFault('cookie-blocked', async () => {
      const login = await authenticate({ username: lab.env.KASM_USER, password: lab.env.KASM_USER_PASSWORD });
      const token = login.setCookie.find((c) => c.startsWith('session_token='))!;
      assert.match(token, /;\s*SameSite=None/i);
      assert.doesNotMatch(token, /;\s*Secure/i);
      assert.match(login.setCookie.find((c) => c.startsWith('username='))!, /;\s*Secure/i);
    });
    const token = (await authenticate({ username: lab.env.KASM_USER, password: lab.env.KASM_USER_PASSWORD })).setCookie.find((c) => c.startsWith('session_token='))!;
    assert.match(token, /;\s*Secure/i);
  });

  it('zone-domain-not-subdomain: zones carry a Proxy Hostname outside the primary domain, until the fault is cleared', async () => {
    const primary = new URL(lab.url).hostname;
    await withFault('zone-domain-not-subdomain', async () => {
      const zone = ((await api('get_zones')).body.zones as Array<{ proxy_hostname: string }>)[0]!;
      assert.equal(zone.proxy_hostname, FOREIGN_ZONE_HOST);
      assert.ok(zone.proxy_hostname !== primary && !zone.proxy_hostname.endsWith(`.${primary}`));
    });
    assert.equal(((await api('get_zones')).body.zones as Array<{ proxy_hostname: string }>)[0]!.proxy_hostname, '$request_host$');
  });

  it('websocket-blocked: the load balancer answers the /websockify upgrade with an nginx 403 page', async () => {
    const { kasmId, cookies } = await openSession();
    await withFault('websocket-blocked', async () => {
      const refused = await unexpectedResponse(desktopSocket(kasmId, cookies));
      assert.equal(refused.status, 403);
      assert.match(refused.body, /<center><h1>403 Forbidden<\/h1><\/center>/);
    });
    const ws = desktopSocket(kasmId, cookies);
    assert.equal(await firstMessage(ws), 'RFB 003.008\n');
    ws.terminate();
    await destroy(kasmId);
  });

  it('websocket-upgrade-stripped: the upgrade reaches KasmVNC as a plain GET, which logs the failed checks and answers 404', async () => {
    const { kasmId, cookies } = await openSession();
    await withFault('websocket-upgrade-stripped', async () => {
      const refused = await unexpectedResponse(desktopSocket(kasmId, cookies));
      assert.equal(refused.status, 404);
      assert.equal(refused.body, '404');
      const agent = lab.hosts.find((h) => h.role === 'agent')!;
      const container = lab.api.sessions.get(kasmId)!.container!;
      const vncLog = readFileSync(join(paths.container(lab.root, agent.id, container.containerName), 'root', 'home', 'kasm-user', '.vnc', `${container.hostname}:1.log`), 'utf8');
      assert.match(vncLog, /\[INFO\] websocket \d+: \/websockify request failed websocket checks, not a GET request, or missing Upgrade header/);
    });
    await destroy(kasmId);
  });

  it('websocket-idle-cut: the load balancer drops the tunnel idleCutMs after the 101, without a close frame', async () => {
    const { kasmId, cookies } = await openSession();
    await withFault('websocket-idle-cut', async () => {
      // Timed from before the request, so the cut (idleCutMs after the 101) can never come sooner than idleCutMs.
      const opened = Date.now();
      const ws = desktopSocket(kasmId, cookies);
      await firstMessage(ws);
      const code = await closed(ws);
      const lived = Date.now() - opened;
      assert.equal(code, 1006, 'a close without a close frame');
      assert.ok(lived >= IDLE_CUT_MS - 5 && lived < IDLE_CUT_MS + 1_500, `cut after ${lived} ms`);
    });
    const ws = desktopSocket(kasmId, cookies);
    await firstMessage(ws);
    await new Promise((resolve) => setTimeout(resolve, IDLE_CUT_MS + 200));
    assert.equal(ws.readyState, WebSocket.OPEN, 'without the fault the tunnel outlives idleCutMs');
    ws.terminate();
    await destroy(kasmId);
  });

  it('no-resources: request_kasm answers 200 with Kasm\'s error_message and creates nothing', async () => {
    const before = lab.api.sessions.size;
    await withFault('no-resources', async () => {
      const refused = await api('request_kasm', { user_id: userId, image_id: imageId });
      assert.equal(refused.status, 200);
      assert.deepEqual(refused.body, { error_message: 'No resources are available' });
      assert.equal(lab.api.sessions.size, before);
    });
    const created = await api('request_kasm', { user_id: userId, image_id: imageId });
    assert.equal(created.body.status, 'starting');
    await lab.api.sessions.get(String(created.body.kasm_id))!.ready;
    await destroy(String(created.body.kasm_id));
  });

  it('switches every fault on and off repeatedly and ends healthy', async () => {
    const webapp = lab.hosts.find((h) => h.role === 'webapp')!;
    const apiState = () => readJson<ContainerState>(join(paths.container(lab.root, webapp.id, 'kasm_api'), 'container.json')).state;
    const names = Object.keys(FAULTS).filter((n) => !REAL_ONLY_FAULTS.has(n as FaultName));
    for (let round = 0; round < 3; round++) {
      for (const name of names) {
        lab.faults.set([name]);
        lab.faults.set([]);
      }
      lab.faults.set(names);
      lab.faults.set([]);
    }
    await waitFor('kasm_api to show as running', () => apiState() === 'running');
    const health = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(await health.body.text(), '{"ok": true}');
    const zone = ((await api('get_zones')).body.zones as Array<{ proxy_hostname: string; proxy_port: number }>)[0]!;
    assert.deepEqual([zone.proxy_hostname, zone.proxy_port], ['$request_host$', 0]);
    const { kasmId, cookies } = await openSession();
    const ws = desktopSocket(kasmId, cookies);
    assert.equal(await firstMessage(ws), 'RFB 003.008\n');
    ws.terminate();
    await destroy(kasmId);
  });

  it('refuses a fault only the real-parts lab has, saying what it needs', () => {
    assert.throws(() => lab.faults.set(['tls-inspecting-proxy']), (error: Error) => error instanceof FaultNeedsRealLabError && /in-process lab has no form of tls-inspecting-proxy: it needs the hosts' own network namespaces/.test(error.message));
    assert.equal(lab.faults.active.size, 0);
  });

  it('refuses unknown faults with the list of known ones', () => {
    assert.throws(() => lab.faults.set(['no-such-fault']), /Unknown lab fault "no-such-fault"; known: api-down/);
  });
});

const cookieHeader = (setCookie: string[]) => setCookie.map((c) => c.split(';')[0]).join('; ');

/** Every wait on a socket is bounded, so a lab that never answers fails the test instead of hanging the run. */
function within<T>(what: string, ms: number, start: (resolve: (value: T) => void, reject: (error: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    start(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function firstMessage(ws: WebSocket): Promise<string> {
  return within('the first websocket message', 5_000, (resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(data.toString('latin1')));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return within('the websocket close', 5_000, (resolve) => ws.once('close', (code: number) => resolve(code)));
}

/** The HTTP answer to an upgrade that did not become a WebSocket. */
function unexpectedResponse(ws: WebSocket): Promise<{ status: number; body: string }> {
  return within('the answer to the upgrade', 5_000, (resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('open', () => reject(new Error('the upgrade went through')));
    ws.once('error', reject);
  });
}

function connectError(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('lab env files', () => {
  it('read back the same in a shell (set -a; . lab.env) as they were written, spaces and quotes included', async () => {
    const { envFileText } = await import('../../lab/state.ts');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kasm-envfile-'));
    try {
      const file = join(dir, 'lab.env');
      writeFileSync(file, envFileText({ KASM_WORKSPACE: 'Ubuntu Jammy', KASM_TRICKY: "it's $HOME `x`" }));
      const out = execFileSync('/bin/bash', ['-c', 'set -a; . "$1"; set +a; printf "%s\\n%s" "$KASM_WORKSPACE" "$KASM_TRICKY"', 'bash', file], { encoding: 'utf8' });
      assert.equal(out, "Ubuntu Jammy\nit's $HOME `x`");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keep the secrets in lab.local.env, so KASM_ENV_FILE=<lab>/lab.env is accepted and reads both', async () => {
    const { writeLabEnvironment } = await import('../../lab/state.ts');
    const { readEnvironmentFiles } = await import('../../helpers/config.ts');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'kasm-envfile-'));
    try {
      const { envFile } = writeLabEnvironment({ root, url: 'https://kasm.localhost:4443', apiKey: 'k', apiSecret: 's3cret-api', user: { username: 'synthetic@kasm.local', password: 'pw-s3cret' }, workspace: 'Ubuntu Jammy', ssh: { webapp: ['kasm@198.18.0.11'], agents: [], keyFile: '/k', knownHostsFile: '/h' }, ports: {} });
      assert.ok(!readFileSync(envFile, 'utf8').includes('s3cret'), 'lab.env holds no secret');
      const { variables, files } = readEnvironmentFiles({ KASM_ENV_FILE: envFile });
      assert.equal(files.length, 2);
      assert.equal(variables.KASM_API_SECRET, 's3cret-api');
      assert.equal(variables.KASM_USER_PASSWORD, 'pw-s3cret');
      assert.equal(variables.KASM_WORKSPACE, 'Ubuntu Jammy');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
