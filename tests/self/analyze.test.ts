import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyze } from '../../helpers/analyze/index.ts';

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
      byFormat: { kasm_api: 3, kasm_agent: 0, nginx: 2, kasmvnc: 0, docker_ps: 0, curl: 0, html_page: 0, ui_export: 0, compose: 0, installer: 0, kubectl: 0, browser: 0 },
      unreadable: 1,
      unreadableSamples: ['something else entirely'],
    });
  });

  test('reads standard input with -', () => {
    const out = run(['-'], 'curl: (6) Could not resolve host: kasm-internal.example.com\n');
    assert.equal(out.status, 1);
    assert.match(out.stdout, /analyze standard input: problems found/);
    assert.match(out.stdout, /FAIL \[agent\/curl\] the pasted curl: the host name does not resolve from here \(Could not resolve host: kasm-internal.example.com\) \(curl exit 6\)/);
  });

  test("a health curl is judged by the live check's own judge, named by the URL of the command pasted before it", () => {
    const text = [
      'root@agent-1:~# curl -k https://proxy/api/__healthcheck',
      'curl: (6) Could not resolve host: proxy',
      'root@webapp-1:~# curl -k https://10.0.1.20:443/agent/__healthcheck',
      "curl: (7) Failed to connect to 10.0.1.20 port 443 after 1 ms: Couldn't connect to server",
    ].join('\n');
    const found = analyze(text).findings.map((f) => [f.severity, f.hop, f.title, f.evidence[0]]);
    assert.deepEqual(found, [
      ['fail', 'agent', "https://10.0.1.20:443/agent/__healthcheck: the TCP connection could not be made (Failed to connect to 10.0.1.20 port 443 after 1 ms: Couldn't connect to server) (curl exit 7)", "curl: (7) Failed to connect to 10.0.1.20 port 443 after 1 ms: Couldn't connect to server"],
      // Kasm's default Upstream Auth Address, `proxy`, is a Docker alias the host does not resolve: not a failure.
      ['warn', 'agent', "not judged: proxy does not resolve on the agent host, and kasm_proxy's Docker networks could not be read (a paste shows no docker inspect) to see whether proxy is one of its container names there (Kasm's default Upstream Auth Address, `proxy`, is kasm_proxy's alias on kasm_default_network, which only the containers resolve)", 'curl: (6) Could not resolve host: proxy'],
    ]);
    // Curled inside the container, where Docker resolves it, a name that does not resolve is a failure.
    const inside = analyze('root@agent-1:~# sudo docker exec kasm_proxy curl -k https://proxy/api/__healthcheck\ncurl: (6) Could not resolve host: proxy').findings;
    assert.deepEqual(inside.map((f) => [f.severity, f.title]), [['fail', 'https://proxy/api/__healthcheck: the host name does not resolve from here (Could not resolve host: proxy) (curl exit 6)']]);
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

// Issue 13: the readings the real corpus needed, each pinned on lines other than the sample's.
describe('analyze: the readings of issue 13', () => {
  const only = (lines: string[]) => {
    const result = analyze(lines.join('\n'));
    return { result, said: result.findings.map((f) => ({ severity: f.severity, hop: f.hop, format: f.format, title: f.title })) };
  };

  test("kasm_proxy's 5xx on the agents' /manager_api/ calls is kasm_manager's, a warning right after kasm_proxy started", () => {
    const { said } = only([
      '2024/03/01 08:00:00 [notice] 1#1: start worker processes',
      '10.1.2.3 - - [01/Mar/2024:08:00:20 +0000] "POST /manager_api/api/v1/heartbeat HTTP/1.1" 502 157 "-" "Python-urllib/3.10" "-"',
    ]);
    assert.deepEqual(said, [{ severity: 'warn', hop: 'api', format: 'nginx', title: "kasm_proxy answered 1 agent call to /manager_api/ (heartbeat) with 502 x1: kasm_manager did not answer within 20 s of kasm_proxy's start: kasm_manager may still have been starting" }]);
  });

  test('/manager_api/ 5xx with no start before them fails on api, apart from the other 5xx; answered later, it warns', () => {
    const { said } = only([
      '10.1.2.3 - - [01/Mar/2024:09:15:00 +0000] "GET /manager_api/api/v1/agent_config HTTP/1.1" 504 167 "-" "Python-urllib/3.10" "-"',
      '10.1.2.3 - - [01/Mar/2024:09:16:00 +0000] "POST /manager_api/api/v1/heartbeat HTTP/1.1" 504 167 "-" "Python-urllib/3.10" "-"',
      '10.9.9.9 - - [01/Mar/2024:09:16:30 +0000] "GET /api/__healthcheck HTTP/1.1" 502 157 "-" "curl/8.5.0" "-"',
    ]);
    assert.deepEqual(said, [
      { severity: 'fail', hop: 'webapp', format: 'nginx', title: 'kasm_proxy answered 1 request with 5xx (502 x1)' },
      { severity: 'fail', hop: 'api', format: 'nginx', title: 'kasm_proxy answered 2 agent calls to /manager_api/ (agent_config, heartbeat) with 504 x2: kasm_manager did not answer' },
    ]);
    const later = only([
      '10.1.2.3 - - [01/Mar/2024:09:15:00 +0000] "POST /manager_api/api/v1/heartbeat HTTP/1.1" 502 157 "-" "Python-urllib/3.10" "-"',
      '10.1.2.3 - - [01/Mar/2024:09:16:00 +0000] "POST /manager_api/api/v1/heartbeat HTTP/1.1" 200 21 "-" "Python-urllib/3.10" "-"',
    ]).said;
    assert.deepEqual(later, [{ severity: 'warn', hop: 'api', format: 'nginx', title: 'kasm_proxy answered 1 agent call to /manager_api/ (heartbeat) with 502 x1: kasm_manager did not answer; later calls were answered again' }]);
  });

  test("kasm_api's slot search: no server with room fails on agent; another server looked at makes it a warning", () => {
    const server = '5e1f0c2a-1111-4c8e-9d2b-8f6a7e3b2c10';
    const { said, result } = only([
      `2025-02-03 14:00:01,101 [DEBUG] client_api_server: Processing Server: (${server})`,
      `2025-02-03 14:00:01,102 [DEBUG] client_api_server: Server ${server} does not have required cores remaining (0.5 remaining)`,
      `2025-02-03 14:00:01,103 [DEBUG] client_api_server: No more slots available for server : (${server})`,
    ]);
    assert.deepEqual(said, [{ severity: 'fail', hop: 'agent', format: 'kasm_api', title: `kasm_api found no agent server with room for the session: ${server} (not enough cores, 0.5 left); the user gets "No resources are available"` }]);
    assert.match(result.findings[0]!.fix, /^The agent needs free cores for the Workspace's settings/);
    const two = only([
      `2025-02-03 14:00:01,101 [DEBUG] client_api_server: Processing Server: (${server})`,
      `2025-02-03 14:00:01,102 [DEBUG] client_api_server: Server ${server} does not have required memory remaining (2147483648 remaining)`,
      '2025-02-03 14:00:01,104 [DEBUG] client_api_server: Processing Server: (9c0d7b3e-2222-4f1a-8e5c-1a2b3c4d5e6f)',
    ]).said;
    assert.deepEqual(two, [{ severity: 'warn', hop: 'agent', format: 'kasm_api', title: `kasm_api found no slot on 1 agent server: ${server} (not enough memory, 2048 MiB left); it also looked at 1 other server` }]);
  });

  test('a copied fetch of a session URL from another host than the page fails on path; another port on client; a zone sub-domain is fine', () => {
    const host = only([
      'await fetch("https://kasm-internal.corp.example:8443/desktop/4f86a3fa-22b5-4ac6-9a1e-0123456789ab/vnc/vnc.html", {',
      '    "credentials": "include",',
      '    "headers": {',
      '        "Accept": "text/html"',
      '    },',
      '    "referrer": "https://workspaces.example.com/",',
      '    "method": "GET",',
      '    "mode": "cors"',
      '});',
    ]);
    assert.equal(host.result.counts.unreadable, 0);
    assert.deepEqual(host.said, [{ severity: 'fail', hop: 'path', format: 'browser', title: "the browser fetches the session's vnc.html from https://kasm-internal.corp.example:8443, but the page came from https://workspaces.example.com: Kasm built the session's URL from a host name the browser does not use (the Host header the proxy in front passed on, or a zone's Proxy Hostname)" }]);
    const port = only([
      'fetch("https://workspaces.example.com:8443/desktop/4f86a3fa-22b5-4ac6-9a1e-0123456789ab/vnc/websockify", {',
      '  "headers": {',
      '    "Referer": "https://workspaces.example.com/"',
      '  },',
      '  "body": null,',
      '  "method": "GET"',
      '});',
    ]).said;
    assert.deepEqual(port, [{ severity: 'fail', hop: 'client', format: 'browser', title: "the page is on https://workspaces.example.com but the session's WebSocket is fetched from https://workspaces.example.com:8443: the session URL names another port than the one the browser uses" }]);
    const zone = only(['fetch("https://eu.workspaces.example.com/desktop/4f86a3fa-22b5-4ac6-9a1e-0123456789ab/vnc/vnc.html", {', '  "referrer": "https://workspaces.example.com/",', '  "method": "GET"', '});']).said;
    assert.deepEqual(zone, [{ severity: 'info', hop: 'client', format: 'browser', title: "the session's vnc.html is fetched from https://eu.workspaces.example.com, a sub-domain of the page's https://workspaces.example.com (a zone's Proxy Hostname)" }]);
  });

  test("a traceback's database connection error names the server and the reason (libpq's newer wording)", () => {
    const { said, result } = only([
      '2025-05-02 07:30:11,001 [ERROR] client_api_server: Database error while serving request',
      'Traceback (most recent call last):',
      '  File "sqlalchemy/engine/base.py", line 145, in __init__',
      'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "kasm_db" (172.19.0.3), port 5432 failed: Connection refused',
      '\tIs the server running on that host and accepting TCP/IP connections?',
    ]);
    assert.equal(result.counts.unreadable, 0);
    assert.deepEqual(said, [{ severity: 'fail', hop: 'api', format: 'kasm_api', title: 'could not connect to Kasm\'s PostgreSQL database at kasm_db (172.19.0.3) port 5432: Connection refused (after "Database error while serving request")' }]);
    assert.match(result.findings[0]!.fix, /^Nothing listens on the database port/);
  });

  test("SAML's missing POST response is the client's; any other traceback is kasm_api's, with where it was raised", () => {
    const saml = (at: string) => [`2025-01-10 09:00:0${at},000 [ERROR] root: Unhandled exception occurred`, 'Traceback (most recent call last):', '  File "onelogin/saml2/auth.py", line 130, in process_response', 'onelogin.saml2.errors.OneLogin_Saml2_Error: SAML Response not found, Only supported HTTP_POST Binding'];
    assert.deepEqual(only([...saml('0'), ...saml('5')]).said, [
      { severity: 'fail', hop: 'client', format: 'kasm_api', title: "Kasm's SAML login endpoint got no SAML response 2 times: the browser opened the ACS URL without the identity provider's HTTP-POST of the response (onelogin.saml2.errors.OneLogin_Saml2_Error: SAML Response not found, Only supported HTTP_POST Binding)" },
    ]);
    const other = only(['2025-01-10 09:00:00,000 [ERROR] client_api_server: Exception in get_user', 'Traceback (most recent call last):', '  File "client_api.py", line 900, in get_user', "KeyError: 'group_id'"]).said;
    assert.deepEqual(other, [{ severity: 'fail', hop: 'api', format: 'kasm_api', title: "kasm_api raised KeyError: 'group_id' (in get_user)" }]);
  });

  test("Kasm's installer: the failure and the step it stopped in; a complete install is info", () => {
    const { said, result } = only([
      'Setting Role as app',
      'Installing App Role',
      'Checking connectivity to the databases',
      'Trying 10.0.0.5 on 5432 attempt:1',
      'Database connectivity failed please check your firewall configuration or database host settings',
      'Connection to Database at 10.0.0.5 on 5432 false',
      'Installation will not continue',
    ]);
    assert.equal(result.counts.unreadable, 0);
    assert.deepEqual(said, [{ severity: 'fail', hop: 'webapp', format: 'installer', title: 'the Kasm installer stopped at "Checking connectivity to the databases": Database connectivity failed please check your firewall configuration or database host settings; Kasm\'s services were never started' }]);
    const missing = only(['Installing Agent Role', 'sed: can\'t read /opt/kasm/1.15.0/conf/app/agent.app.config.yaml: No such file or directory']);
    assert.deepEqual(missing.said, [{ severity: 'fail', hop: 'agent', format: 'installer', title: 'the Kasm installer stopped at "Installing Agent Role": sed: can\'t read /opt/kasm/1.15.0/conf/app/agent.app.config.yaml: No such file or directory; Kasm\'s services were never started' }]);
    assert.match(missing.result.findings[0]!.fix, /^The installer looks for \/opt\/kasm\/1\.15\.0\/conf\/app\/agent\.app\.config\.yaml/);
    assert.deepEqual(only(['Installing All Services', 'Starting Kasm Services', 'Installation Complete']).said, [{ severity: 'info', hop: 'webapp', format: 'installer', title: 'Kasm installer: Installation Complete (Installing All Services, Starting Kasm Services)' }]);
  });

  test("a curl from a session's shell answered by the host's nginx warns on agent; from elsewhere the page is read as before", () => {
    const page = (title: string) => ['<html>', `<head><title>${title}</title></head>`, '<body>', `<center><h1>${title}</h1></center>`, '<hr><center>nginx</center>', '</body>', '</html>'];
    const session = only(['kasm-user@9c0d7b3e:~$ curl -k https://192.168.50.1:8443/', ...page('403 Forbidden')]);
    assert.equal(session.result.counts.unreadable, 0);
    assert.deepEqual(session.said, [{ severity: 'warn', hop: 'agent', format: 'curl', title: "From inside a Kasm session (the `kasm-user@9c0d7b3e:~$` shell), https://192.168.50.1:8443/ answered with 403 Forbidden from nginx: 192.168.50.1 is the session network's gateway, the agent host itself, so the agent's kasm_proxy is reachable from users' sessions" }]);
    const admin = only(['admin@web1:~$ curl -k https://10.0.0.5/api/__healthcheck', ...page('502 Bad Gateway'), '<html><head><title>404 Not Found</title></head></html>']).said;
    assert.deepEqual(admin, [
      { severity: 'fail', hop: 'api', format: 'curl', title: 'https://10.0.0.5/api/__healthcheck: 502 Bad Gateway from nginx (an HTML error page): the proxy got no answer from the service behind it (kasm_api, for /api/ calls)' },
      { severity: 'warn', hop: 'path', format: 'html_page', title: '404 Not Found (an HTML page)' },
    ]);
  });

  test('kubectl get svc and get pods: a pending LoadBalancer warns, a crash-looping pod fails, the services are listed', () => {
    const svc = only([
      '$ kubectl get svc -n kasm',
      'NAME           TYPE           CLUSTER-IP      EXTERNAL-IP   PORT(S)          AGE',
      'kasm-proxy     LoadBalancer   10.43.12.7      <pending>     443:31443/TCP    12m',
      'kasm-api       ClusterIP      10.43.80.2      <none>        8080/TCP         12m',
    ]);
    assert.equal(svc.result.counts.unreadable, 0);
    assert.deepEqual(svc.said, [
      { severity: 'warn', hop: 'webapp', format: 'kubectl', title: 'kasm-proxy: LoadBalancer without an external address (<pending>): nothing in the cluster gives it one' },
      { severity: 'info', hop: 'webapp', format: 'kubectl', title: '2 services: kasm-proxy 443:31443/TCP, kasm-api 8080/TCP; none has an external address; kasm-proxy is the one an ingress sends users to (kasm-api and kasm-share take /api/ and /api/share/), kasm-manager is internal' },
    ]);
    const pods = only([
      'NAMESPACE   NAME                            READY   STATUS             RESTARTS        AGE',
      'kasm        kasm-api-6d9f7c8b5d-x2k9p       0/1     CrashLoopBackOff   7 (2m13s ago)   15m',
      'kasm        kasm-proxy-7b8c9d6f4-qq7rt      1/1     Running            0               15m',
    ]).said;
    assert.deepEqual(pods, [{ severity: 'fail', hop: 'webapp', format: 'kubectl', title: '1 of 2 pods is not running and ready: kasm-api-6d9f7c8b5d-x2k9p (CrashLoopBackOff, 0/1 ready, 7 restarts)' }]);
  });

  test("the manager's empty answer to the agent's agent_config request warns on agent; a real answer does not", () => {
    const request = (at: string) => `2025-03-03 03:0${at}:03,000 [DEBUG] __main__.handler: Sending manager request (https://proxy:443/manager_api/api/v1/agent_config)`;
    const { said } = only(['Executing /usr/bin/kasm_agent.so', request('3'), '2025-03-03 03:03:03,010 [DEBUG] __main__.handler: {}', request('4'), "2025-03-03 03:04:03,010 [DEBUG] __main__.handler: {'agent': {'retention_period': '24'}}"]);
    assert.deepEqual(said, [{ severity: 'warn', hop: 'agent', format: 'kasm_agent', title: "the manager (https://proxy:443) answered kasm_agent's agent_config request with an empty {}: the agent got no settings for itself" }]);
    assert.deepEqual(only(['Executing /usr/bin/kasm_agent.so', request('4'), "2025-03-03 03:04:03,010 [DEBUG] __main__.handler: {'agent': {'retention_period': '24'}}"]).said.map((f) => f.severity), ['info']);
  });
});

// KasmVNC 1.x lines read from websocket.c, websockify.c, VNCSConnectionST.cxx and unix/vncserver (issue 13).
describe('npm run analyze on the KasmVNC lines real KasmVNC writes', () => {
  const VNC_FAILURES = [
    ' 2024-11-01 06:19:30,100 [INFO] websocket 4: got client connection from 172.18.0.5',
    ' 2024-11-01 06:19:30,101 [INFO] websocket 4: Authentication attempt failed, user bob does not exist',
    ' 2024-11-01 06:19:30,101 [INFO] websocket 4: Authentication attempt failed, wrong password for user bob',
    ' 2024-11-01 06:19:30,101 [INFO] websocket 4: 172.18.0.5 172.18.0.5 bob "GET /websockify HTTP/1.1" 401 2',
    ' 2024-11-01 06:19:31,100 [INFO] websocket 5: got client connection from 172.18.0.5',
    ' 2024-11-01 06:19:31,101 [DEBUG] websocket 5: BasicAuth matched',
    ' 2024-11-01 06:19:31,101 [DEBUG] websocket 5: using protocol HyBi/IETF 6455 13',
    ' 2024-11-01 06:19:31,101 [DEBUG] websocket 5: connecting to VNC target',
    ' 2024-11-01 06:19:31,102 [DEBUG] websocket 5: Could not connect to target: Connection refused',
    ' 2024-11-01 06:19:31,102 [DEBUG] websocket 5: handler exit',
    ' 2024-11-01 06:19:32,000 [PRIO] Connections: accepted: kasm_user@172.18.0.5_1730442000.100000::websocket',
    ' 2024-11-01 06:19:40,000 [PRIO] Connections: closed: kasm_user@172.18.0.5_1730442000.100000::websocket (write: Broken pipe (32))',
    'Unable to load private key file /home/kasm-user/.vnc/self.pem',
    ': No such file or directory',
  ];

  test('an unknown user, Xvnc missing behind the websocket, a broken viewer connection and a fatal TLS key: each with its hop and fix', () => {
    const out = run([file('vnc-failures.log', VNC_FAILURES.join('\n')), '--json']);
    assert.equal(out.status, 1);
    const report = JSON.parse(out.stdout) as { findings: Array<{ severity: string; hop: string; title: string; evidence: string[]; fix: string }>; counts: { unreadable: number } };
    assert.equal(report.counts.unreadable, 0);
    assert.deepEqual(
      report.findings.map((f) => [f.severity, f.hop, f.title]),
      [
        ['fail', 'agent', 'handler 4 (GET /websockify): Basic auth failed (unknown-user): the credentials name user bob, whom KasmVNC\'s password file does not hold ("Authentication attempt failed, user bob does not exist")'],
        ['fail', 'session', 'handler 5: KasmVNC accepted the websocket but could not reach Xvnc behind it ("Could not connect to target: Connection refused"): the desktop server is not running'],
        ['fail', 'session', "Xvnc exited at a TLS connection: it could not load the private key file /home/kasm-user/.vnc/self.pem (No such file or directory), and websocket.c's fatal() ends the whole server"],
        ['warn', 'path', 'Xvnc closed 1 viewer connection: the connection broke instead of closing (write: Broken pipe (32) x1)'],
        ['info', 'session', 'handler 5: websocket accepted (HyBi/IETF 6455 13, BasicAuth matched)'],
        ['info', 'session', '1 viewer connection to Xvnc: 1 closed (write: Broken pipe (32) x1), 0 still open'],
        ['info', 'session', '2 websocket handlers: auth-failed x1, websocket x1'],
      ],
    );
    const [unknownUser, noXvnc, tlsKey, dropped] = report.findings;
    assert.deepEqual(unknownUser!.evidence, VNC_FAILURES.slice(1, 4));
    assert.equal(noXvnc!.evidence[0], VNC_FAILURES[8]);
    assert.equal(noXvnc!.fix, "Xvnc's internal socket did not answer: Xvnc exited or is restarting. Read the lines before it for a crash or a fatal error, check `ps aux | grep Xvnc` in the session container, and start a new session.");
    assert.deepEqual(tlsKey!.evidence, VNC_FAILURES.slice(12));
    assert.deepEqual(dropped!.evidence, [VNC_FAILURES[11]]);
  });

  test('each handshake, frame, relay and close reading comes with its hop and its own fix', () => {
    const lines = [
      " 2024-11-01 06:19:30,105 [DEBUG] websocket 6: SSL connection but '/home/kasm-user/.vnc/self.pem' not found",
      ' 2024-11-01 06:19:30,106 [DEBUG] websocket 7: Oversized handshake',
      ' 2024-11-01 06:19:30,106 [INFO] websocket 7: - 172.18.0.5 - "GET - HTTP/1.1" 400 104',
      ' 2024-11-01 06:19:30,107 [DEBUG] websocket 8: Incomplete handshake',
      ' 2024-11-01 06:19:30,108 [DEBUG] websocket 9: Request too long (1391) or attempted dir traversal attack, rejecting',
      ' 2024-11-01 06:19:30,109 [DEBUG] websocket 10: using protocol HyBi/IETF 6455 13',
      ' 2024-11-01 06:19:30,109 [DEBUG] websocket 10: Received unmasked payload from client',
      ' 2024-11-01 06:19:30,110 [DEBUG] websocket 11: using protocol HyBi/IETF 6455 13',
      ' 2024-11-01 06:19:30,110 [DEBUG] websocket 11: Invalid opcode. Opcode must be 0x01 for text mode, or 0x02 for binary mode.',
      ' 2024-11-01 06:19:30,111 [DEBUG] websocket 12: using protocol HyBi/IETF 6455 13',
      ' 2024-11-01 06:19:30,111 [DEBUG] websocket 12: target connection error: Broken pipe',
      ' 2024-11-01 06:19:30,112 [DEBUG] websocket 13: using protocol HyBi/IETF 6455 13',
      ' 2024-11-01 06:19:30,112 [DEBUG] websocket 13: client exception',
      " 2024-11-01 06:19:30,113 [INFO] websocket 14: Error: BasicAuth configured to read password from file /home/kasm-user/.kasmpasswd, but the file doesn't exist or has no valid users",
      ' 2024-11-01 06:19:30,113 [INFO] websocket 14: Authentication attempt failed, wrong password for user -',
      ' 2024-11-01 06:19:31,000 [PRIO] Connections: closed: kasm_user@172.18.0.5_1730442000.100000::websocket (Non-shared connection requested)',
      ' 2024-11-01 06:19:31,001 [PRIO] Connections: closed: kasm_user@172.18.0.6_1730442000.100000::websocket (Authentication failure)',
    ];
    const out = run([file('vnc-handshake.log', lines.join('\n')), '--json']);
    const report = JSON.parse(out.stdout) as { findings: Array<{ severity: string; hop: string; title: string; evidence: string[]; fix: string }>; counts: { unreadable: number } };
    assert.equal(report.counts.unreadable, 0);
    // The fix's opening words: each reading has its own, none falls back to another's.
    assert.deepEqual(
      report.findings.filter((f) => f.severity !== 'info').map((f) => [f.severity, f.hop, f.evidence[0], f.fix.split(':')[0]]),
      [
        ['fail', 'session', lines[0], 'The workspace image must hold the certificate kasmvnc.yaml names (network.ssl.pem_certificate; in Kasm\'s images ~/.vnc/self.pem), readable by the desktop user'],
        ['fail', 'client', lines[1], "Clear the browser's cookies for the Kasm domain (and its parent domain, whose cookies ride along), or stop the proxy in front of Kasm from adding large headers"],
        ['fail', 'path', lines[6], 'Let the WebSocket through unchanged'],
        ['fail', 'session', lines[8], 'An internal KasmVNC error'],
        ['fail', 'session', lines[10], 'Xvnc dropped its end of the stream'],
        ['fail', 'session', lines[13], "The workspace image must write KasmVNC's password file when the session starts"],
        ['fail', 'session', lines[16], "The browser client answers Xvnc's VncAuth with the password vncserver set"],
        ['warn', 'path', lines[3], 'Something sent KasmVNC a request in many small pieces, or not HTTP at all'],
        ['warn', 'path', lines[4], "If the session's own requests are refused, a proxy in front of Kasm lengthens or rewrites their URLs (query strings, path prefixes)"],
        ['warn', 'path', lines[12], 'Something between the browser and KasmVNC sent TCP urgent data or broke the connection'],
        ['warn', 'client', lines[15], 'Keep one tab per session; kasmvnc.yaml\'s user_session (session_type, new_session_disconnects_existing_exclusive_session) decides whether a new viewer takes the session over or joins it.'],
      ],
    );
  });

  test("vncserver's refusal of a stale :1 (kasmtech/workspaces-issues#637) fails the session hop once, however often a restart repeats it", () => {
    const refusal = 'Warning: kasm:1 is taken because of /tmp/.X1-lock\nRemove this file if there is no X server kasm:1\nA VNC server is already running as :1\n';
    const out = run(['-'], refusal.repeat(2));
    assert.equal(out.status, 1);
    assert.match(out.stdout, /FAIL \[session\/kasmvnc\] vncserver refused to start display :1 \("A VNC server is already running as :1"\): \/tmp\/\.X1-lock is there, so vncserver counts the display as taken; no Xvnc started, so the session cannot load \(2 times\)\n/);
    assert.equal(out.stdout.match(/vncserver refused/g)?.length, 1);
    assert.match(out.stdout, /fix: {3}If no Xvnc runs in the container .*remove \/tmp\/\.X1-lock and \/tmp\/\.X11-unix\/X1 from the image, or before vncserver starts/);
    assert.match(out.stdout, /6 lines read \(kasmvnc 6\); 0 could not be read/);
  });
});

describe('analyze, on text in no format it reads', () => {
  test('says so, naming every format it does read', () => {
    const result = analyze('lorem ipsum\ndolor sit amet');
    assert.equal(result.ok, false);
    assert.deepEqual(result.notes, [
      "none of the 2 lines is in a format this tool reads (kasm_api, kasm_agent, kasm_proxy/nginx, KasmVNC, docker ps, curl, HTML error pages, the Kasm UI's log export, docker compose, Kasm's installer, kubectl get, DevTools' Copy as fetch; README, \"Reading logs offline\")",
    ]);
  });
});
