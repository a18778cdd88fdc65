// The lab must behave like the Kasm facts say: API shapes and errors, the auth sub-requests, the log layouts,
// the WebSocket access line written at close, and the api-down fault.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { createDispatcher, lookup } from '../../helpers/net.ts';
import { startLab, type Lab } from '../../lab/index.ts';
import { paths, readJson, type ContainerState } from '../../lab/state.ts';

const CHERRYPY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[INFO\] cherrypy\.access\.\d+: \S+ - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\] "(\w+) (\S+) (HTTP\/1\.[01])" (\d{3}) (\d+|-) "[^"]*" "[^"]*"$/;
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

  before(async () => {
    lab = await startLab();
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
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const ws = new WebSocket(`${lab.url.replace('https', 'wss')}/desktop/${kasmId}/vnc/websockify`, ['binary'], {
      headers: { Cookie: cookies, Origin: lab.url },
      rejectUnauthorized: false,
      lookup,
    });
    const banner = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString('latin1')));
      ws.once('error', reject);
    });
    assert.equal(banner, 'RFB 003.008\n');
    const agent = lab.hosts.find((h) => h.role === 'agent')!;
    const pattern = new RegExp(`"GET /desktop/${kasmId}/vnc/websockify HTTP/1.1" 101 \\d+`);
    assert.ok(!logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line)), 'nginx writes the websocket line only at close');
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    await waitFor(() => logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line)));
    assert.ok(logOf(agent.id, 'kasm_proxy').some((line) => pattern.test(line) && NGINX.test(line)));
    await api('destroy_kasm', { user_id: userId, kasm_id: kasmId });
  });

  it('api-down: the WebApp proxy answers 502 and kasm_api shows as exited until the fault is cleared', async () => {
    const webapp = lab.hosts.find((h) => h.role === 'webapp')!;
    const apiState = () => readJson<ContainerState>(join(paths.container(lab.root, webapp.id, 'kasm_api'), 'container.json')).state;
    lab.faults.set(['api-down']);
    await waitFor(() => apiState() === 'exited');
    const down = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(down.statusCode, 502);
    assert.match(await down.body.text(), /<center><h1>502 Bad Gateway<\/h1><\/center>/);
    lab.faults.set([]);
    await waitFor(() => apiState() === 'running');
    const up = await request(new URL('/api/__healthcheck', lab.url), { dispatcher });
    assert.equal(up.statusCode, 200);
    await up.body.text();
  });

  it('refuses unknown faults with the list of known ones', () => {
    assert.throws(() => lab.faults.set(['no-such-fault']), /Unknown lab fault "no-such-fault"; known: api-down/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
