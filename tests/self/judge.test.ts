// The verdicts that real nginx made necessary (helpers/judge/): path.websocket-upgrade, path.websocket-hold, the
// session-tied api calls, webapp.local-connectivity's stale kasm_proxy and agent.upstream-auth-reachable's TLS view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCut } from '../../helpers/judge/websocket-hold.ts';
import { plainGetReachedKasmVnc } from '../../helpers/judge/websocket-upgrade.ts';
import { directAnswer, judgeStaleProxy } from '../../helpers/judge/stale-proxy.ts';
import { judgeTlsInterception, withInterception } from '../../helpers/judge/tls-interception.ts';
import { parseCurlCertificate } from '../../helpers/logs/curl.ts';
import { parseNginxAccessLog } from '../../helpers/logs/nginx.ts';

describe('plainGetReachedKasmVnc', () => {
  it('reads KasmVNC in the Server header when nothing in front rewrote it', () => {
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'KasmVNC/4.0' }, body: '404' }), 'answered 404 by KasmVNC/4.0');
  });

  it("reads KasmVNC's own 404 body through nginx, which replaced the Server header", () => {
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'nginx/1.22.1' }, body: '404' }), 'answered 404 with KasmVNC\'s own "404" body, through nginx/1.22.1');
  });

  it("does not take nginx's own 404 page, a 403 from a device, or a 101 for KasmVNC's answer", () => {
    const nginx404 = '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 404, headers: { server: 'nginx/1.22.1' }, body: nginx404 }), undefined);
    assert.equal(plainGetReachedKasmVnc({ code: 'NOT_UPGRADED', status: 403, headers: { server: 'nginx/1.22.1' }, body: '404' }), undefined);
    assert.equal(plainGetReachedKasmVnc({ code: 'UPGRADED', status: 101, headers: { server: 'KasmVNC/4.0' } }), undefined);
  });
});

describe('describeCut', () => {
  it('calls a cut of a stream that had been quiet for most of its life an idle timeout, with its length', () => {
    const { summary, remediation } = describeCut({ cutAfterMs: 1946, quietBeforeCutMs: 1891, closeCode: 1006, bytes: 1094 }, 3000);
    assert.equal(summary, 'the stream was cut 1946 ms after it opened (of 3000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 1094 bytes; nothing had crossed it for 1891 ms: an idle timeout of about 1.9 s on a device in the path');
    assert.match(remediation, /proxy_read_timeout/);
  });

  it('calls a cut while data flowed a duration limit or a dropped connection, not an idle timeout', () => {
    const { summary, remediation } = describeCut({ cutAfterMs: 5000, quietBeforeCutMs: 120, closeCode: 1006, bytes: 90_000 }, 8000);
    assert.equal(summary, 'the stream was cut 5000 ms after it opened (of 8000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 90000 bytes, 120 ms after the last byte: data was still flowing, so a maximum connection duration or a dropped connection, not an idle timeout');
    assert.match(remediation, /maximum|limits how long/);
  });

  it('says nothing of quiet when the hold did not measure it', () => {
    assert.equal(describeCut({ cutAfterMs: 10, closeCode: 1006, bytes: 12 }, 1000).summary, 'the stream was cut 10 ms after it opened (of 1000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 12 bytes');
  });
});

