import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const CLI = 'helpers/cli/analyze.ts';
const KASM_API_403 = [
  '2024-08-15 04:16:32,440 [WARNING] client_api_server: Authenticated request missing required username or token values from (172.18.0.6)',
  '2024-08-15 04:16:32,449 [INFO] cherrypy.access.140460463489520: 172.18.0.6 - - [15/Aug/2024:04:16:32] "GET /api/kasm_connect/ HTTP/1.0" 403 - "" "Mozilla/5.0"',
  '2023-11-15 18:43:18,076 [INFO] cherrypy.access.140168522947744: - - [15/Nov/2023:18:43:18] "GET /api/internal_auth/ HTTP/1.1" 202 - "" "Mozilla/5.0"',
].join('\n');
const NGINX_OK = [
  '10.0.0.9 - - [15/Nov/2023:18:50:20 +0000] "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify HTTP/1.1" 101 3104787 "-" "Mozilla/5.0" "-"',
  '10.0.0.9 - - [15/Nov/2023:18:50:19 +0000] "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/vnc.html?session_token=abcd1234secret HTTP/1.1" 200 1520 "-" "Mozilla/5.0" "-"',
].join('\n');
const VNC_CRASH = [
  ' 2023-11-17 14:51:07,529 [DEBUG] websocket 142: using protocol HyBi/IETF 6455 13',
  '(EE) Backtrace:',
  '(EE) 0: /usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5e48dd]',
  '(EE) 1: /usr/bin/Xvnc (0x400000+0x1e8259) [0x5e8259]',
  '(EE) Received signal 11 sent by process 17182, uid 0',
  'Fatal server error:',
  '(EE) Caught signal 11 (Segmentation fault). Server aborting',
].join('\n');

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'analyze-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', input: input ?? '', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/);

