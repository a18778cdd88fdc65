// The faults around the session's KasmVNC and the calls that configure a workspace, driven against the single lab
// parts they live in (the load balancer in front of a KasmVNC stand-in, one kasm_api) instead of a whole lab.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import selfsigned from 'selfsigned';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { groupByHandler, judgeHandlers, parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';
import { Faults } from '../../lab/faults.ts';
import { hex32, KasmApi, newImage, newStore, newUser, type LabImage, type UpdateImageForm } from '../../lab/kasm-api.ts';
import { startKasmVnc, type KasmVncHandle } from '../../lab/kasmvnc.ts';
import { startEntry, type Listening } from '../../lab/proxy.ts';
import { ContainerLog } from '../../lab/state.ts';

const PASSWORD = 'per-session-Vnc-pw';
const OWNER = { Authorization: `Basic ${Buffer.from(`kasm_user:${PASSWORD}`).toString('base64')}` };
const MISSING_PROTOCOL = '/websockify request failed websocket checks, missing Sec-WebSocket-Protocol header';

describe('websocket-malformed: the load balancer drops Sec-WebSocket-Protocol from /websockify upgrades', () => {
  const root = mkdtempSync(join(tmpdir(), 'lab-malformed-'));
  const logFile = join(root, 'kasm:1.log');
  const faults = new Faults(root);
  let vnc: KasmVncHandle;
  let entry: Listening;

  before(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
    const tls = { key: pems.private, cert: pems.cert };
    vnc = await startKasmVnc({ host: '127.0.0.1', tls, password: PASSWORD, logFile, faults: () => faults.active });
    entry = await startEntry({ host: '127.0.0.1', tls, webapps: () => [{ host: '127.0.0.1', port: vnc.port }], faults, idleCutMs: 60_000 });
  });
  after(async () => {
    await entry.close();
    await vnc.close();
    rmSync(root, { recursive: true, force: true });
  });

  const viewer = (path: string) => new WebSocket(`wss://127.0.0.1:${entry.port}${path}`, ['binary'], { headers: OWNER, origin: `https://127.0.0.1:${entry.port}`, rejectUnauthorized: false });
  const refusal = async (ws: WebSocket) => {
    ws.on('error', () => {});
    const [req, res] = (await once(ws, 'unexpected-response')) as [{ destroy(): void }, IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    req.destroy();
    return { status: res.statusCode, server: res.headers.server, body: Buffer.concat(chunks).toString('latin1') };
  };

  /** The upgrade went through with its subprotocol: KasmVNC answers with the RFB banner. */
  const expectBanner = async (ws: WebSocket) => {
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(ws.protocol, 'binary');
    assert.equal(data.toString('latin1'), 'RFB 003.008\n');
    ws.close();
    await once(ws, 'close');
  };

  it('without the fault the upgrade through the load balancer gets the binary protocol and the RFB banner', async () => {
    await expectBanner(viewer('/websockify'));
  });

  it('KasmVNC answers 404 as a file request and logs the missing header, which the parser blames on the path', async () => {
    faults.set(['websocket-malformed']);
    try {
      assert.deepEqual(await refusal(viewer('/websockify')), { status: 404, server: 'KasmVNC/4.0', body: '404' });
    } finally {
      faults.set([]);
    }
    const text = readFileSync(logFile, 'utf8');
    const failed = text.split('\n').filter((line) => line.includes('failed websocket checks'));
    assert.equal(failed.length, 1, text);
    assert.match(failed[0]!, new RegExp(`^ \\S+ \\S+ \\[INFO\\] websocket \\d+: ${MISSING_PROTOCOL}$`));
    const group = groupByHandler(parseKasmVncLog(text).entries).find((g) => g.failedChecks !== undefined)!;
    assert.deepEqual(
      { path: group.path, status: group.status, result: group.result, auth: group.auth, failedChecks: group.failedChecks },
      { path: '/websockify', status: 404, result: 'rejected', auth: 'matched', failedChecks: 'missing Sec-WebSocket-Protocol header' },
    );
    assert.deepEqual(
      judgeHandlers([group]).map((f) => [f.severity, f.message]),
      [['fail', `handler ${group.id} (GET /websockify): KasmVNC could not identify the /websockify request as a websocket: missing Sec-WebSocket-Protocol header`]],
    );
  });

  it('upgrades to other paths keep the header', async () => {
    faults.set(['websocket-malformed']);
    try {
      await expectBanner(viewer('/other'));
    } finally {
      faults.set([]);
    }
  });
});