describe('sessionCalls', async () => {
  const { sessionCalls } = await import('../../helpers/judge/session-calls.ts');
  const { parseKasmApiLog } = await import('../../helpers/logs/kasm-api.ts');
  const ours = '6ae80946-dc5c-4a4a-a3d9-d70654863cca';
  const theirs = '0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d';
  const access = (status: number, kasmId: string | null) =>
    `2026-12-02 17:57:10,120 [INFO] cherrypy.access.140087972390848: 172.18.0.5 - - [02/Dec/2026:17:57:10] "GET /api/kasm_connect/ HTTP/1.0" ${status} - "${kasmId ? `https://kasm.localhost:41915/desktop/${kasmId}/vnc/vnc.html?autoconnect=1` : ''}" "Mozilla/5.0"`;
  const entries = (lines: string[]) => parseKasmApiLog(lines.join('\n')).entries.map((entry) => ({ host: '198.18.0.11', entry }));

  it("counts another session's 202 as theirs, never as ours", () => {
    const result = sessionCalls('/api/kasm_connect/', entries([access(202, theirs), access(202, theirs), access(401, ours)]), [], ours);
    assert.deepEqual({ accepted: result.accepted.length, denied: result.denied.length, others: result.others, unattributed: result.unattributed.length }, { accepted: 0, denied: 1, others: 2, unattributed: 0 });
  });

  it('takes a 202 whose Referer names our session, and kasm_api\'s "Authenticated kasm_connect request" line for it', () => {
    assert.equal(sessionCalls('/api/kasm_connect/', entries([access(202, ours)]), [], ours).accepted.length, 1);
    const message = entries([`2026-12-02 17:57:10,121 [INFO] client_api_server: Authenticated kasm_connect request for (/desktop/${ours}/vnc/vnc.html) for user (synthetic@kasm.local)`]);
    assert.equal(sessionCalls('/api/kasm_connect/', [], message, ours).accepted.length, 1);
    const other = entries([`2026-12-02 17:57:10,121 [INFO] client_api_server: Authenticated kasm_connect request for (/desktop/${theirs}/vnc/vnc.html) for user (colleague@kasm.local)`]);
    assert.equal(sessionCalls('/api/kasm_connect/', [], other, ours).accepted.length, 0);
    // kasm_connect's success says nothing about the agent's internal_auth.
    assert.equal(sessionCalls('/api/internal_auth/', [], message, ours).accepted.length, 0);
  });

  it('keeps calls whose lines name no session apart: they may be ours, but nothing shows it', () => {
    const result = sessionCalls('/api/kasm_connect/', entries([access(202, null)]), [], ours);
    assert.deepEqual([result.accepted.length, result.unattributed.length, result.others], [0, 1, 0]);
  });
});