describe('npm run analyze', () => {
  test('a kasm_api log with a 403 kasm_connect fails with the finding and the warning behind it', () => {
    const out = run([file('api.log', KASM_API_403)]);
    assert.equal(out.status, 1);
    assert.match(out.stdout, /FAIL \[api\/kasm_api\] \/api\/kasm_connect\/ refused 1 of 1 times \(403 x1\); a working session gets 202/);
    assert.match(out.stdout, /guide: Validate Session Authorization/);
    assert.match(out.stdout, /\| .*missing required username or token values/);
    assert.match(out.stdout, /3 lines read \(kasm_api 3\); 0 could not be read/);
  });

  test('a healthy nginx log passes, and the session token in it is redacted', () => {
    const out = run([file('nginx.log', NGINX_OK), '--json']);
    assert.equal(out.status, 0);
    assert.doesNotMatch(out.stdout, /abcd1234secret/);
    const report = JSON.parse(out.stdout) as { ok: boolean; findings: Array<{ title: string }>; counts: { byFormat: Record<string, number> } };
    assert.equal(report.ok, true);
    assert.equal(report.counts.byFormat.nginx, 2);
    assert.deepEqual(report.findings.map((f) => f.title), ['/vnc/websockify upgraded with 101 1 times']);
  });

  test('a KasmVNC crash log fails with the signal', () => {
    const out = run([file('vnc.log', VNC_CRASH)]);
    assert.equal(out.status, 1);
    assert.match(out.stdout, /FAIL \[session\/kasmvnc\] KasmVNC crashed with signal 11 \(Segmentation fault\), Server aborting; 2 backtrace frames; no restart seen after it/);
  });

  test('--json prints one parseable object with the counts', () => {
    const out = run([file('mixed.log', `${KASM_API_403}\n${NGINX_OK}\nsomething else entirely\n`), '--json']);
    assert.equal(out.status, 1);
    const report = JSON.parse(out.stdout) as { ok: boolean; counts: { lines: number; unreadable: number; unreadableSamples: string[]; byFormat: Record<string, number> } };
    assert.equal(report.ok, false);
    assert.deepEqual(report.counts, {
      lines: 6,
      byFormat: { kasm_api: 3, kasm_agent: 0, nginx: 2, kasmvnc: 0, docker_ps: 0, curl: 0, html_page: 0, ui_export: 0, compose: 0 },
      unreadable: 1,
      unreadableSamples: ['something else entirely'],
    });
  });

  test('reads standard input with -', () => {
    const out = run(['-'], 'curl: (6) Could not resolve host: kasm-internal.example.com\n');
    assert.equal(out.status, 1);
    assert.match(out.stdout, /analyze standard input: problems found/);
    assert.match(out.stdout, /FAIL \[agent\/curl\] curl DNS: the host name does not resolve from here \(Could not resolve host: kasm-internal.example.com\)/);
  });

  test('a binary file gets a clear message and no stack trace', () => {
    const out = run([file('core.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0x0a, 0, 0, 0xff, 0xfe, 0x0a]))]);
    assert.ok(out.status === 0 || out.status === 1);
    assert.match(out.stdout, /note: the input looks binary/);
    assert.match(out.stdout, /2 lines read; 2 could not be read/);
    noStack(out.stdout + out.stderr);
  });

  test('an empty file says so', () => {
    const out = run([file('empty.log', '')]);
    assert.equal(out.status, 1);
    assert.match(out.stdout, /note: the input is empty: nothing to analyze/);
  });

  test('no argument and a missing file are usage errors with exit 2', () => {
    const none = run([]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /analyze: no input given/);
    assert.match(none.stderr, /usage: npm run analyze -- <file \| -> \[--json\]/);
    const missing = run([join(dir, 'nope.log')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*nope\.log: no such file/);
    noStack(none.stderr + missing.stderr);
  });

  // nginx 1.22's own lines (the real-parts lab's kasm_proxy and load balancer), as an engineer pastes them.
  test("nginx's failed connects to a container and its idle cut of a WebSocket are each named, with the fix", () => {
    const lines = [
      '2026/12/02 22:57:13 [error] 22#22: *41 connect() failed (113: No route to host) while connecting to upstream, client: 198.18.0.2, server: _, request: "GET /api/__healthcheck HTTP/1.1", upstream: "http://172.18.0.2:8080/api/__healthcheck", host: "kasm.localhost:39183"',
      '2026/12/02 22:57:16 [error] 22#22: *44 connect() failed (113: No route to host) while connecting to upstream, client: 198.18.0.2, server: _, request: "POST /api/public/get_user HTTP/1.1", upstream: "http://172.18.0.2:8080/api/public/get_user", host: "kasm.localhost:39183"',
      '2026/11/30 10:00:01 [error] 12#12: *5 upstream timed out (110: Connection timed out) while proxying upgraded connection, client: 127.0.0.1, server: _, request: "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify HTTP/1.1", upstream: "https://198.18.0.11:443/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify", host: "kasm.localhost:8443"',
    ].join('\n');
    const out = run([file('nginx-errors.log', lines)]);
    assert.equal(out.status, 1);
    assert.match(out.stdout, /FAIL \[webapp\/nginx\] kasm_proxy could not connect to http:\/\/172\.18\.0\.2:8080 2 times \(113: No route to host x2\)/);
    assert.match(out.stdout, /restart Kasm's services in order/);
    assert.match(out.stdout, /FAIL \[path\/nginx\] nginx closed 1 WebSocket that was quiet longer than its proxy_read_timeout/);
    assert.match(out.stdout, /Raise proxy_read_timeout/);
  });

  test('an nginx error that is neither leaves the log without those findings', () => {
    const out = run([file('nginx-other.log', '2026/12/02 22:57:13 [error] 22#22: *41 upstream prematurely closed connection while reading response header from upstream, client: 198.18.0.2, server: _, request: "GET /api/__healthcheck HTTP/1.1", upstream: "http://172.18.0.2:8080/api/__healthcheck", host: "kasm.localhost"')]);
    assert.doesNotMatch(out.stdout, /could not connect to|quiet longer than/);
  });
});