describe('update_image: the admin form and the public form KasmLink uses', () => {
  const root = mkdtempSync(join(tmpdir(), 'lab-update-image-'));
  const faults = new Faults(root);
  const apiKey = 'key-1';
  const apiSecret = 'secret-1';
  const apis: KasmApi[] = [];
  const image = (): LabImage => newImage('1.18.1');

  const startApi = async (updateImageForms?: UpdateImageForm[]) => {
    const images = [image()];
    const api = new KasmApi({
      host: '127.0.0.1',
      store: newStore(),
      apiKey,
      apiSecret,
      users: [newUser('synthetic@kasm.local')],
      images,
      zones: [],
      agents: [],
      launcher: { launch: () => Promise.reject(new Error('no sessions in this test')), destroy: () => Promise.resolve() },
      log: new ContainerLog(join(root, `api-${apis.length}.log`)),
      faults,
      proxyContainerIp: '172.18.0.9',
      ...(updateImageForms ? { updateImageForms } : {}),
    });
    await api.listen();
    apis.push(api);
    const call = async (path: string, body: Record<string, unknown>) => {
      const res = await request(`http://127.0.0.1:${api.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey, api_key_secret: apiSecret, ...body }) });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    return { image: images[0]!, call };
  };

  after(async () => {
    for (const api of apis) await api.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('the public form takes workspace, keeps a string run_config as sent and stores an object as its JSON', async () => {
    const { image: saved, call } = await startApi();
    const text = '{ "environment": { "KASM_DEBUG": 1 } }';
    const asText = await call('/api/public/update_image', { workspace: { image_id: saved.image_id, run_config: text } });
    assert.equal(asText.status, 200);
    assert.equal((asText.body.image as LabImage).run_config, text);
    assert.equal(saved.run_config, text);

    const asObject = await call('/api/public/update_image', { workspace: { image_id: saved.image_id, run_config: { environment: { KASM_DEBUG: 1 } }, exec_config: { first_launch: { cmd: 'true' } } } });
    assert.equal(asObject.status, 200);
    assert.deepEqual([saved.run_config, saved.exec_config], ['{"environment":{"KASM_DEBUG":1}}', '{"first_launch":{"cmd":"true"}}']);
    assert.deepEqual(asObject.body, { image: JSON.parse(JSON.stringify(saved)) });
    const images = (await call('/api/public/get_images', {})).body.images as LabImage[];
    assert.equal(images[0]!.run_config, '{"environment":{"KASM_DEBUG":1}}');
  });

  it('both forms answer an unknown image alike, and the admin form still takes target_image', async () => {
    const { image: saved, call } = await startApi();
    const missing = { image_id: hex32(), run_config: '{}' };
    assert.deepEqual(await call('/api/public/update_image', { workspace: missing }), { status: 200, body: { error_message: 'Image not found' } });
    assert.deepEqual(await call('/api/admin/update_image', { target_image: missing }), { status: 200, body: { error_message: 'Image not found' } });
    const admin = await call('/api/admin/update_image', { target_image: { image_id: saved.image_id, run_config: { hostname: 'kasm-admin' } } });
    assert.equal(admin.status, 200);
    assert.equal(saved.run_config, '{"hostname":"kasm-admin"}');
  });

  it('a lab offering only the admin form answers the public one as it answers any unknown call', async () => {
    const { image: saved, call } = await startApi(['admin']);
    const before = saved.run_config;
    assert.deepEqual(await call('/api/public/update_image', { workspace: { image_id: saved.image_id, run_config: '{"x":1}' } }), { status: 404, body: { error_message: 'Unknown API call update_image' } });
    assert.deepEqual(await call('/api/public/no_such_call', {}), { status: 404, body: { error_message: 'Unknown API call no_such_call' } });
    assert.equal(saved.run_config, before);
    assert.equal((await call('/api/admin/update_image', { target_image: { image_id: saved.image_id, run_config: '{"x":2}' } })).status, 200);
    assert.equal(saved.run_config, '{"x":2}');
  });

  it('a lab offering only the public form answers the admin one as it answers any unknown admin call', async () => {
    const { image: saved, call } = await startApi(['public']);
    assert.deepEqual(await call('/api/admin/update_image', { target_image: { image_id: saved.image_id, run_config: '{"x":1}' } }), { status: 404, body: { error_message: 'Unknown admin API call update_image' } });
    assert.deepEqual(await call('/api/admin/no_such_call', {}), { status: 404, body: { error_message: 'Unknown admin API call no_such_call' } });
    assert.equal((await call('/api/public/update_image', { workspace: { image_id: saved.image_id, run_config: '{"x":3}' } })).status, 200);
    assert.equal(saved.run_config, '{"x":3}');
  });
});