describe('judgeStaleProxy', () => {
  // What the real-parts lab's kasm_proxy (nginx 1.22) logged after kasm_api came back at another address.
  const log = [
    '172.18.0.1 - - [02/Dec/2026:22:57:10 +0000] "GET /api/__healthcheck HTTP/1.1" 502 157 "-" "curl/7.88.1" "-"',
    '2026/12/02 22:57:13 [error] 22#22: *41 connect() failed (113: No route to host) while connecting to upstream, client: 198.18.0.2, server: _, request: "GET /api/__healthcheck HTTP/1.1", upstream: "http://172.18.0.2:8080/api/__healthcheck", host: "kasm.localhost:39183"',
  ].join('\n');
  const errors = parseNginxAccessLog(log).errors;
  const path = '/api/__healthcheck';

  it('names the old address from the error line when the local curl timed out during ARP', () => {
    const verdict = judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: errors, path });
    assert.match(verdict!.summary, /^kasm_proxy gives no answer in time for \/api\/__healthcheck while kasm_api is Up, kasm_proxy's log says "connect\(\) failed \(113: No route to host\) while connecting to upstream" for http:\/\/172\.18\.0\.2:8080\/api\/__healthcheck: .*stale DNS/);
    assert.equal(verdict!.evidence, log.split('\n')[1]);
  });

  it('judges a 502 while kasm_api is Up even without the error line (an nginx that logs elsewhere)', () => {
    assert.match(judgeStaleProxy({ curl: { code: 'HTTP_ERROR', httpStatus: 502 }, apiUp: true, proxyErrors: [], path })!.summary, /^kasm_proxy answers 502 for \/api\/__healthcheck while kasm_api is Up: /);
  });

  it('leaves a timeout without the line (a hang, a firewall) and anything while kasm_api is down to other verdicts', () => {
    assert.equal(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: [], path }), undefined);
    assert.equal(judgeStaleProxy({ curl: { code: 'HTTP_ERROR', httpStatus: 502 }, apiUp: false, proxyErrors: errors, path }), undefined);
    assert.equal(judgeStaleProxy({ curl: { code: 'HTTP_ERROR', httpStatus: 404 }, apiUp: true, proxyErrors: errors, path }), undefined);
    assert.equal(judgeStaleProxy({ curl: { code: 'REFUSED_OR_NO_ROUTE' }, apiUp: true, proxyErrors: errors, path }), undefined);
  });

  it('does not take an error about another kind of upstream trouble for a stale address', () => {
    const other = parseNginxAccessLog('2026/12/02 22:57:13 [error] 22#22: *41 upstream prematurely closed connection while reading response header from upstream, client: 198.18.0.2, server: _, request: "GET /api/__healthcheck HTTP/1.1", upstream: "http://172.18.0.2:8080/api/__healthcheck", host: "kasm.localhost"').errors;
    assert.equal(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: other, path }), undefined);
  });

  // What the real-parts lab's kasm_proxy logged while the kernel still held the old address's neighbour entry: curl
  // gave up after 5 s, nginx was still connecting, and all it wrote was the client's 499.
  const quiet = parseNginxAccessLog('198.18.0.11 - - [03/Dec/2026:13:42:25 +0000] "GET /api/__healthcheck HTTP/1.1" 499 0 "-" "curl/7.88.1" "-"').errors;
  const direct = { url: 'http://172.18.255.250:8080/api/__healthcheck', answered: 'ok' as const };

  it('judges a silent timeout when kasm_api answers at its own address from the server', () => {
    const verdict = judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: quiet, path, direct });
    assert.match(verdict!.summary, /^kasm_proxy gives no answer in time for \/api\/__healthcheck while kasm_api is Up, kasm_api answers http:\/\/172\.18\.255\.250:8080\/api\/__healthcheck itself: .*stale DNS/);
    assert.equal(verdict!.evidence, undefined);
    assert.match(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: errors, path, direct })!.summary, /itself, and kasm_proxy's log says "connect\(\) failed \(113/);
  });

  it('blames kasm_api, not kasm_proxy, when kasm_api does not answer at its own address either', () => {
    const hangs = { url: direct.url, answered: 'failed' as const };
    assert.equal(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: quiet, path, direct: hangs }), undefined);
    assert.equal(judgeStaleProxy({ curl: { code: 'HTTP_ERROR', httpStatus: 504 }, apiUp: true, proxyErrors: [], path, direct: hangs }), undefined);
    // A failed connect to an address says kasm_proxy could not reach it, whatever kasm_api does now.
    assert.ok(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: errors, path, direct: hangs }));
  });

  it('takes a Docker network the server cannot route into as no evidence either way', () => {
    const unreachable = { url: direct.url, answered: 'unreachable' as const };
    assert.equal(judgeStaleProxy({ curl: { code: 'TIMEOUT' }, apiUp: true, proxyErrors: quiet, path, direct: unreachable }), undefined);
    assert.match(judgeStaleProxy({ curl: { code: 'HTTP_ERROR', httpStatus: 502 }, apiUp: true, proxyErrors: [], path, direct: unreachable })!.summary, /^kasm_proxy answers 502 for \/api\/__healthcheck while kasm_api is Up: /);
  });
});

