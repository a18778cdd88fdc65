import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import selfsigned from 'selfsigned';
import { WebSocket, type RawData } from 'ws';
import { parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';
import { vncAuthResponse } from '../../helpers/probes/rfb.ts';
import { startKasmVnc, type KasmVncHandle } from '../../lab/kasmvnc.ts';
import { waitFor } from './wait.ts';

const PASSWORD = 'per-session-Vnc-pw';
const KASM_ID = '5005adab-5fa1-475b-b1ba-22232d66a98a';
const WS_LINE = /^ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(DEBUG|INFO)\] websocket (\d+): (.*)$/;
const MODULE_LINE = /^ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(DEBUG|INFO|PRIO)\] (\w+): (.*)$/;
// websockify.c frames at most DBUFSIZE bytes of RFB per WebSocket message.
const MAX_FRAME_PAYLOAD = 49132;

let vnc: KasmVncHandle;
let dir: string;
let logFile: string;

before(async () => {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
  dir = mkdtempSync(join(tmpdir(), 'lab-kasmvnc-'));
  logFile = join(dir, 'home', 'kasm-user', '.vnc', 'kasm-test:1.log');
  vnc = await startKasmVnc({ host: '127.0.0.1', tls: { key: pems.private, cert: pems.cert }, password: PASSWORD, logFile });
});

after(async () => {
  await vnc.close();
  rmSync(dir, { recursive: true, force: true });
});

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

const OWNER = { Authorization: basic('kasm_user', PASSWORD) };

interface Reply {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: vnc.port, path, headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The dated lines, after the banner Xvnc prints as it starts. */
function logLines(): string[] {
  const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  assert.match(lines[0] ?? '', /^Xvnc KasmVNC \S+ - built /, 'the log starts with the Xvnc banner');
  return lines.slice(lines.findIndex((line) => line.startsWith('Underlying X server release')) + 1);
}

/** The troubleshooting guide's advice: group websocket lines by handler id. */
function handlers(): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const line of logLines()) {
    const match = WS_LINE.exec(line);
    if (!match) continue;
    const id = Number(match[2]);
    groups.set(id, [...(groups.get(id) ?? []), `[${match[1]}] ${match[3]}`]);
  }
  return groups;
}

function handlerWith(text: string): string[] {
  const group = [...handlers().values()].find((lines) => lines.some((line) => line.includes(text)));
  assert.ok(group, `no handler logged a line containing ${JSON.stringify(text)}; log:\n${logLines().join('\n')}`);
  return group;
}

/** Xvnc's own lines for one viewer, from `Connections: accepted` to `closed` of its endpoint (`kasm_user@<ip>_...`). */
function xvncLinesOf(ip: string): string[] {
  const lines = logLines().filter((line) => !WS_LINE.test(line)).map((line) => line.replace(/^ \S+ \S+ /, ''));
  const from = lines.findIndex((line) => line.startsWith(`[PRIO] Connections: accepted: kasm_user@${ip}_`));
  const to = lines.findIndex((line, i) => i > from && line.startsWith(`[PRIO] Connections: closed: kasm_user@${ip}_`));
  assert.ok(from !== -1, `no viewer from ${ip} was accepted:\n${lines.join('\n')}`);
  return lines.slice(from, to === -1 ? undefined : to + 1);
}

function assertInOrder(lines: string[], expected: Array<string | RegExp>): void {
  let from = 0;
  for (const wanted of expected) {
    const matches = (line: string) => (typeof wanted === 'string' ? line === wanted : wanted.test(line));
    const at = lines.findIndex((line, i) => i >= from && matches(line));
    assert.ok(at !== -1, `expected ${String(wanted)} after line ${from} in:\n${lines.join('\n')}`);
    from = at + 1;
  }
}


/** RFB over WebSocket arrives in arbitrary slices; reads wait until enough bytes have come. */
class RfbStream {
  private buffered: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  largestMessage = 0;

  constructor(ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.largestMessage = Math.max(this.largestMessage, chunk.length);
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
  }

