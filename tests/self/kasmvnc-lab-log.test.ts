// The KasmVNC parser and the analyzer must read what the lab's KasmVNC stand-in writes, not only the guide's samples.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import selfsigned from 'selfsigned';
import WebSocket from 'ws';
import { analyze } from '../../helpers/analyze/index.ts';
import { groupByHandler, judgeHandlers, parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';
import { RfbViewer } from '../../helpers/probes/rfb.ts';
import { startKasmVnc, type KasmVncHandle } from '../../lab/kasmvnc.ts';

const PASSWORD = 'lab-password';
const AUTH = { Authorization: `Basic ${Buffer.from(`kasm_user:${PASSWORD}`).toString('base64')}` };

describe("the lab's KasmVNC log", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kasm-vnclog-'));
  const logFile = join(dir, 'kasm:1.log');
  let vnc: KasmVncHandle;

  before(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'kasm' }], { keyType: 'ec', algorithm: 'sha256' });
    vnc = await startKasmVnc({ host: '127.0.0.1', tls: { key: pems.private, cert: pems.cert }, password: PASSWORD, logFile });
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port: vnc.port, path: '/vnc.html', headers: AUTH, rejectUnauthorized: false }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
    });
    const ws = new WebSocket(`wss://127.0.0.1:${vnc.port}/websockify`, ['binary'], { headers: AUTH, origin: `https://127.0.0.1:${vnc.port}`, rejectUnauthorized: false });
    // Through the VncAuth handshake to the first update, so the log has every line a viewer's session writes.
    const viewer = new RfbViewer();
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        for (const bytes of viewer.server(data)) ws.send(bytes);
        if (viewer.progress.phase === 'messages' && !viewer.progress.firstUpdateAt) ws.send(Buffer.from([3, 0, 0, 0, 0, 0, 0, 16, 0, 16]));
        if (viewer.progress.firstUpdateAt !== undefined) resolve();
        if (viewer.progress.phase === 'failed') reject(new Error(viewer.progress.failure));
      });
      ws.once('error', reject);
    });
    await new Promise((resolve) => ws.once('close', resolve).close());
    await vnc.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses every line, groups the page and the websocket, and finds nothing wrong', () => {
    const text = readFileSync(logFile, 'utf8');
    const log = parseKasmVncLog(text);
    assert.deepEqual(log.unparsed, []);
    const groups = groupByHandler(log.entries);
    assert.ok(groups.some((g) => g.result === 'http' && g.path === '/vnc.html' && g.auth === 'matched' && g.status === 200));
    assert.ok(groups.some((g) => g.result === 'websocket' && g.protocol === 'HyBi/IETF 6455 13' && g.auth === 'matched'));
    assert.ok(log.entries.some((e) => e.kind === 'module' && e.module === 'SConnection' && e.message === 'Client requests security type VncAuth(2)'));
    assert.ok(log.entries.some((e) => e.kind === 'module' && e.module === 'SVncAuth' && e.message === 'reading password file'));
    assert.deepEqual(judgeHandlers(groups).filter((f) => f.severity === 'fail'), []);
    const report = analyze(text);
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.counts.unreadable, 0);
  });
});