describe('judgeTlsInterception', () => {
  const url = 'https://198.18.0.11/api/__healthcheck';
  const kasm = { subject: 'CN=kasm.localhost', issuer: 'CN=kasm.localhost' };
  const inspected = { subject: 'CN=kasm.localhost', issuer: 'CN=Example Corp TLS Inspection CA' };
  const webapps = [{ name: 'kasm-webapp-1', certificate: kasm }];

  it("names the other CA when the agent is shown another issuer's certificate than the WebApp servers", () => {
    const verdict = judgeTlsInterception({ url, agent: inspected, webapps });
    assert.match(verdict!.summary, /^https:\/\/198\.18\.0\.11\/api\/__healthcheck shows this agent a certificate issued by "CN=Example Corp TLS Inspection CA", but WebApp server kasm-webapp-1 gets one issued by "CN=kasm\.localhost" for the same address: a TLS-inspecting device/);
    assert.match(verdict!.remediation, /Exempt the agents' traffic .* "CN=Example Corp TLS Inspection CA"/);
    assert.deepEqual(verdict!.evidence.agentSees, inspected);
  });

  it('says so when only the subject differs (a device that copies the issuer name)', () => {
    assert.match(judgeTlsInterception({ url, agent: { subject: 'CN=*.corp.example', issuer: kasm.issuer }, webapps })!.summary, /a certificate for "CN=\*\.corp\.example", but WebApp server kasm-webapp-1 gets one for "CN=kasm\.localhost"/);
  });

  it('finds nothing when any WebApp server is shown the same, and judges nothing without both views', () => {
    assert.equal(judgeTlsInterception({ url, agent: kasm, webapps }), undefined);
    // Two WebApp servers behind a load balancer with two certificates: the agent matching one of them is fine.
    assert.equal(judgeTlsInterception({ url, agent: inspected, webapps: [...webapps, { name: 'kasm-webapp-2', certificate: inspected }] }), undefined);
    assert.equal(judgeTlsInterception({ url, agent: undefined, webapps }), undefined);
    assert.equal(judgeTlsInterception({ url, agent: inspected, webapps: [] }), undefined);
  });
});

describe('withInterception', () => {
  const intercepted = judgeTlsInterception({ url: 'https://10.0.0.5/api/__healthcheck', agent: { subject: 'CN=k', issuer: 'CN=Inspect CA' }, webapps: [{ name: 'w1', certificate: { subject: 'CN=k', issuer: 'CN=k' } }] })!;

  it('turns a working call through an inspecting device into a warning, and names the device in a failure', () => {
    const pass = { status: 'pass' as const, summary: 'https://10.0.0.5/api/__healthcheck answered {"ok": true}', evidence: { code: 'OK' } };
    const warned = withInterception(pass, intercepted);
    assert.equal(warned.status, 'warn');
    assert.match(warned.summary, /issued by "CN=Inspect CA", .* \(its health call still answered \{"ok": true\}\)$/);
    assert.deepEqual(Object.keys(warned.evidence!), ['code', 'interception']);
    const fail = { status: 'fail' as const, summary: 'https://10.0.0.5/api/__healthcheck: the TLS handshake failed', remediation: 'Set the zone.', evidence: {} };
    const failed = withInterception(fail, intercepted);
    assert.equal(failed.status, 'fail');
    assert.match(failed.summary, /^https:\/\/10\.0\.0\.5\/api\/__healthcheck: the TLS handshake failed; and .* a TLS-inspecting device/);
    assert.match(failed.remediation!, /^Exempt the agents' traffic .* Set the zone\.$/);
    assert.equal(withInterception(pass, undefined), pass);
  });
});

describe('directAnswer', () => {
  it('tells a kasm_api that answered, one that was reached and did not answer well, and one never reached', () => {
    assert.equal(directAnswer({ ok: true, code: 'OK' }), 'ok');
    for (const code of ['TIMEOUT', 'HTTP_ERROR', 'BAD_BODY'] as const) assert.equal(directAnswer({ ok: false, code }), 'failed', code);
    for (const code of ['REFUSED_OR_NO_ROUTE', 'DNS', 'TLS', 'OTHER'] as const) assert.equal(directAnswer({ ok: false, code }), 'unreachable', code);
  });
});

describe('parseCurlCertificate', () => {
  it('reads the last certificate of a verbose report, and nothing from a report without one', () => {
    const report = ['*   Trying 198.18.0.11:443...', '* Server certificate:', '*  subject: CN=kasm.localhost', '*  start date: Dec  3 14:20:00 2026 GMT', '*  issuer: CN=Example Corp TLS Inspection CA', '*  SSL certificate verify result: unable to get local issuer certificate (20), continuing anyway.', '> GET /api/__healthcheck HTTP/1.1'].join('\n');
    assert.deepEqual(parseCurlCertificate(report), { subject: 'CN=kasm.localhost', issuer: 'CN=Example Corp TLS Inspection CA' });
    assert.equal(parseCurlCertificate('*   Trying 198.18.0.11:443...\n* connect to 198.18.0.11 port 443 failed: Connection refused\ncurl: (7) Failed to connect'), undefined);
    assert.equal(parseCurlCertificate('*  issuer: CN=alone'), undefined);
    assert.equal(parseCurlCertificate(`*  subject: ${'x'.repeat(200_000)}\n*  issuer: CN=a`), undefined);
  });
});

describe('judgeApiCall', async () => {
  const { judgeApiCall, wantsAgentLine } = await import('../../helpers/judge/api-call.ts');
  const { sessionCalls } = await import('../../helpers/judge/session-calls.ts');
  const { parseKasmApiLog } = await import('../../helpers/logs/kasm-api.ts');
  const ours = '6ae80946-dc5c-4a4a-a3d9-d70654863cca';
  const access = (path: string, status: number, kasmId: string | null) =>
    `2026-12-02 17:57:10,120 [INFO] cherrypy.access.140087972390848: 172.18.0.5 - - [02/Dec/2026:17:57:10] "GET ${path} HTTP/1.0" ${status} - "${kasmId ? `https://kasm.localhost:41915/desktop/${kasmId}/vnc/vnc.html` : ''}" "Mozilla/5.0"`;
  const entries = (lines: string[]) => parseKasmApiLog(lines.join('\n')).entries.map((entry) => ({ host: '198.18.0.11', entry }));
  const evidence = (check: 'api.kasm-connect' | 'api.internal-auth', lines: string[], extra = {}) => {
    const path = check === 'api.kasm-connect' ? '/api/kasm_connect/' : '/api/internal_auth/';
    return { check, path, kasmId: ours, since: new Date('2026-12-02T17:57:00Z'), hosts: ['198.18.0.11'], calls: sessionCalls(path, entries(lines), [], ours), warnings: [], browserSentBoth: true, unreadable: [], ...extra };
  };

  it('passes on a 202 naming the session, fails on a refusal, warns on 202s that name no session', () => {
    assert.equal(judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 202, ours)])).status, 'pass');
    const refused = judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 403, ours)]));
    assert.equal(refused.status, 'fail');
    assert.match(refused.summary, /^kasm_api answered \/api\/kasm_connect\/ with 403 on 198\.18\.0\.11: /);
    assert.equal(judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 202, null)])).status, 'warn');
  });

  it('blames the path for a Cookie the browser sent and kasm_api did not get', () => {
    const warning = entries(['2026-12-02 17:57:10,121 [WARNING] client_api_server: kasm_connect: missing required username or token']);
    const verdict = judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 401, ours)], { warnings: warning }));
    assert.deepEqual([verdict.status, verdict.hop], ['fail', 'path']);
    assert.match(verdict.summary, /a device in front of Kasm stripped the Cookie header/);
  });

  it('says a read that failed is unknown, not absent, and retries a timeout', () => {
    const verdict = judgeApiCall(evidence('api.kasm-connect', [], { unreadable: [{ host: '198.18.0.11', why: 'docker logs timed out after 5000 ms', timedOut: true }] }));
    assert.deepEqual([verdict.status, verdict.hop, verdict.transient], ['fail', 'webapp', true]);
  });

  it('no internal_auth line while the agent served the stream is a warning that says so, never a false failure', () => {
    const none = judgeApiCall(evidence('api.internal-auth', []));
    assert.deepEqual([none.status, none.hop], ['fail', 'agent']);
    const served = judgeApiCall(evidence('api.internal-auth', [], { agentServed: { host: '198.18.0.21', line: `"GET /desktop/${ours}/vnc/websockify HTTP/1.1" 101 1234` } }));
    assert.equal(served.status, 'warn');
    assert.match(served.summary, /but the agent's kasm_proxy served the session's websockify with 101 \(198\.18\.0\.21: /);
    // kasm_connect's absence is never excused by the agent: the desktop request must reach a WebApp server.
    assert.equal(judgeApiCall(evidence('api.kasm-connect', [], { agentServed: { host: 'x', line: 'y' } })).status, 'fail');
  });

  it("reads the agent's line only for an internal_auth call absent, nothing refused and every log read", () => {
    const none = evidence('api.internal-auth', []);
    assert.equal(wantsAgentLine(none, judgeApiCall(none)), true);
    const served = { ...none, agentServed: { host: 'a', line: 'b' } };
    assert.equal(wantsAgentLine(served, judgeApiCall(served)), false);
    const refused = evidence('api.internal-auth', [access('/api/internal_auth/', 403, ours)]);
    assert.equal(wantsAgentLine(refused, judgeApiCall(refused)), false);
    const unread = evidence('api.internal-auth', [], { unreadable: [{ host: '198.18.0.11', why: 'x', timedOut: false }] });
    assert.equal(wantsAgentLine(unread, judgeApiCall(unread)), false);
    const connect = evidence('api.kasm-connect', []);
    assert.equal(wantsAgentLine(connect, judgeApiCall(connect)), false);
  });

  it('says each verdict in exact words', () => {
    assert.deepEqual(judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 202, ours), access('/api/kasm_connect/', 202, '0b0e1c2d-0000-4000-8000-000000000000')])), {
      status: 'pass',
      summary: `/api/kasm_connect/ answered 202 for session ${ours} (1 line naming it on 198.18.0.11; 1 call in the window was for other sessions)`,
    });
    assert.deepEqual(judgeApiCall(evidence('api.internal-auth', [])), {
      status: 'fail',
      summary: `no /api/internal_auth/ call for session ${ours} reached kasm_api on 198.18.0.11 since 2026-12-02T17:57:00.000Z`,
      remediation: "The agent never called kasm_api: check the zone's Upstream Auth Address resolves and is reachable from the agents (agent.upstream-auth-reachable).",
      hop: 'agent',
    });
    const line = `"GET /desktop/${ours}/vnc/websockify HTTP/1.1" 101 1234`;
    assert.deepEqual(judgeApiCall(evidence('api.internal-auth', [], { agentServed: { host: '198.18.0.21', line } })), {
      status: 'warn',
      summary: `no /api/internal_auth/ line for session ${ours} in kasm_api's log on 198.18.0.11 since 2026-12-02T17:57:00.000Z, but the agent's kasm_proxy served the session's websockify with 101 (198.18.0.21: ${line}): this deployment authorizes the stream without a logged internal_auth call`,
      remediation: "Nothing is known to be broken: the stream was authorized and served. If your Kasm version should log internal_auth, compare the agent's kasm_proxy config (its auth_request location) with a WebApp server's.",
    });
    assert.deepEqual(judgeApiCall(evidence('api.kasm-connect', [access('/api/kasm_connect/', 403, ours)])), {
      status: 'fail',
      summary: `kasm_api answered /api/kasm_connect/ with 403 on 198.18.0.11: ${access('/api/kasm_connect/', 403, ours)}`,
    });
  });
});