  async read(size: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < size) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${size} RFB bytes (have ${this.buffered.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const out = this.buffered.subarray(0, size);
    this.buffered = this.buffered.subarray(size);
    return out;
  }
}

/** A viewer's side of the handshake up to ServerInit: RFB 3.8, VncAuth answered with `password`, a shared ClientInit. */
async function handshake(ws: WebSocket, stream: RfbStream, password = ''): Promise<Buffer> {
  assert.equal((await stream.read(12)).toString('latin1'), 'RFB 003.008\n');
  ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
  const count = (await stream.read(1)).readUInt8(0);
  assert.deepEqual([...(await stream.read(count))], [2], 'KasmVNC offers VncAuth alone');
  ws.send(Buffer.from([2]));
  const challenge = await stream.read(16);
  ws.send(vncAuthResponse(challenge, password));
  assert.equal((await stream.read(4)).readUInt32BE(0), 0, 'SecurityResult OK');
  ws.send(Buffer.from([1]));
  const init = await stream.read(24);
  return Buffer.concat([init, await stream.read(init.readUInt32BE(20))]);
}

function updateRequest(incremental: boolean, width: number, height: number): Buffer {
  const message = Buffer.alloc(10);
  message.writeUInt8(3, 0);
  message.writeUInt8(incremental ? 1 : 0, 1);
  message.writeUInt16BE(width, 6);
  message.writeUInt16BE(height, 8);
  return message;
}

async function readRawUpdate(stream: RfbStream): Promise<{ x: number; y: number; w: number; h: number; pixels: Buffer }> {
  const header = await stream.read(4);
  assert.equal(header.readUInt8(0), 0, 'FramebufferUpdate message type');
  assert.equal(header.readUInt16BE(2), 1, 'one rectangle');
  const rect = await stream.read(12);
  assert.equal(rect.readInt32BE(8), 0, 'Raw encoding');
  const [x, y, w, h] = [rect.readUInt16BE(0), rect.readUInt16BE(2), rect.readUInt16BE(4), rect.readUInt16BE(6)];
  return { x, y, w, h, pixels: await stream.read(w * h * 4) };
}

describe('KasmVNC stand-in: HTTP Basic auth and static files', () => {
  test('a request without credentials gets 401 with the Websockify realm', async () => {
    const reply = await get('/vnc.html');
    assert.equal(reply.status, 401);
    assert.equal(reply.headers['www-authenticate'], 'Basic realm="Websockify"');
    const lines = handlerWith("Authentication attempt failed, BasicAuth required, but client didn't send any");
    assert.ok(lines.some((line) => /^\[INFO\] 127\.0\.0\.1 127\.0\.0\.1 - "GET \/vnc\.html HTTP\/1\.1" 401 \d+$/.test(line)), lines.join('\n'));
  });

  test('a wrong password gets status 401 with the reason Forbidden', async () => {
    const reply = await get('/vnc.html', { Authorization: basic('kasm_user', 'not-it') });
    assert.equal(reply.status, 401);
    assert.equal(reply.reason, 'Forbidden');
    handlerWith('[INFO] Authentication attempt failed, wrong password for user kasm_user');
  });

  test('an unknown user is reported as missing and as a wrong password, like real KasmVNC', async () => {
    const reply = await get('/vnc.html', { Authorization: basic('bob', PASSWORD) });
    assert.equal(reply.status, 401);
    assert.equal(reply.reason, 'Forbidden');
    const lines = handlerWith('user bob does not exist');
    assertInOrder(lines, ['[INFO] Authentication attempt failed, user bob does not exist', '[INFO] Authentication attempt failed, wrong password for user bob']);
  });

  test('an oversized Basic header gets 403', async () => {
    const reply = await get('/vnc.html', { Authorization: `Basic ${'A'.repeat(300)}` });
    assert.equal(reply.status, 403);
    handlerWith('[INFO] Authentication attempt failed, client sent invalid BasicAuth');
  });

  test('vnc.html is served with the KasmVNC server header and logged with the forwarded address', async () => {
    const reply = await get(`/vnc.html?autoconnect=1&path=desktop/${KASM_ID}/vnc/websockify`, { ...OWNER, 'X-Forwarded-For': '10.0.0.7, 172.18.0.9' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.server, 'KasmVNC/4.0');
    assert.equal(reply.headers['content-type'], 'text/html');
    assert.match(reply.body.toString('utf8'), /<canvas id="screen"/);
    const lines = handlerWith("Requested file '/vnc.html'");
    assertInOrder(lines, [
      '[DEBUG] using SSL socket',
      "[DEBUG] X-Forwarded-For ip '10.0.0.7'",
      '[DEBUG] BasicAuth matched',
      '[DEBUG] Invalid WS request, maybe a HTTP one',
      "[DEBUG] Requested file '/vnc.html'",
      /^\[INFO\] 127\.0\.0\.1 10\.0\.0\.7 kasm_user "GET \/vnc\.html HTTP\/1\.1" 200 \d+$/,
      '[DEBUG] No connection after handshake',
      '[DEBUG] handler exit',
    ]);
  });

  test("a sub-resource whose Referer names /websockify logs the guide's misleading failed-checks line", async () => {
    const referer = `https://kasm.example.com/desktop/${KASM_ID}/vnc/vnc.html?autoconnect=1&path=desktop/${KASM_ID}/vnc/websockify`;
    const reply = await get('/app/sounds/bell.oga', { ...OWNER, Referer: referer });
    assert.equal(reply.status, 200);
    const lines = handlerWith("Requested file '/app/sounds/bell.oga'");
    assertInOrder(lines, [
      '[DEBUG] BasicAuth matched',
      '[INFO] /websockify request failed websocket checks, not a GET request, or missing Upgrade header',
      '[DEBUG] Invalid WS request, maybe a HTTP one',
      "[DEBUG] Requested file '/app/sounds/bell.oga'",
      '[INFO] 127.0.0.1 127.0.0.1 kasm_user "GET /app/sounds/bell.oga HTTP/1.1" 200 8701',
      '[DEBUG] No connection after handshake',
      '[DEBUG] handler exit',
    ]);
  });

  test('a missing file gets 404 with the body 404', async () => {
    const reply = await get('/app/images/nope.svg', OWNER);
    assert.equal(reply.status, 404);
    assert.equal(reply.body.toString('latin1'), '404');
    const lines = handlerWith("Requested file '/app/images/nope.svg'");
    assertInOrder(lines, [
      '[DEBUG] file not found or insufficient permissions',
      '[INFO] 127.0.0.1 127.0.0.1 kasm_user "GET /app/images/nope.svg HTTP/1.1" 404 180',
    ]);
  });

  test('plain HTTP is dropped without an answer and an empty connection is ignored', async () => {
    const plain = connect(vnc.port, '127.0.0.1', () => plain.write('GET /vnc.html HTTP/1.1\r\nHost: kasm\r\n\r\n'));
    const received: Buffer[] = [];
    plain.on('data', (chunk: Buffer) => received.push(chunk));
    await once(plain, 'close');
    assert.equal(Buffer.concat(received).length, 0);
    assertInOrder(handlerWith('non-SSL connection disallowed'), ['[DEBUG] non-SSL connection disallowed', '[DEBUG] No connection after handshake', '[DEBUG] handler exit']);

    const empty = connect(vnc.port, '127.0.0.1', () => empty.end());
    await once(empty, 'close');
    await waitFor('ignoring empty handshake', () => [...handlers().values()].some((lines) => lines.includes('[DEBUG] ignoring empty handshake')), 3_000);
  });
});

describe('KasmVNC stand-in: /websockify and RFB', () => {
  test('a binary WebSocket gets the RFB banner, completes the handshake and receives a Raw frame', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['binary'], {
      headers: { ...OWNER, 'X-Forwarded-For': '10.20.30.40' },
      origin: `https://127.0.0.1:${vnc.port}`,
      rejectUnauthorized: false,
    });
    const stream = new RfbStream(ws);
    await once(ws, 'open');
    assert.equal(ws.protocol, 'binary');

    const init = await handshake(ws, stream);
    assert.deepEqual([init.readUInt16BE(0), init.readUInt16BE(2)], [1024, 640]);
    assert.deepEqual([init.readUInt8(4), init.readUInt8(5), init.readUInt8(6), init.readUInt8(7)], [32, 24, 0, 1]);
    assert.deepEqual([init.readUInt8(14), init.readUInt8(15), init.readUInt8(16)], [16, 8, 0]);
    assert.equal(init.subarray(24).toString('utf8'), "kasm-user's desktop");

    ws.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]));
    ws.send(updateRequest(false, 1024, 640));
    const full = await readRawUpdate(stream);
    assert.deepEqual([full.x, full.y, full.w, full.h], [0, 0, 1024, 640]);
    assert.equal(full.pixels.length, 1024 * 640 * 4);