describe('host configuration verdicts', async () => {
  const { judgeContainers, judgeFirewall, judgeListening, judgeLocalCurl, rolesShown } = await import('../../helpers/judge/host-config.ts');
  const { parseDockerPs } = await import('../../helpers/logs/docker-ps.ts');
  const { parseUfwStatus, parseIptablesRules } = await import('../../helpers/logs/firewall.ts');
  const { parseSsListening } = await import('../../helpers/logs/ss.ts');
  const { classifyCurl } = await import('../../helpers/logs/curl.ts');
  const line = (id: string, image: string, command: string, created: string, status: string, ports: string, name: string) => `${id.padEnd(15)}${image.padEnd(23)}${command.padEnd(25)}${created.padEnd(17)}${status.padEnd(36)}${ports.padEnd(40)}${name}`;
  const HEADER = line('CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES');
  const row = (name: string, created: string, status: string, ports = '') => line('0123456789ab', 'kasmweb/x:1.16.0', '"/bin/sh -c x"', created, status, ports, name);
  const agent = (rows: string[]) => judgeContainers({ role: 'agent', roles: ['agent'], containers: parseDockerPs([HEADER, ...rows].join('\n')).containers, unparsed: 0, port: 443 });
  const PROXY = row('kasm_proxy', '2 hours ago', 'Up 2 hours', '0.0.0.0:443->443/tcp');

  it('passes a healthy agent, fails a missing or restarting container, names a port kasm_proxy does not publish', () => {
    assert.equal(agent([PROXY, row('kasm_agent', '2 hours ago', 'Up 2 hours (healthy)')]).status, 'pass');
    assert.deepEqual([agent([PROXY]).status, agent([PROXY]).summary], ['fail', 'kasm_agent is missing']);
    assert.equal(agent([PROXY, row('kasm_agent', '2 hours ago', 'Restarting (1) 5 seconds ago')]).summary, 'kasm_agent Restarting (1) 5 seconds ago (a restart loop)');
    assert.match(agent([row('kasm_proxy', '2 hours ago', 'Up 2 hours', '0.0.0.0:8443->443/tcp'), row('kasm_agent', '2 hours ago', 'Up 2 hours')]).summary, /^kasm_proxy publishes 8443, expected 443$/);
  });

  it('a container created long ago and Up a few seconds has just restarted: a warning, not up', () => {
    const verdict = agent([PROXY, row('kasm_agent', '52 minutes ago', 'Up 4 seconds (health: starting)')]);
    assert.equal(verdict.status, 'warn');
    assert.equal(verdict.summary, 'kasm_agent (created 52 minutes ago, Up 4 seconds (health: starting)): just restarted');
    // A container that was just created is only starting.
    assert.match(agent([PROXY, row('kasm_agent', '5 seconds ago', 'Up 4 seconds (health: starting)')]).summary, /health checks still starting$/);
  });

  it('a kasm_proxy that is down explains what it serves; kasm_api alone is the api hop', () => {
    const down = agent([row('kasm_proxy', '2 hours ago', 'Exited (0) 3 minutes ago'), row('kasm_agent', '2 hours ago', 'Up 2 hours')]);
    assert.deepEqual(down.explains, ['agent.listening', 'agent.local-connectivity', 'webapp.agent-reachable']);
    const webapp = judgeContainers({ role: 'webapp', roles: ['webapp'], port: 443, unparsed: 0, containers: parseDockerPs([HEADER, PROXY, row('kasm_api', '2 hours ago', 'Exited (137) 5 seconds ago'), row('kasm_manager', '2 hours ago', 'Up 2 hours'), row('kasm_share', '2 hours ago', 'Up 2 hours')].join('\n')).containers });
    assert.deepEqual([webapp.status, webapp.hop, webapp.explains], ['fail', 'api', ['api.health']]);
  });

  it('reads a pasted excerpt: no container is missing, every row is judged, the roles come from the names', () => {
    const pasted = (rows: string[]) => {
      const containers = parseDockerPs(rows.join('\n')).containers;
      return judgeContainers({ roles: rolesShown(containers), containers, unparsed: 0, excerpt: true });
    };
    assert.deepEqual(rolesShown(parseDockerPs([HEADER, PROXY, row('kasm_agent', '2 hours ago', 'Up 2 hours')].join('\n')).containers), ['agent']);
    assert.deepEqual(rolesShown(parseDockerPs([HEADER, PROXY].join('\n')).containers), []);
    const up = pasted([HEADER, PROXY, row('kasm_agent', '2 hours ago', 'Up 2 hours')]);
    assert.deepEqual([up.status, up.summary, up.explains], ['pass', '2 containers up', undefined]);
    const guac = pasted([row('kasm_guac', '18 hours ago', 'Restarting (1) 54 seconds ago')]);
    assert.deepEqual([guac.status, guac.summary, guac.evidence?.involved], ['fail', 'kasm_guac Restarting (1) 54 seconds ago (a restart loop)', ['kasm_guac']]);
    const session = pasted([PROXY, row('user_6ae80946', '1 hour ago', 'Exited (137) 2 minutes ago')]);
    assert.equal(session.summary, 'user_6ae80946 Exited (137) 2 minutes ago');
    const together = pasted([row('kasm_proxy', '52 minutes ago', 'Up Less than a second'), row('kasm_api', '52 minutes ago', 'Up 4 seconds (health: starting)')]);
    assert.deepEqual([together.status, together.summary], ['warn', "every container (2) was created 52 minutes ago but is Up less than a minute: all were just restarted together (Docker, the host or Kasm restarted), or the host's clock jumped"]);
  });

  it('judges the listening port, the firewall and the local curl', () => {
    const ss = (text: string) => parseSsListening(`State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n${text}`).sockets;
    assert.equal(judgeListening(443, ss('LISTEN 0 4096 0.0.0.0:443 0.0.0.0:*\nLISTEN 0 4096 [::]:443 [::]:*')).status, 'pass');
    assert.equal(judgeListening(443, ss('LISTEN 0 4096 0.0.0.0:443 0.0.0.0:*')).status, 'warn');
    assert.equal(judgeListening(443, ss('LISTEN 0 4096 0.0.0.0:22 0.0.0.0:*')).summary, 'nothing listens on port 443 (ss -ltn)');
    const ufw = parseUfwStatus('Status: active\n\nTo                         Action      From\n--                         ------      ----\n443/tcp                    DENY        Anywhere\n');
    const open = judgeFirewall(443, parseUfwStatus('Status: inactive\n'), parseIptablesRules('-P INPUT ACCEPT\n'));
    assert.deepEqual([open.status, open.summary], ['pass', 'ufw inactive; no ufw or iptables rule blocks port 443']);
    const blocked = judgeFirewall(443, ufw, parseIptablesRules('-P INPUT ACCEPT\n'));
    assert.equal(blocked.status, 'warn');
    assert.match(blocked.remediation!, /this suite never changes firewall rules/);
    const refused = judgeLocalCurl('https://10.0.0.2:443/agent/__healthcheck', classifyCurl({ exitCode: 7, stdout: '\n000', stderr: 'curl: (7) Failed to connect to 10.0.0.2 port 443: Connection refused' }), {});
    assert.equal(refused.status, 'fail');
    assert.match(refused.remediation!, /host firewall/);
  });
});

describe('KasmVNC session verdicts', async () => {
  const { judgeAuth, judgeCrash, judgeHandshake } = await import('../../helpers/judge/kasmvnc-session.ts');
  const { groupByHandler, parseKasmVncLog } = await import('../../helpers/logs/kasmvnc.ts');
  const reading = (lines: string[]) => {
    const log = parseKasmVncLog(lines.join('\n'));
    const container = { name: 'synthetic_6ae80946', image: 'kasmweb/ubuntu-jammy-desktop:1.16.0', status: 'Up 1 minute', host: { name: '10.0.0.21' } };
    return { container, logPath: '~/.vnc/kasm:1.log', log, groups: groupByHandler(log.entries), debugLines: log.entries.filter((e) => e.level === 'DEBUG').length, override: { state: 'skipped' }, environment: undefined } as unknown as Parameters<typeof judgeAuth>[0];
  };
  const at = (n: number, text: string, level = 'DEBUG') => ` 2024-11-01 06:19:30,1${String(n).padStart(2, '0')} [${level}] websocket 7: ${text}`;

  it('passes an RFC 6455 handshake and the injected credentials', () => {
    const r = reading([at(0, 'got client connection from 172.18.0.5', 'INFO'), at(1, 'BasicAuth matched'), at(2, 'using protocol HyBi/IETF 6455 13')]);
    assert.deepEqual([judgeHandshake(r, undefined).status, judgeAuth(r).status], ['pass', 'pass']);
  });

  it('blames the path for a header the browser sent and KasmVNC did not get, and explains the stream checks', () => {
    const r = reading([at(0, 'got client connection from 172.18.0.5', 'INFO'), at(1, 'BasicAuth matched'), at(2, '/websockify request failed websocket checks, missing Sec-WebSocket-Protocol header', 'INFO'), at(3, '172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 404 180', 'INFO')]);
    const verdict = judgeHandshake(r, { 'Sec-WebSocket-Protocol': 'binary' });
    assert.deepEqual([verdict.status, verdict.hop], ['fail', 'path']);
    assert.match(verdict.summary, /the browser sent Sec-WebSocket-Protocol, so a device between the browser and KasmVNC removed it$/);
    assert.ok(verdict.explains?.includes('session.stream'));
    assert.equal(judgeHandshake(r, {}).hop, 'client', 'a header the browser never sent is the client\'s');
  });

  it('fails the session\'s refused credentials on the agent hop, and warns when the log level hides the result', () => {
    const refused = judgeAuth(reading([at(0, 'got client connection from 172.18.0.5', 'INFO'), at(1, 'Authentication attempt failed, wrong password for user kasm_user', 'INFO'), at(2, '172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 401 0', 'INFO')]));
    assert.deepEqual([refused.status, refused.hop], ['fail', 'agent']);
    assert.match(refused.summary, /^KasmVNC refused 1 of the session's requests in synthetic_6ae80946: the Basic credentials' password is not the session's/);
    const quiet = judgeAuth(reading([at(0, 'got client connection from 172.18.0.5', 'INFO'), at(1, '172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 101 0', 'INFO')]));
    assert.equal(quiet.status, 'warn');
    assert.match(quiet.remediation!, /level: 100/);
  });

  it('a crash check that read no line did not judge: a warning, never a pass', () => {
    const none = judgeCrash(reading([]), 'KasmVNC 1.3.2');
    assert.equal(none.status, 'warn');
    assert.match(none.summary, /^not judged: /);
    assert.equal(judgeCrash(reading([at(0, 'got client connection from 172.18.0.5', 'INFO')]), 'KasmVNC 1.3.2').summary, 'no crash in 1 line of ~/.vnc/kasm:1.log in synthetic_6ae80946 (KasmVNC 1.3.2)');
  });
});