    ws.send(Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]));
    ws.send(Buffer.from([5, 0, 0, 10, 0, 20]));
    ws.send(Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('hello')]));
    ws.send(updateRequest(true, 1024, 640));
    const strip = await readRawUpdate(stream);
    assert.ok(strip.w * strip.h > 0 && strip.w * strip.h < 1024 * 640 / 10, `incremental update is a small strip, got ${strip.w}x${strip.h}`);
    assert.ok(stream.largestMessage <= MAX_FRAME_PAYLOAD, `largest WebSocket message ${stream.largestMessage} bytes`);
    assert.equal(vnc.connections(), 1);

    ws.close();
    await once(ws, 'close');
    await waitFor('the websocket handler to exit', () => handlerWith('connecting to VNC target').includes('[DEBUG] handler exit'), 3_000);
    assertInOrder(handlerWith('connecting to VNC target'), [
      '[DEBUG] using SSL socket',
      "[DEBUG] X-Forwarded-For ip '10.20.30.40'",
      '[DEBUG] BasicAuth matched',
      '[DEBUG] using protocol HyBi/IETF 6455 13',
      '[DEBUG] connecting to VNC target',
      '[DEBUG] client sent orderly close frame',
      '[DEBUG] handler exit',
    ]);
    assert.match(logLines().join('\n'), /\[DEBUG\] XserverDesktop: new client, sock \d+/);
    // The VncAuth exchange as a real Kasm 1.16 session logs it (Websoft9/docker-library#857).
    assertInOrder(xvncLinesOf('10.20.30.40'), [
      /^\[PRIO\] Connections: accepted: kasm_user@10\.20\.30\.40_\d+\.\d+::websocket$/,
      '[DEBUG] SConnection: reading protocol version',
      '[INFO] SConnection: Client needs protocol version 3.8',
      '[DEBUG] SConnection: processing security type message',
      '[INFO] SConnection: Client requests security type VncAuth(2)',
      '[DEBUG] SConnection: processing security message',
      '[DEBUG] SConnection: processing security message',
      '[DEBUG] SVncAuth: reading password file',
      '[INFO] VNCSConnST: Server default pixel format depth 24 (32bpp) little-endian rgb888',
      '[DEBUG] SConnection: reading client initialisation',
      /^\[PRIO\] Connections: closed: kasm_user@10\.20\.30\.40_\d+\.\d+::websocket \(Clean disconnection\)$/,
    ]);
    assert.equal(vnc.connections(), 0);
  });

  test('a wrong VncAuth response gets SecurityResult 1 with the reason, and Xvnc closes the connection', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['binary'], { headers: { ...OWNER, 'X-Forwarded-For': '10.20.30.41' }, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    const stream = new RfbStream(ws);
    const closed = once(ws, 'close');
    assert.equal((await stream.read(12)).toString('latin1'), 'RFB 003.008\n');
    ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
    await stream.read(2);
    ws.send(Buffer.from([2]));
    ws.send(vncAuthResponse(await stream.read(16), 'per-session-Vnc-pw'));
    assert.equal((await stream.read(4)).readUInt32BE(0), 1, 'SecurityResult failed');
    const length = (await stream.read(4)).readUInt32BE(0);
    assert.equal((await stream.read(length)).toString('utf8'), 'Authentication failure');
    await closed;
    await waitFor('the handler to exit', () => handlerWith("X-Forwarded-For ip '10.20.30.41'").includes('[DEBUG] handler exit'), 3_000);
    assertInOrder(handlerWith("X-Forwarded-For ip '10.20.30.41'"), ['[DEBUG] connecting to VNC target', '[DEBUG] target closed connection', '[DEBUG] handler exit']);
    assertInOrder(xvncLinesOf('10.20.30.41'), [
      '[INFO] SConnection: Client requests security type VncAuth(2)',
      '[DEBUG] SConnection: processing security message',
      '[DEBUG] SVncAuth: reading password file',
      '[PRIO] SConnection: AuthFailureException: Authentication failure',
      /^\[PRIO\] Connections: closed: kasm_user@10\.20\.30\.41_\S+ \(Authentication failure\)$/,
    ]);
    assert.ok(!xvncLinesOf('10.20.30.41').some((line) => line.includes('Server default pixel format')), 'not authenticated');
  });

  test('a viewer that asks for security None, which is not offered, is closed without an answer', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['binary'], { headers: { ...OWNER, 'X-Forwarded-For': '10.20.30.42' }, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    const stream = new RfbStream(ws);
    const closed = once(ws, 'close');
    await stream.read(12);
    ws.send(Buffer.from('RFB 003.008\n', 'latin1'));
    assert.deepEqual([...(await stream.read(2))], [1, 2]);
    ws.send(Buffer.from([1]));
    await closed;
    await assert.rejects(stream.read(1, 200), /timed out waiting for 1 RFB bytes \(have 0\)/);
    const lines = xvncLinesOf('10.20.30.42');
    assertInOrder(lines, ['[DEBUG] SConnection: processing security type message', /^\[PRIO\] Connections: closed: kasm_user@10\.20\.30\.42_\S+ \(Requested security type not available\)$/]);
    assert.ok(!lines.some((line) => line.includes('Client requests security type')), lines.join('\n'));
  });

  test('an RFB 3.3 viewer is told VncAuth and challenged at once', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['binary'], { headers: OWNER, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    const stream = new RfbStream(ws);
    await stream.read(12);
    ws.send(Buffer.from('RFB 003.003\n', 'latin1'));
    assert.equal((await stream.read(4)).readUInt32BE(0), 2, 'the server picks VncAuth');
    ws.send(vncAuthResponse(await stream.read(16)));
    assert.equal((await stream.read(4)).readUInt32BE(0), 0, 'SecurityResult OK');
    ws.send(Buffer.from([1]));
    const init = await stream.read(24);
    assert.deepEqual([init.readUInt16BE(0), init.readUInt16BE(2)], [1024, 640]);
    ws.close();
    await once(ws, 'close');
  });

  test('a viewer offering base64 gets the stream as base64 text frames', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['base64'], { headers: OWNER, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(ws.protocol, 'base64');
    assert.equal(isBinary, false);
    assert.equal(Buffer.from(data.toString('latin1'), 'base64').toString('latin1'), 'RFB 003.008\n');
    ws.terminate();
    await waitFor('client closed connection', () => [...handlers().values()].some((lines) => lines.includes('[DEBUG] client closed connection')), 3_000);
    assert.equal(handlerWith('client closed connection').at(-1), '[DEBUG] handler exit');
  });

  test('a handshake without Sec-WebSocket-Protocol is refused and answered as a file request', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, { headers: OWNER, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    ws.on('error', () => {});
    const [req, res] = (await once(ws, 'unexpected-response')) as [{ destroy(): void }, IncomingMessage];
    req.destroy();
    assert.equal(res.statusCode, 404);
    const lines = handlerWith('missing Sec-WebSocket-Protocol header');
    assertInOrder(lines, [
      '[DEBUG] BasicAuth matched',
      '[INFO] /websockify request failed websocket checks, missing Sec-WebSocket-Protocol header',
      '[DEBUG] Invalid WS request, maybe a HTTP one',
      "[DEBUG] Requested file '/websockify'",
      '[INFO] 127.0.0.1 127.0.0.1 kasm_user "GET /websockify HTTP/1.1" 404 180',
      '[DEBUG] No connection after handshake',
      '[DEBUG] handler exit',
    ]);
  });

  test('close() ends connected viewers and resolves', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
    const other = await startKasmVnc({ host: '127.0.0.1', tls: { key: pems.private, cert: pems.cert }, password: PASSWORD, logFile: join(dir, 'other:1.log') });
    const ws = new WebSocket(`wss://127.0.0.1:${other.port}/websockify`, ['binary'], { headers: OWNER, origin: `https://127.0.0.1:${other.port}`, rejectUnauthorized: false });
    ws.on('error', () => {});
    await once(ws, 'message');
    assert.equal(other.connections(), 1);
    await other.close();
    await once(ws, 'close');
    assert.equal(other.connections(), 0);
  });

  test('every log line has KasmVNC layout and every handler runs from accept to exit', () => {
    const lines = logLines();
    for (const line of lines) assert.ok(WS_LINE.test(line) || MODULE_LINE.test(line), `not a KasmVNC log line: ${JSON.stringify(line)}`);
    for (const [id, group] of handlers()) {
      assert.match(group[0] ?? '', /^\[INFO\] got client connection from 127\.0\.0\.1$/, `handler ${id} starts at accept`);
      assert.equal(group.at(-1), '[DEBUG] handler exit', `handler ${id} ends with its exit:\n${group.join('\n')}`);
    }
    const ids = [...handlers().keys()];
    assert.deepEqual(ids, ids.map((_, i) => i), 'handler ids count accepted connections from 0');
  });
});

/** A viewer through the RFB handshake to its first full-screen update, which is what sets kasmvnc-crash off. */
async function viewerWithFirstUpdate(port: number): Promise<{ ws: WebSocket; requestedAt: number }> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/websockify`, ['binary'], { headers: OWNER, origin: `https://127.0.0.1:${port}`, rejectUnauthorized: false });
  ws.on('error', () => {});
  const stream = new RfbStream(ws);
  await handshake(ws, stream);
  const requestedAt = Date.now();
  ws.send(updateRequest(false, 1024, 640));
  const full = await readRawUpdate(stream);
  assert.deepEqual([full.w, full.h], [1024, 640]);
  return { ws, requestedAt };
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

describe('KasmVNC stand-in: kasmvnc-crash', () => {
  const BANNER = [
    'Xvnc KasmVNC 1.3.2.b2a3e4e3e4c7d8f9a0b1c2d3e4f5a6b7c8d9e0f1 - built Jun 12 2024 09:41:27',
    'Copyright (C) 1999-2018 KasmVNC Team and many others (see README.me)',
    'See http://kasmweb.com for information on KasmVNC.',
    'Underlying X server release 12014000, The X.Org Foundation',
  ];
  const ACCEPTED = ['got client connection from 127.0.0.1', 'using SSL socket', 'BasicAuth matched', 'using protocol HyBi/IETF 6455 13', 'connecting to VNC target'];
  const faults = new Set(['kasmvnc-crash']);
  let crashing: KasmVncHandle;
  let crashLog: string;

  before(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
    crashLog = join(dir, 'crash:1.log');
    crashing = await startKasmVnc({ host: '127.0.0.1', tls: { key: pems.private, cert: pems.cert }, password: PASSWORD, logFile: crashLog, faults: () => faults, version: BANNER[0] });
  });
  after(() => crashing.close());

  const crashLines = () => readFileSync(crashLog, 'utf8').split('\n');
  /** What one Xvnc process logged: from its banner to its backtrace. */
  const processLines = (n: number) => {
    const lines = crashLines();
    const starts = lines.flatMap((line, i) => (line === BANNER[0] ? [i + BANNER.length] : []));
    const from = starts[n] ?? lines.length;
    const end = lines.indexOf('(EE) Backtrace:', from);
    return lines.slice(from, end === -1 ? undefined : end).filter((line) => line !== '' && line !== '(EE) ');
  };

  test("a viewer's first update brings Xvnc down 200 ms later: every viewer is cut and the log has one segfault and a restart", async () => {
    const idle = new WebSocket(`wss://127.0.0.1:${crashing.port}/websockify`, ['binary'], { headers: OWNER, origin: `https://127.0.0.1:${crashing.port}`, rejectUnauthorized: false });
    idle.on('error', () => {});
    await once(idle, 'message');
    const idleClosed = closeCode(idle);
    const { ws, requestedAt } = await viewerWithFirstUpdate(crashing.port);
    const code = await closeCode(ws);
    const lived = Date.now() - requestedAt;
    assert.equal(code, 1006, 'cut without a close frame');
    assert.ok(lived >= 195 && lived < 3_000, `cut ${lived} ms after the update request`);
    assert.equal(await idleClosed, 1006, 'the viewer that never got an update is cut too');
    assert.equal(crashing.connections(), 0);
    // Room for any close handler of the dead process to (wrongly) log.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const log = parseKasmVncLog(readFileSync(crashLog, 'utf8'));
    assert.deepEqual(log.unparsed, []);
    assert.equal(log.crashes.length, 1);
    const crash = log.crashes[0]!;
    assert.deepEqual(
      { signal: crash.signal, signalName: crash.signalName, sentByPid: crash.sentByPid, aborting: crash.aborting, restarted: crash.restarted },
      { signal: 11, signalName: 'Segmentation fault', sentByPid: null, aborting: true, restarted: true },
    );
    assert.ok(crash.frames.length >= 5, `${crash.frames.length} frames`);
    assert.equal(crash.frames[0], '/usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5e48dd]');
    assert.deepEqual(log.versions, [BANNER[0], BANNER[0]], 'the banner at start and at the restart');
    assert.deepEqual(
      log.entries.flatMap((e) => (e.kind === 'websocket' ? [`${e.handler} ${e.message}`] : [])),
      [...ACCEPTED.map((m) => `0 ${m}`), ...ACCEPTED.map((m) => `1 ${m}`)],
      'no close or handler exit from a dead process',
    );
    assert.deepEqual(
      processLines(0).filter((line) => line.includes('XserverDesktop')).map((line) => line.replace(/^.*\] /, '')),
      ['XserverDesktop: new client, sock 32', 'XserverDesktop: new client, sock 33'],
    );
    const lines = crashLines();
    const fatal = lines.indexOf('Fatal server error:');
    assert.deepEqual(lines.slice(fatal - 2), [
      '(EE) Segmentation fault at address 0x0',
      '(EE) ',
      'Fatal server error:',
      '(EE) Caught signal 11 (Segmentation fault). Server aborting',
      '(EE) ',
      '',
      ...BANNER,
      '',
      '',
    ]);
  });

  test('the restarted Xvnc counts handlers and socks from the start again, and crashes again after its own first update', async () => {
    const { ws } = await viewerWithFirstUpdate(crashing.port);
    assert.equal(await closeCode(ws), 1006);
    const second = processLines(1);
    assert.match(second[0] ?? '', /^ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[INFO\] websocket 0: got client connection from 127\.0\.0\.1$/);
    assert.deepEqual(second.flatMap((line) => WS_LINE.exec(line)?.slice(2, 4).join(' ') ?? []), ACCEPTED.map((m) => `0 ${m}`));
    assert.ok(second.some((line) => line.endsWith('[DEBUG] XserverDesktop: new client, sock 32')), second.join('\n'));
    const log = parseKasmVncLog(readFileSync(crashLog, 'utf8'));
    assert.deepEqual(log.unparsed, []);
    assert.deepEqual(log.crashes.map((c) => [c.signal, c.aborting, c.restarted]), [[11, true, true], [11, true, true]]);
    assert.deepEqual(log.versions, [BANNER[0], BANNER[0], BANNER[0]]);
  });

  test('a viewer accepted while the fault is off keeps its session', async () => {
    faults.delete('kasmvnc-crash');
    const { ws } = await viewerWithFirstUpdate(crashing.port);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(crashing.connections(), 1);
    ws.close();
    await once(ws, 'close');
    assert.equal(parseKasmVncLog(readFileSync(crashLog, 'utf8')).crashes.length, 2);
  });
});
