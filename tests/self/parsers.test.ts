// The parsers in helpers/logs against the real samples of the troubleshooting guide and KASM-FACTS.md (pasted
// verbatim, including the addresses the guide's publishing stripped), other real layouts of the same tools, the lab's
// log lines and stand-in outputs, and malformed input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classifyCurl, parseCurlCommand } from '../../helpers/logs/curl.ts';
import { browserLine, originOf, parseBrowserCopy } from '../../helpers/logs/browser.ts';
import { isInstallerLine, missingFile, parseInstaller } from '../../helpers/logs/installer.ts';
import { parseKasmAgentLog } from '../../helpers/logs/kasm-agent.ts';
import { isKubectlLine, parseKubectl } from '../../helpers/logs/kubectl.ts';
import { agoSeconds, justRestarted, maskOtherContainers, ownContainerPrefixes, parseDockerPorts, parseDockerPs, parseNetworkAddresses } from '../../helpers/logs/docker-ps.ts';
import { blockingRules, parseIptablesRules, parseUfwStatus } from '../../helpers/logs/firewall.ts';
import { parseIpAddr, userFacingAddresses } from '../../helpers/logs/ip.ts';
import { kasmIdsIn, parseKasmApiLog, slotSearch, tracebackIn, type KasmApiEntry } from '../../helpers/logs/kasm-api.ts';
import { kasmIdsInText, maskOtherSessions, normaliseKasmId } from '../../helpers/logs/kasm-id.ts';
import { parseNginxAccessLog } from '../../helpers/logs/nginx.ts';
import { listensOn, parseSocketAddress, parseSsListening } from '../../helpers/logs/ss.ts';
import { installHostCommands } from '../../lab/host/install.ts';
import { cherrypyAccessLine, kasmApiLine, nginxAccessLine } from '../../lab/logs.ts';
import { createContainer, paths, writeJson, type ContainerState, type HostState } from '../../lab/state.ts';

const GARBAGE = '\x00\x01\x02\xff\ufffd\x1f binary \x7f';
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/ Safari/537.36';

/** A JSON round trip turns Dates into strings, so deepEqual can compare whole entries against literals. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('kasm_api log', () => {
  const GUIDE = [
    `2023-11-17 18:31:01,529 [INFO] cherrypy.access.140087972390848: - - [17/Nov/2023:18:31:01] "GET /api/kasm_connect/ HTTP/1.0" 202 - "" "${UA}"`,
    `2023-11-15 18:43:18,076 [INFO] cherrypy.access.140168522947744: - - [15/Nov/2023:18:43:18] "GET /api/internal_auth/ HTTP/1.1" 202 - "" "${UA}"`,
  ];
  const FACTS = [
    '2024-04-10 06:10:58,839 [DEBUG] client_api_server: Unauthenticated user made authorized API call to (healthcheck) from IP address (172.18.0.4).',
    '2024-04-10 06:10:58,844 [INFO] cherrypy.access.140010034769776: 172.18.0.9 - - [10/Apr/2024:06:10:58] "GET /api/__healthcheck HTTP/1.1" 200 12 "" "axios/1.6.7"',
    '2024-08-15 04:16:32,449 [INFO] cherrypy.access.140460463489520: 172.18.0.6 - - [15/Aug/2024:04:16:32] "GET /api/kasm_connect/ HTTP/1.0" 202 - "https://kasm.example.com/desktop/5005adab-5fa1-475b-b1ba-22232d66a98a/vnc/vnc.html?video_quality=2&path=desktop/5005adab-5fa1-475b-b1ba-22232d66a98a/vnc/websockify" "Mozilla/5.0 ..."',
    '2024-08-15 04:16:32,449 [INFO] client_api_server: Authenticated kasm_connect request for (/desktop/5005adab-5fa1-475b-b1ba-22232d66a98a/vnc/js/Mouse.js) for user (alice@example.com)',
  ];

  it("reads the guide's access lines, which lost CherryPy's client address", () => {
    const { entries, unparsed } = parseKasmApiLog(GUIDE.join('\n'));
    assert.deepEqual(unparsed, []);
    assert.deepEqual(plain(entries[0]), {
      kind: 'access',
      at: '2023-11-17T18:31:01.529Z',
      level: 'INFO',
      logger: 'cherrypy.access.140087972390848',
      continuation: [],
      raw: GUIDE[0],
      clientIp: null,
      method: 'GET',
      path: '/api/kasm_connect/',
      query: '',
      protocol: 'HTTP/1.0',
      status: 202,
      bytes: null,
      referer: '',
      userAgent: UA,
    });
    assert.deepEqual(
      entries.map((e) => (e.kind === 'access' ? [e.path, e.protocol, e.status] : [])),
      [
        ['/api/kasm_connect/', 'HTTP/1.0', 202],
        ['/api/internal_auth/', 'HTTP/1.1', 202],
      ],
    );
  });

  it('reads the facts lines: messages, access lines with the proxy address, kasm ids from message and referer', () => {
    const { entries, unparsed } = parseKasmApiLog(FACTS.join('\n'));
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      entries.map((e) => [e.kind, e.level, e.logger]),
      [
        ['message', 'DEBUG', 'client_api_server'],
        ['access', 'INFO', 'cherrypy.access.140010034769776'],
        ['access', 'INFO', 'cherrypy.access.140460463489520'],
        ['message', 'INFO', 'client_api_server'],
      ],
    );
    const health = entries[1]!;
    assert.equal(health.kind, 'access');
    assert.deepEqual([health.clientIp, health.status, health.bytes, health.userAgent, health.at.toISOString()], ['172.18.0.9', 200, 12, 'axios/1.6.7', '2024-04-10T06:10:58.844Z']);
    assert.deepEqual(kasmIdsIn(entries[2]!), ['5005adab-5fa1-475b-b1ba-22232d66a98a']);
    assert.deepEqual(kasmIdsIn(entries[3]!), ['5005adab-5fa1-475b-b1ba-22232d66a98a']);
    assert.equal((entries[3] as Extract<KasmApiEntry, { kind: 'message' }>).message, 'Authenticated kasm_connect request for (/desktop/5005adab-5fa1-475b-b1ba-22232d66a98a/vnc/js/Mouse.js) for user (alice@example.com)');
    assert.deepEqual(kasmIdsIn(entries[0]!), []);
  });

  it("reads the lab's lines, generated by lab/logs.ts", () => {
    const at = new Date('2024-11-18T12:00:00.250Z');
    const text = [
      kasmApiLine('WARNING', 'client_api_server', 'Invalid token for kasm 0123456789ABCDEF0123456789abcdef', at),
      cherrypyAccessLine({ remoteAddr: '172.18.0.2', method: 'POST', uri: '/api/public/request_kasm?x=1', protocol: 'HTTP/1.1', status: 200, bytes: 345, referer: '', userAgent: 'undici' }, at),
      cherrypyAccessLine({ remoteAddr: '172.18.0.2', method: 'GET', uri: '/api/kasm_connect/', protocol: 'HTTP/1.0', status: 202, bytes: 0, referer: 'https://kasm.lab/desktop/x', userAgent: 'Chrome "quoted"' }, at),
    ].join('\n');
    const { entries, unparsed } = parseKasmApiLog(text);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      entries.map((e) => (e.kind === 'access' ? [e.at.toISOString(), e.clientIp, e.method, e.path, e.query, e.status, e.bytes, e.referer, e.userAgent] : [e.at.toISOString(), e.level, e.message])),
      [
        ['2024-11-18T12:00:00.250Z', 'WARNING', 'Invalid token for kasm 0123456789ABCDEF0123456789abcdef'],
        ['2024-11-18T12:00:00.250Z', '172.18.0.2', 'POST', '/api/public/request_kasm', 'x=1', 200, 345, '', 'undici'],
        ['2024-11-18T12:00:00.250Z', '172.18.0.2', 'GET', '/api/kasm_connect/', '', 202, null, 'https://kasm.lab/desktop/x', 'Chrome "quoted"'],
      ],
    );
    assert.deepEqual(kasmIdsIn(entries[0]!), ['01234567-89ab-cdef-0123-456789abcdef']);
  });

  it('attaches traceback lines to the entry before them and strips `docker logs -t` stamps', () => {
    const text = [
      '2024-11-18T12:00:01.123456789Z 2024-11-18 12:00:01,123 [ERROR] client_api_server: Exception in kasm_connect',
      '2024-11-18T12:00:01.123456789Z Traceback (most recent call last):',
      '2024-11-18T12:00:01.123456789Z   File "/src/api_server/client_api.py", line 912, in kasm_connect',
      '2024-11-18T12:00:01.123456789Z     raise ValueError("no kasm")',
      '2024-11-18T12:00:01.123456789Z ValueError: no kasm',
      '2024-11-18T12:00:02.000000000Z 2024-11-18 12:00:02,000 [INFO] client_api_server: next',
    ].join('\r\n');
    const { entries, unparsed } = parseKasmApiLog(text);
    assert.deepEqual(unparsed, []);
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0]!.continuation, ['Traceback (most recent call last):', '  File "/src/api_server/client_api.py", line 912, in kasm_connect', '    raise ValueError("no kasm")', 'ValueError: no kasm']);
    assert.equal(entries[0]!.dockerAt?.toISOString(), '2024-11-18T12:00:01.123Z');
    assert.deepEqual(entries[1]!.continuation, []);
  });

  it('reads the JSON file log (api_server_json.log)', () => {
    const line = JSON.stringify({ host: 'webapp-1', ingest_date: '2024-04-10T06:10:58.839Z', application: 'kasm_api', levelname: 'INFO', message: 'Authenticated kasm_connect request for (/desktop/72248a05922d4518b92f7a9d1ea529eb/vnc/) for user (bob)', process: 'client_api_server' });
    const { entries, unparsed } = parseKasmApiLog(line);
    assert.deepEqual(unparsed, []);
    assert.deepEqual([entries[0]!.kind, entries[0]!.logger, entries[0]!.at.toISOString()], ['message', 'client_api_server', '2024-04-10T06:10:58.839Z']);
    assert.deepEqual(kasmIdsIn(entries[0]!), ['72248a05-922d-4518-b92f-7a9d1ea529eb']);
  });

  it('counts what it cannot read: garbage, a cut last line, continuation with nothing before it', () => {
    assert.deepEqual(parseKasmApiLog(''), { entries: [], unparsed: [] });
    const text = ['  File "orphan.py", line 1', GARBAGE, FACTS[0], GARBAGE, '    after garbage', '2024-04-10 06:10:5'].join('\n');
    const { entries, unparsed } = parseKasmApiLog(text);
    assert.equal(entries.length, 1);
    assert.deepEqual(unparsed, ['  File "orphan.py", line 1', GARBAGE, GARBAGE, '    after garbage', '2024-04-10 06:10:5']);
    assert.deepEqual(parseKasmApiLog('2024-02-30 10:00:00,000 [INFO] x: impossible date').unparsed, ['2024-02-30 10:00:00,000 [INFO] x: impossible date']);
  });

  it('keeps a CherryPy line with an unreadable request as an access entry with empty request parts', () => {
    const { entries } = parseKasmApiLog('2024-04-10 06:10:58,844 [INFO] cherrypy.access.1: 172.18.0.9 - - [10/Apr/2024:06:10:58] "\\x16\\x03\\x01" 400 - "" ""');
    assert.deepEqual(entries.map((e) => (e.kind === 'access' ? [e.method, e.path, e.status] : e.kind)), [['', '', 400]]);
  });
});

describe('kasm ids', () => {
  it('normalises dashed and 32-hex ids and ignores longer hex runs', () => {
    assert.equal(normaliseKasmId('72248A05922D4518B92F7A9D1EA529EB'), '72248a05-922d-4518-b92f-7a9d1ea529eb');
    assert.equal(normaliseKasmId('72248a05-922d4518-b92f-7a9d1ea529eb'), null);
    assert.deepEqual(kasmIdsInText(`sha256:${'a'.repeat(64)} 401963ee87a0e0c1d6d35e6ad1603a2fb3911f131b2efb9f1f2b51907060c4f2`), []);
    assert.deepEqual(kasmIdsInText('/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/ and 72248a05922d4518b92f7a9d1ea529eb'), ['72248a05-922d-4518-b92f-7a9d1ea529eb']);
  });
});

describe('nginx logs', () => {
  const GUIDE = `- - [15/Nov/2023:18:50:20 +0000] "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify HTTP/1.1" 101 3104787 "-" "${UA}" "-"`;

  it("reads the guide's websockify line, which lost its remote address", () => {
    const { entries, errors, unparsed } = parseNginxAccessLog(GUIDE);
    assert.deepEqual([errors, unparsed], [[], []]);
    assert.deepEqual(plain(entries), [
      {
        kind: 'access',
        format: 'main',
        at: '2023-11-15T18:50:20.000Z',
        remoteAddr: null,
        remoteUser: null,
        method: 'GET',
        uri: '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify',
        path: '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify',
        query: '',
        protocol: 'HTTP/1.1',
        status: 101,
        bytes: 3104787,
        referer: '',
        userAgent: UA,
        forwardedFor: null,
        raw: GUIDE,
      },
    ]);
  });

  it('reads main with an address and XFF, combined, time offsets, and escaped quotes', () => {
    const text = [
      '203.0.113.7 - - [15/Nov/2023:13:50:20 -0500] "GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/vnc.html?video_quality=2&autoconnect=1 HTTP/2.0" 200 1502 "https://kasm.example.com/" "Mozilla/5.0" "198.51.100.1, 10.0.0.2"',
      '10.0.0.9 - bob [15/Nov/2023:18:50:20 +0000] "GET /api/__healthcheck HTTP/1.1" 200 12 "-" "curl/7.81.0 \\x22x\\x22"',
    ].join('\n');
    const { entries, unparsed } = parseNginxAccessLog(text);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      entries.map((e) => [e.format, e.at.toISOString(), e.remoteAddr, e.remoteUser, e.path, e.query, e.protocol, e.status, e.bytes, e.referer, e.userAgent, e.forwardedFor]),
      [
        ['main', '2023-11-15T18:50:20.000Z', '203.0.113.7', null, '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/vnc.html', 'video_quality=2&autoconnect=1', 'HTTP/2.0', 200, 1502, 'https://kasm.example.com/', 'Mozilla/5.0', '198.51.100.1, 10.0.0.2'],
        ['combined', '2023-11-15T18:50:20.000Z', '10.0.0.9', 'bob', '/api/__healthcheck', '', 'HTTP/1.1', 200, 12, '', 'curl/7.81.0 \\x22x\\x22', null],
      ],
    );
  });

  it("reads the lab's lines, generated by lab/logs.ts", () => {
    const at = new Date('2024-11-18T12:00:00.000Z');
    const line = nginxAccessLine({ remoteAddr: '127.0.0.1', method: 'GET', uri: '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify', protocol: 'HTTP/1.1', status: 101, bytes: 5120, referer: '', userAgent: 'Chrome', forwardedFor: '' }, at);
    const { entries, unparsed } = parseNginxAccessLog(`${line}\n`);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      entries.map((e) => [e.at.toISOString(), e.remoteAddr, e.method, e.path, e.status, e.bytes, e.referer, e.userAgent, e.forwardedFor]),
      [['2024-11-18T12:00:00.000Z', '127.0.0.1', 'GET', '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify', 101, 5120, '', 'Chrome', null]],
    );
  });

  it('reads json_combined lines, taking the path from $request because $uri is rewritten', () => {
    const record = {
      upstream_response_length: '0',
      body_bytes_sent: '3104787',
      server_addr: '172.18.0.3',
      server_port: '443',
      request_method: 'GET',
      http_referer: '',
      http_user_agent: 'Mozilla/5.0',
      http_x_forwarded_for: '',
      http_x_header: '',
      nginx_version: '1.25.1',
      server_protocol: 'HTTP/1.1',
      request: 'GET /desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify HTTP/1.1',
      request_length: '1034',
      request_time: '61.337',
      upstream_response_time: '61.336',
      request_host: 'kasm.example.com',
      server_name: '_',
      remote_addr: '203.0.113.7',
      realip_remote_addr: '203.0.113.7',
      http_status: '101',
      time_local: '15/Nov/2023:18:50:20 +0000',
      time_iso8601: '2023-11-15T18:50:20+00:00',
      msec: '1700074220.412',
      upstream_addr: '10.0.0.21:443',
      upstream_connect_time: '0.004',
      upstream_status: '101',
      uri: '/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify',
      query_string: '',
      remote_user: '',
      cookie_username: 'alice',
      upstream_header_time: '0.010',
    };
    const { entries, unparsed } = parseNginxAccessLog(JSON.stringify(record));
    assert.deepEqual(unparsed, []);
    const e = entries[0]!;
    assert.deepEqual(
      [e.format, e.at.toISOString(), e.remoteAddr, e.remoteUser, e.method, e.path, e.status, e.bytes, e.forwardedFor, e.host, e.upstreamAddr, e.upstreamStatus, e.requestTime],
      ['json', '2023-11-15T18:50:20.412Z', '203.0.113.7', null, 'GET', '/desktop/72248a05-922d-4518-b92f-7a9d1ea529eb/vnc/websockify', 101, 3104787, null, 'kasm.example.com', '10.0.0.21:443', '101', 61.337],
    );
    const noRequest = parseNginxAccessLog(JSON.stringify({ ...record, request: '', msec: '', time_iso8601: '', uri: '/api/x', query_string: 'a=1' })).entries[0]!;
    assert.deepEqual([noRequest.uri, noRequest.path, noRequest.query, noRequest.at.toISOString()], ['/api/x?a=1', '/api/x', 'a=1', '2023-11-15T18:50:20.000Z']);
  });

  it('puts error-log lines in errors, with the upstream and host nginx appends', () => {
    const text = [
      '2024/01/01 12:00:00 [error] 12#12: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: _, request: "GET /api/__healthcheck HTTP/1.1", upstream: "http://172.18.0.5:8080/api/__healthcheck", host: "kasm.example.com"',
      '2024/01/01 12:00:01 [error] 12#12: *9 auth request unexpected status: 500 while sending to client, client: 10.0.0.2, server: _, request: "GET /desktop/x/vnc/ HTTP/1.1", subrequest: "/kasm_connect", host: "kasm.example.com", referrer: "https://kasm.example.com/"',
      'nginx: [emerg] host not found in upstream "kasm_api:8080" in /etc/nginx/conf.d/services.d/api.conf:2',
      '2024/01/01 12:00:02 [notice] 1#1: start worker processes',
    ].join('\n');
    const { entries, errors, unparsed } = parseNginxAccessLog(text);
    assert.deepEqual([entries, unparsed], [[], []]);
    assert.deepEqual(plain(errors[0]), {
      kind: 'error',
      at: '2024-01-01T12:00:00.000Z',
      level: 'error',
      pid: 12,
      connection: 5,
      message: 'connect() failed (111: Connection refused) while connecting to upstream',
      client: '172.18.0.1',
      server: '_',
      request: 'GET /api/__healthcheck HTTP/1.1',
      upstream: 'http://172.18.0.5:8080/api/__healthcheck',
      host: 'kasm.example.com',
      errno: 111,
      errnoText: 'Connection refused',
      raw: text.split('\n')[0],
    });
    assert.deepEqual([errors[1]!.message, errors[1]!.subrequest, errors[1]!.referrer, errors[1]!.upstream], ['auth request unexpected status: 500 while sending to client', '/kasm_connect', 'https://kasm.example.com/', undefined]);
    assert.deepEqual([errors[2]!.at, errors[2]!.level, errors[2]!.message], [null, 'emerg', 'host not found in upstream "kasm_api:8080" in /etc/nginx/conf.d/services.d/api.conf:2']);
    assert.deepEqual([errors[3]!.connection, errors[3]!.message], [null, 'start worker processes']);
  });

  it('counts entrypoint chatter, garbage, cut lines and bad dates as unparsed', () => {
    assert.deepEqual(parseNginxAccessLog(''), { entries: [], errors: [], unparsed: [] });
    const lines = ['/docker-entrypoint.sh: Configuration complete; ready for start up', GARBAGE, GUIDE.slice(0, 60), GUIDE.replace('15/Nov/2023', '31/Feb/2023'), '{"http_status": "200"}', '{not json'];
    const { entries, unparsed } = parseNginxAccessLog(`${lines.join('\r\n')}\r\n\r\n${GUIDE}`);
    assert.equal(entries.length, 1);
    assert.deepEqual(unparsed, lines);
  });
});

describe('docker ps', () => {
  const GUIDE_SINGLE_SERVER = `CONTAINER ID   IMAGE                       COMMAND                  CREATED      STATUS                PORTS                                           NAMES
401963ee87a0   kasmweb/nginx:1.25.1        "/docker-entrypoint.…"   6 days ago   Up 6 days             80/tcp,>443/tcp, :::443->443/tcp   kasm_proxy
0eb604899140   kasmweb/agent:1.14.0        "/bin/sh -c '/usr/bi…"   6 days ago   Up 6 days (healthy)   4444/tcp                                        kasm_agent
140660c3c201   kasmweb/manager:1.14.0      "/bin/sh -c '/usr/bi…"   6 days ago   Up 6 days (healthy)   8181/tcp                                        kasm_manager
1ed22b860c6b   kasmweb/kasm-guac:1.14.0    "/"   6 days ago   Up 6 days (healthy)                                                   kasm_guac
45fceb6bff08   kasmweb/share:1.14.0        "/bin/sh -c '/usr/bi…"   6 days ago   Up 6 days (healthy)   8182/tcp                                        kasm_share
5759e5692a85   kasmweb/api:1.14.0          "/bin/sh -c 'python3…"   6 days ago   Up 6 days             8080/tcp                                        kasm_api
482059a66347   redis:5-alpine              "docker-entrypoint.s…"   7 days ago   Up 7 days             6379/tcp                                        kasm_redis
670da792ed27   postgres:12-alpine          "docker-entrypoint.s…"   7 days ago   Up 7 days (healthy)   5432/tcp                                        kasm_db`;
  const GUIDE_SESSION = `CONTAINER ID   IMAGE                                                               COMMAND                  CREATED         STATUS                PORTS                                           NAMES
125348fe9990   kasmweb/core-ubuntu-jammy-private:feature_KASM-5078_multi-monitor   "/dockerstartup/kasm…"   3 minutes ago   Up 3 minutes          4901/tcp, 5901/tcp, 6901/tcp                    mattkasm.loc_4f8ada7f`;
  // The same host as docker 24 prints it, addresses intact, with the states the guide's table does not show.
  const REAL = `CONTAINER ID   IMAGE                      COMMAND                  CREATED         STATUS                             PORTS                                               NAMES
401963ee87a0   kasmweb/proxy:1.16.0       "/docker-entrypoint.…"   6 days ago      Up 6 days                          80/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp   kasm_proxy
5759e5692a85   kasmweb/api:1.16.0         "/bin/sh -c 'python3…"   6 days ago      Restarting (1) 4 seconds ago                                                           kasm_api
140660c3c201   kasmweb/manager:1.16.0     "/bin/sh -c '/usr/bi…"   6 days ago      Exited (137) 2 hours ago                                                               kasm_manager
1ed22b860c6b   kasmweb/kasm-guac:1.16.0   "/dockerstartup/star…"   6 days ago      Up 10 seconds (health: starting)   3000/tcp, 127.0.0.1:3001-3004->3001-3004/tcp        kasm_guac
670da792ed27   postgres:12-alpine         "docker-entrypoint.s…"   6 days ago      Up 5 minutes (unhealthy)           5432/tcp                                            kasm_db
45fceb6bff08   kasmweb/share:1.16.0       "/bin/sh -c '/usr/bi…"   6 days ago      Up 2 hours (Paused)                8182/tcp                                            kasm_share
aa11bb22cc33   kasmweb/agent:1.16.0       "/bin/sh -c '/usr/bi…"   2 minutes ago   Created                                                                                kasm_agent
dd44ee55ff66   redis:5-alpine             "docker-entrypoint.s…"   3 weeks ago     Dead                                                                                   old_redis,kasm_proxy/redis`;

  it("reads the guide's table, damaged ports and a misaligned row included", () => {
    const { containers, unparsed } = parseDockerPs(GUIDE_SINGLE_SERVER);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      containers.map((c) => [c.id, c.image, c.names, c.status, c.state, c.health, c.exitCode]),
      [
        ['401963ee87a0', 'kasmweb/nginx:1.25.1', 'kasm_proxy', 'Up 6 days', 'up', null, null],
        ['0eb604899140', 'kasmweb/agent:1.14.0', 'kasm_agent', 'Up 6 days (healthy)', 'up', 'healthy', null],
        ['140660c3c201', 'kasmweb/manager:1.14.0', 'kasm_manager', 'Up 6 days (healthy)', 'up', 'healthy', null],
        ['1ed22b860c6b', 'kasmweb/kasm-guac:1.14.0', 'kasm_guac', 'Up 6 days (healthy)', 'up', 'healthy', null],
        ['45fceb6bff08', 'kasmweb/share:1.14.0', 'kasm_share', 'Up 6 days (healthy)', 'up', 'healthy', null],
        ['5759e5692a85', 'kasmweb/api:1.14.0', 'kasm_api', 'Up 6 days', 'up', null, null],
        ['482059a66347', 'redis:5-alpine', 'kasm_redis', 'Up 7 days', 'up', null, null],
        ['670da792ed27', 'postgres:12-alpine', 'kasm_db', 'Up 7 days (healthy)', 'up', 'healthy', null],
      ],
    );
    const [proxy, , , guac] = containers;
    assert.deepEqual([proxy!.command, proxy!.created, proxy!.ports, proxy!.portMappings, proxy!.unreadPorts], ['/docker-entrypoint.…', '6 days ago', '80/tcp,>443/tcp, :::443->443/tcp', [{ hostIp: '::', hostPort: 443, containerPort: 443, protocol: 'tcp' }], ['>443/tcp']]);
    assert.deepEqual([guac!.command, guac!.ports], ['/', '']);
    const session = parseDockerPs(GUIDE_SESSION).containers[0]!;
    assert.deepEqual([session.image, session.command, session.created, session.ports, session.names, session.portMappings], ['kasmweb/core-ubuntu-jammy-private:feature_KASM-5078_multi-monitor', '/dockerstartup/kasm…', '3 minutes ago', '4901/tcp, 5901/tcp, 6901/tcp', 'mattkasm.loc_4f8ada7f', []]);
  });

  it('reads every container state, health, exit code and published port form', () => {
    const { containers, unparsed } = parseDockerPs(REAL);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      containers.map((c) => [c.names, c.state, c.health, c.exitCode, c.ports]),
      [
        ['kasm_proxy', 'up', null, null, '80/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp'],
        ['kasm_api', 'restarting', null, 1, ''],
        ['kasm_manager', 'exited', null, 137, ''],
        ['kasm_guac', 'up', 'starting', null, '3000/tcp, 127.0.0.1:3001-3004->3001-3004/tcp'],
        ['kasm_db', 'up', 'unhealthy', null, '5432/tcp'],
        ['kasm_share', 'paused', null, null, '8182/tcp'],
        ['kasm_agent', 'created', null, null, ''],
        ['old_redis,kasm_proxy/redis', 'dead', null, null, ''],
      ],
    );
    assert.deepEqual(containers[0]!.portMappings, [
      { hostIp: '0.0.0.0', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      { hostIp: '::', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
    ]);
    assert.deepEqual([containers[3]!.portMappings, containers[3]!.unreadPorts], [[], ['127.0.0.1:3001-3004->3001-3004/tcp']]);
  });

  it('reads {{json .}} lines, with Go escaping `->` as \\u003e', () => {
    const line = '{"Command":"\\"/docker-entrypoint.…\\"","CreatedAt":"2024-11-12 09:15:02 +0000 UTC","ID":"401963ee87a0","Image":"kasmweb/proxy:1.16.0","Labels":"com.docker.compose.project=docker","LocalVolumes":"0","Mounts":"/opt/kasm/1.16.…","Names":"kasm_proxy","Networks":"kasm_default_network","Ports":"80/tcp, 0.0.0.0:443-\\u003e443/tcp, :::443-\\u003e443/tcp","RunningFor":"6 days ago","Size":"0B","State":"running","Status":"Up 6 days"}';
    const { containers, unparsed } = parseDockerPs(`${line}\n{"ID":"not-hex","Names":"x"}\n`);
    assert.deepEqual(unparsed, ['{"ID":"not-hex","Names":"x"}']);
    const c = containers[0]!;
    assert.deepEqual(
      [c.format, c.id, c.command, c.created, c.createdAt?.toISOString(), c.state, c.portMappings.map((m) => `${m.hostIp}:${m.hostPort}->${m.containerPort}/${m.protocol}`)],
      ['json', '401963ee87a0', '/docker-entrypoint.…', '6 days ago', '2024-11-12T09:15:02.000Z', 'up', ['0.0.0.0:443->443/tcp', ':::443->443/tcp']],
    );
  });

  it('reads custom tables, a new header starting a new table', () => {
    const text = ['NAMES        STATUS                     PORTS', 'kasm_api     Exited (1) 3 seconds ago   ', 'kasm_proxy   Up 6 days                  80/tcp, 0.0.0.0:443->443/tcp', 'CONTAINER ID   NAMES        CREATED AT                      STATE', '5759e5692a85   kasm_api     2024-11-17 21:00:43 +0000 UTC   restarting'].join('\n');
    const { containers, unparsed } = parseDockerPs(text);
    assert.deepEqual(unparsed, []);
    assert.deepEqual(
      containers.map((c) => [c.id, c.names, c.state, c.exitCode, c.portMappings.length, c.createdAt?.toISOString() ?? null]),
      [
        ['', 'kasm_api', 'exited', 1, 0, null],
        ['', 'kasm_proxy', 'up', null, 1, null],
        ['5759e5692a85', 'kasm_api', 'restarting', null, 0, '2024-11-17T21:00:43.000Z'],
      ],
    );
  });

  it('counts daemon errors and garbage as unparsed', () => {
    assert.deepEqual(parseDockerPs(''), { containers: [], unparsed: [] });
    const lines = ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', GARBAGE];
    assert.deepEqual(parseDockerPs(lines.join('\n')).unparsed, lines);
    assert.deepEqual(parseDockerPs(`${REAL.split('\n')[0]}\n${GARBAGE}\nnot a row`).unparsed, [GARBAGE, 'not a row']);
    assert.deepEqual(parseDockerPorts('8080/tcp, 3000-3004/tcp, garbage'), { mappings: [], unread: ['garbage'] });
  });

  it('reads rows without their header (`docker ps | grep kasm`), with docker\'s gaps or collapsed spaces, names wrapped onto their own line', () => {
    const gaps = '401963ee87a0   kasmweb/proxy:1.16.0   "x"   6 days ago   Up 6 days   kasm_proxy';
    const collapsed = '70e525f6ab2e kasmweb/kasm-guac:1.16.0 "/dockerentrypoint.sh" 18 hours ago Restarting (1) 54 seconds ago kasm_guac';
    const wrapped = ['d15d9b12ad0d   kasmweb/agent:1.15.0       "/bin/sh -c \'/usr/bi…"   4 hours ago   Up 2 hours (healthy)   4444/tcp', '                        kasm_agent'];
    const ps = parseDockerPs([gaps, collapsed, ...wrapped].join('\n'));
    assert.deepEqual(ps.unparsed, []);
    assert.deepEqual(ps.containers.map((c) => [c.names, c.created, c.status, c.state, c.health, c.ports]), [
      ['kasm_proxy', '6 days ago', 'Up 6 days', 'up', null, ''],
      ['kasm_guac', '18 hours ago', 'Restarting (1) 54 seconds ago', 'restarting', null, ''],
      ['kasm_agent', '4 hours ago', 'Up 2 hours (healthy)', 'up', 'healthy', '4444/tcp'],
    ]);
  });

  it('tells a container that just restarted from one that just started', () => {
    assert.equal(justRestarted({ state: 'up', status: 'Up Less than a second', created: '7 weeks ago' }), true);
    assert.equal(justRestarted({ state: 'up', status: 'Up 4 seconds (health: starting)', created: '52 minutes ago' }), true);
    assert.equal(justRestarted({ state: 'up', status: 'Up 4 seconds (health: starting)', created: '5 seconds ago' }), false);
    assert.equal(justRestarted({ state: 'up', status: 'Up About an hour', created: 'About an hour ago' }), false);
    assert.deepEqual(['Less than a second ago', 'About an hour ago', '2 hours ago', 'Up 3 minutes'].map(agoSeconds), [0, 3600, 7200, 180]);
  });
});

describe('ss', () => {
  const GUIDE = `State               Recv-Q              Send-Q                            Local Address:Port                              Peer Address:Port              Process              
LISTEN              0                   4096                                                    *                                      
LISTEN              0                   4096                                               *                                      
LISTEN              0                   128                                                      *                                      
LISTEN              0                   4096                                                    *                                      
LISTEN              0                   511                                                 *                                      
LISTEN              0                   511                                                    *                                      
LISTEN              0                   4096                                       [::]:111                                       [::]:*                                      
LISTEN              0                   128                                        [::]:22                                        [::]:*                                      
LISTEN              0                   4096                                       [::]:443                                       [::]:*`;

  it("reads the guide's output: the IPv4 lines lost their addresses and are counted", () => {
    const { sockets, unparsed } = parseSsListening(GUIDE);
    assert.equal(unparsed.length, 6);
    assert.deepEqual(
      sockets.map((s) => [s.address, s.port, s.family]),
      [
        ['::', 111, 6],
        ['::', 22, 6],
        ['::', 443, 6],
      ],
    );
    assert.deepEqual(listensOn(sockets, 443), { ipv4: false, ipv6: true, localOnly: false });
  });

  it('reads iproute2 5.x compact columns with the Process column, old iproute2 and netstat', () => {
    const modern = `State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*    users:(("systemd-resolve",pid=612,fd=14))
LISTEN 0      4096         0.0.0.0:443       0.0.0.0:*    users:(("docker-proxy",pid=2113,fd=4))
LISTEN 0      4096            [::]:443          [::]:*    users:(("docker-proxy",pid=2120,fd=4))
LISTEN 0      128        [::1]:631          [::]:*`;
    const parsed = parseSsListening(modern);
    assert.deepEqual(parsed.unparsed, []);
    assert.deepEqual(
      parsed.sockets.map((s) => [s.address, s.interface ?? null, s.port, s.family, s.process]),
      [
        ['127.0.0.53', 'lo', 53, 4, 'users:(("systemd-resolve",pid=612,fd=14))'],
        ['0.0.0.0', null, 443, 4, 'users:(("docker-proxy",pid=2113,fd=4))'],
        ['::', null, 443, 6, 'users:(("docker-proxy",pid=2120,fd=4))'],
        ['::1', null, 631, 6, null],
      ],
    );
    assert.deepEqual(listensOn(parsed.sockets, 443), { ipv4: true, ipv6: true, localOnly: false });
    assert.deepEqual(listensOn(parsed.sockets, 53), { ipv4: true, ipv6: false, localOnly: true });
    const old = parseSsListening('State      Recv-Q Send-Q Local Address:Port               Peer Address:Port\nLISTEN     0      128          *:443                       *:*\nLISTEN     0      128         :::8443                     :::*\n');
    assert.deepEqual(old.sockets.map((s) => [s.address, s.port, s.family]), [['*', 443, 'any'], ['::', 8443, 6]]);
    assert.deepEqual(listensOn(old.sockets, 443), { ipv4: true, ipv6: true, localOnly: false });
    const netstat = parseSsListening('Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name\ntcp        0      0 0.0.0.0:443             0.0.0.0:*               LISTEN      2113/docker-proxy\ntcp6       0      0 :::443                  :::*                    LISTEN      2120/docker-proxy\nudp        0      0 0.0.0.0:111             0.0.0.0:*                           598/rpcbind\n');
    assert.deepEqual(netstat.unparsed, []);
    assert.deepEqual(netstat.sockets.map((s) => [s.netid, s.state, s.address, s.port, s.family, s.process]), [['tcp', 'LISTEN', '0.0.0.0', 443, 4, '2113/docker-proxy'], ['tcp', 'LISTEN', '::', 443, 6, '2120/docker-proxy'], ['udp', null, '0.0.0.0', 111, 4, '598/rpcbind']]);
    assert.deepEqual(listensOn(netstat.sockets, 111), { ipv4: false, ipv6: false, localOnly: false });
  });

  it('reads socket addresses in every form', () => {
    assert.deepEqual(parseSocketAddress('[fe80::1%eth0]:53'), { address: 'fe80::1', port: 53, family: 6, interface: 'eth0' });
    assert.deepEqual(parseSocketAddress('[fe80::1]%eth0:53'), { address: 'fe80::1', port: 53, family: 6, interface: 'eth0' });
    assert.deepEqual(parseSocketAddress('0.0.0.0:https'), { address: '0.0.0.0', port: 443, family: 4 });
    assert.equal(parseSocketAddress('0.0.0.0:99999'), null);
    assert.equal(parseSocketAddress('*'), null);
  });

  it('counts errors and garbage; a truncated last line too', () => {
    assert.deepEqual(parseSsListening(''), { sockets: [], unparsed: [] });
    const lines = ['Cannot open netlink socket: Protocol not supported', GARBAGE, 'LISTEN 0      4096         0.0.0.0:44'];
    assert.deepEqual(parseSsListening(lines.join('\r\n')).unparsed, lines);
    assert.deepEqual(parseSsListening('LISTEN 0      4096         0.0.0.0:44').unparsed, ['LISTEN 0      4096         0.0.0.0:44']);
  });
});

describe('ip addr', () => {
  const GUIDE = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 02:00:17:0f:8c:19 brd ff:ff:ff:ff:ff:ff
    altname enp0s3
    inet metric 100 brd scope global ens3
       valid_lft forever preferred_lft forever
    inet6 fe80::17ff:fe0f:8c19/64 scope link 
       valid_lft forever preferred_lft forever`;
  const REAL = `${GUIDE.replace('inet scope host lo', 'inet 127.0.0.1/8 scope host lo').replace('inet metric 100 brd scope global ens3', 'inet 10.0.0.5/24 metric 100 brd 10.0.0.255 scope global dynamic ens3')}
3: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default 
    link/ether 02:42:61:d4:a1:f2 brd ff:ff:ff:ff:ff:ff
    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0
       valid_lft forever preferred_lft forever
4: br-e56369e62cd0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default 
    inet 172.18.0.1/16 brd 172.18.255.255 scope global br-e56369e62cd0
       valid_lft forever preferred_lft forever
6: veth854b2e6@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br-e56369e62cd0 state UP group default 
    link/ether 6a:85:4b:2e:6a:da brd ff:ff:ff:ff:ff:ff link-netnsid 0
7: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    inet 192.168.1.20/24 brd 192.168.1.255 scope global br0
       valid_lft forever preferred_lft forever
    inet 192.168.1.21/24 brd 192.168.1.255 scope global secondary br0:1
       valid_lft forever preferred_lft forever
8: tun0: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UNKNOWN group default qlen 500
    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0
       valid_lft forever preferred_lft forever
9: eth1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default qlen 1000
    inet 10.9.0.5/24 scope global eth1
       valid_lft forever preferred_lft forever`;

  it("reads the guide's listing: the stripped IPv4 lines are counted and no user-facing address is left", () => {
    const { interfaces, unparsed } = parseIpAddr(GUIDE);
    assert.deepEqual(unparsed, ['    inet scope host lo', '    inet metric 100 brd scope global ens3']);
    assert.deepEqual(plain(interfaces), [
      { index: 1, name: 'lo', addresses: [{ family: 6, address: '::1', prefix: 128, flags: [], scope: 'host' }], linkFlags: ['LOOPBACK', 'UP', 'LOWER_UP'], state: 'UNKNOWN' },
      { index: 2, name: 'ens3', addresses: [{ family: 6, address: 'fe80::17ff:fe0f:8c19', prefix: 64, flags: [], scope: 'link' }], linkFlags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], state: 'UP', altnames: ['enp0s3'] },
    ]);
    assert.deepEqual(userFacingAddresses(interfaces), []);
  });

  it('picks the user-facing addresses: not loopback, docker, bridges, veths or DOWN; br0 and tunnels stay', () => {
    const { interfaces, unparsed } = parseIpAddr(REAL);
    assert.deepEqual(unparsed, []);
    const ens3 = interfaces.find((i) => i.name === 'ens3')!;
    assert.deepEqual(ens3.addresses[0], { family: 4, address: '10.0.0.5', prefix: 24, flags: ['dynamic'], broadcast: '10.0.0.255', scope: 'global' });
    assert.deepEqual(interfaces.find((i) => i.name === 'veth854b2e6')!.master, 'br-e56369e62cd0');
    assert.deepEqual(interfaces.find((i) => i.name === 'tun0')!.addresses[0], { family: 4, address: '10.8.0.1', prefix: 32, flags: [], peer: '10.8.0.2', scope: 'global' });
    assert.deepEqual(interfaces.find((i) => i.name === 'br0')!.addresses[1]!.label, 'br0:1');
    assert.deepEqual(userFacingAddresses(interfaces), [
      { interface: 'ens3', address: '10.0.0.5', prefix: 24 },
      { interface: 'br0', address: '192.168.1.20', prefix: 24 },
      { interface: 'br0', address: '192.168.1.21', prefix: 24 },
      { interface: 'tun0', address: '10.8.0.1', prefix: 32 },
    ]);
  });

  it('reads ip -o addr and ip -br addr', () => {
    const oneLine = parseIpAddr('1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: ens3    inet 10.0.0.5/24 brd 10.0.0.255 scope global ens3\\       valid_lft forever preferred_lft forever\n2: ens3    inet6 fe80::17ff:fe0f:8c19/64 scope link \\       valid_lft forever preferred_lft forever\n');
    assert.deepEqual(oneLine.unparsed, []);
    assert.deepEqual(oneLine.interfaces.map((i) => [i.index, i.name, i.addresses.map((a) => `${a.address}/${a.prefix}`)]), [[1, 'lo', ['127.0.0.1/8']], [2, 'ens3', ['10.0.0.5/24', 'fe80::17ff:fe0f:8c19/64']]]);
    assert.deepEqual(userFacingAddresses(oneLine.interfaces), [{ interface: 'ens3', address: '10.0.0.5', prefix: 24 }]);
    const brief = parseIpAddr('lo               UNKNOWN        127.0.0.1/8 ::1/128 \nens3             UP             10.0.0.5/24 fe80::17ff:fe0f:8c19/64 \ndocker0          DOWN           172.17.0.1/16 \nveth854b2e6@if5  UP             fe80::6885:4bff:fe2e:6ada/64 \n');
    assert.deepEqual(brief.unparsed, []);
    assert.deepEqual(brief.interfaces.map((i) => [i.name, i.state, i.addresses.length]), [['lo', 'UNKNOWN', 2], ['ens3', 'UP', 2], ['docker0', 'DOWN', 1], ['veth854b2e6', 'UP', 1]]);
    assert.deepEqual(userFacingAddresses(brief.interfaces), [{ interface: 'ens3', address: '10.0.0.5', prefix: 24 }]);
  });

  it('counts errors, garbage and orphan detail lines', () => {
    assert.deepEqual(parseIpAddr(''), { interfaces: [], unparsed: [] });
    const lines = ['Device "eth9" does not exist.', GARBAGE, '    inet 10.0.0.5/24 scope global ens3', 'ens3 UP 10.0.0.5/99'];
    assert.deepEqual(parseIpAddr(lines.join('\n')).unparsed, lines);
  });
});

describe('firewall', () => {
  const UFW_REAL = `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     LIMIT IN    Anywhere                   # ssh
Nginx Full                 ALLOW IN    Anywhere
8443                       DENY IN     10.0.0.0/8
8000:8010/tcp              REJECT IN   Anywhere
Anywhere                   DENY IN     203.0.113.9
443/tcp on eth1            DENY IN     Anywhere
53                         ALLOW OUT   Anywhere
22/tcp (v6)                LIMIT IN    Anywhere (v6)              # ssh
Nginx Full (v6)            ALLOW IN    Anywhere (v6)
`;
  const IPTABLES_UFW = `-P INPUT DROP
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER-USER
-N ufw-before-input
-N ufw-user-input
-N ufw-after-input
-N ufw-reject-input
-A INPUT -j ufw-before-input
-A INPUT -j ufw-after-input
-A INPUT -j ufw-reject-input
-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m tcp --dport 443 -j DROP
-A DOCKER-USER -j RETURN
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-input -m conntrack --ctstate INVALID -j DROP
-A ufw-before-input -j ufw-user-input
-A ufw-user-input -p tcp -m tcp --dport 22 -m comment --comment "\\'dapp_OpenSSH\\'" -j ACCEPT
-A ufw-user-input -p tcp -m multiport --dports 8000:8010,9443 -j REJECT --reject-with tcp-reset
-A ufw-after-input -p udp -m udp --dport 137 -j ufw-skip-to-policy-input
`;

  it("reads the lab's plain, verbose and numbered layouts", () => {
    const rows = '22/tcp                     ALLOW IN    Anywhere                  \n8443/tcp                   DENY IN     Anywhere                  \n22/tcp (v6)                ALLOW IN    Anywhere (v6)             \n8443/tcp (v6)              DENY IN     Anywhere (v6)             \n';
    const verbose = parseUfwStatus(`Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), deny (routed)\nNew profiles: skip\n\nTo                         Action      From\n--                         ------      ----\n${rows}\n`);
    assert.deepEqual(verbose.unparsed, []);
    assert.deepEqual([verbose.active, verbose.defaults, verbose.logging], [true, { incoming: 'deny', outgoing: 'allow', routed: 'deny' }, 'on (low)']);
    assert.deepEqual(
      verbose.rules.map((r) => [r.to, r.action, r.direction, r.from, r.v6, r.port, r.protocol]),
      [
        ['22/tcp', 'ALLOW', 'IN', 'Anywhere', false, 22, 'tcp'],
        ['8443/tcp', 'DENY', 'IN', 'Anywhere', false, 8443, 'tcp'],
        ['22/tcp', 'ALLOW', 'IN', 'Anywhere', true, 22, 'tcp'],
        ['8443/tcp', 'DENY', 'IN', 'Anywhere', true, 8443, 'tcp'],
      ],
    );
    const numbered = parseUfwStatus(`Status: active\n\n     To                         Action      From\n     --                         ------      ----\n[ 1] 22/tcp                     ALLOW IN    Anywhere                  \n[12] 8443/tcp (v6)              DENY IN     Anywhere (v6)             \n`);
    assert.deepEqual([numbered.unparsed, numbered.rules.map((r) => [r.number, r.to, r.v6])], [[], [[1, '22/tcp', false], [12, '8443/tcp', true]]]);
    const plainStatus = parseUfwStatus('Status: active\n\nTo                         Action      From\n--                         ------      ----\n22/tcp                     ALLOW       Anywhere                  \n');
    assert.deepEqual(plainStatus.rules.map((r) => [r.action, r.direction]), [['ALLOW', undefined]]);
    assert.deepEqual(parseUfwStatus('Status: inactive\n'), { active: false, rules: [], unparsed: [] });
  });

  it('reads app profiles, ranges, sources, interfaces, comments and OUT rules', () => {
    const ufw = parseUfwStatus(UFW_REAL);
    assert.deepEqual(ufw.unparsed, []);
    assert.deepEqual(
      ufw.rules.map((r) => [r.to, r.action, r.direction, r.from, r.v6, r.port, r.ports, r.portRanges, r.protocol, r.interface, r.comment]),
      [
        ['22/tcp', 'LIMIT', 'IN', 'Anywhere', false, 22, undefined, undefined, 'tcp', undefined, 'ssh'],
        ['Nginx Full', 'ALLOW', 'IN', 'Anywhere', false, undefined, [80, 443], undefined, undefined, undefined, undefined],
        ['8443', 'DENY', 'IN', '10.0.0.0/8', false, 8443, undefined, undefined, undefined, undefined, undefined],
        ['8000:8010/tcp', 'REJECT', 'IN', 'Anywhere', false, undefined, undefined, [[8000, 8010]], 'tcp', undefined, undefined],
        ['Anywhere', 'DENY', 'IN', '203.0.113.9', false, undefined, undefined, undefined, undefined, undefined, undefined],
        ['443/tcp', 'DENY', 'IN', 'Anywhere', false, 443, undefined, undefined, 'tcp', 'eth1', undefined],
        ['53', 'ALLOW', 'OUT', 'Anywhere', false, 53, undefined, undefined, undefined, undefined, undefined],
        ['22/tcp', 'LIMIT', 'IN', 'Anywhere', true, 22, undefined, undefined, 'tcp', undefined, 'ssh'],
        ['Nginx Full', 'ALLOW', 'IN', 'Anywhere', true, undefined, [80, 443], undefined, undefined, undefined, undefined],
      ],
    );
  });

  it("reads iptables -S, the lab's and a ufw-managed host's", () => {
    const lab = parseIptablesRules('-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N DOCKER\n-N DOCKER-USER\n-A INPUT -p tcp -m tcp --dport 8443 -j DROP\n-A FORWARD -i br-e56369e62cd0 ! -o br-e56369e62cd0 -j ACCEPT\n-A DOCKER -d 172.18.0.3/32 ! -i br-e56369e62cd0 -o br-e56369e62cd0 -p tcp -m tcp --dport 443 -j ACCEPT\n-A DOCKER-USER -j RETURN\n');
    assert.deepEqual(lab.unparsed, []);
    assert.deepEqual(lab.policies, { INPUT: 'ACCEPT', FORWARD: 'DROP', OUTPUT: 'ACCEPT' });
    assert.deepEqual(lab.chains, ['INPUT', 'FORWARD', 'OUTPUT', 'DOCKER', 'DOCKER-USER']);
    assert.deepEqual(plain(lab.rules[2]), { table: 'filter', chain: 'DOCKER', target: 'ACCEPT', matches: ['tcp'], negated: ['inInterface'], otherConditions: [], destination: '172.18.0.3/32', inInterface: 'br-e56369e62cd0', outInterface: 'br-e56369e62cd0', protocol: 'tcp', dport: 443, raw: '-A DOCKER -d 172.18.0.3/32 ! -i br-e56369e62cd0 -o br-e56369e62cd0 -p tcp -m tcp --dport 443 -j ACCEPT' });
    const ufwHost = parseIptablesRules(IPTABLES_UFW);
    assert.deepEqual(ufwHost.unparsed, []);
    assert.deepEqual([ufwHost.rules[9]!.comment, ufwHost.rules[10]!.dportRanges, ufwHost.rules[10]!.dports, ufwHost.rules[10]!.target], ["'dapp_OpenSSH'", [[8000, 8010]], [9443], 'REJECT']);
  });

  it('reports the rules that block a port, with descriptions, and a DROP policy without an ACCEPT', () => {
    const ufw = parseUfwStatus(UFW_REAL);
    const iptables = parseIptablesRules(IPTABLES_UFW);
    assert.deepEqual(
      blockingRules(ufw, null, 8443).map((b) => [b.source, b.kind, b.conditional, b.description]),
      [
        ['ufw', 'rule', true, 'ufw: "8443  DENY IN  10.0.0.0/8" denies incoming TCP port 8443 over IPv4, only from 10.0.0.0/8'],
        ['ufw', 'rule', true, 'ufw: "Anywhere  DENY IN  203.0.113.9" denies incoming TCP port 8443 over IPv4, only from 203.0.113.9'],
      ],
    );
    assert.deepEqual(blockingRules(ufw, null, 443), [], 'Nginx Full allows 443 before the later DENY on eth1');
    assert.deepEqual(
      blockingRules(ufw, null, 8005).map((b) => b.description),
      ['ufw: "8000:8010/tcp  REJECT IN  Anywhere" rejects incoming TCP port 8005 over IPv4'],
    );
    assert.deepEqual(
      blockingRules(null, iptables, 8005).map((b) => [b.chain, b.kind, b.conditional, b.description]),
      [['ufw-user-input', 'rule', false, 'iptables ufw-user-input: "-A ufw-user-input -p tcp -m multiport --dports 8000:8010,9443 -j REJECT --reject-with tcp-reset" rejects new TCP connections to port 8005 (reached from INPUT -> ufw-before-input -> ufw-user-input)']],
    );
    assert.deepEqual(
      blockingRules(null, iptables, 443).map((b) => [b.chain, b.kind, b.rule, b.description]),
      [
        ['DOCKER-USER', 'rule', '-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m tcp --dport 443 -j DROP', 'iptables DOCKER-USER: "-A DOCKER-USER -s 198.51.100.0/24 -p tcp -m tcp --dport 443 -j DROP" drops new TCP connections to port 443, only when source 198.51.100.0/24'],
        ['INPUT', 'policy', '-P INPUT DROP', 'iptables INPUT policy is DROP and no INPUT rule accepts TCP port 443 (only rules limited to some sources or interfaces accept it): new connections to it are dropped'],
      ],
    );
    assert.deepEqual(blockingRules(null, iptables, 22), []);
    assert.deepEqual(blockingRules(null, iptables, 9443, { containerPort: 443 }).map((b) => b.chain), ['ufw-user-input', 'DOCKER-USER']);
  });

  it('reads RHEL-style rules: an earlier ACCEPT shadows the final REJECT', () => {
    const rhel = parseIptablesRules('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p icmp -j ACCEPT\n-A INPUT -p tcp -m state --state NEW -m tcp --dport 443 -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n# Completed on Mon Nov 18 12:00:00 2024\n');
    assert.deepEqual([rhel.unparsed, rhel.policies], [[], { INPUT: 'ACCEPT', FORWARD: 'ACCEPT' }]);
    assert.deepEqual(blockingRules(null, rhel, 443), []);
    assert.deepEqual(blockingRules(null, rhel, 8443).map((b) => b.description), ['iptables INPUT: "-A INPUT -j REJECT --reject-with icmp-host-prohibited" rejects new TCP connections to port 8443']);
  });

  it('ignores an inactive ufw and the ufw default policy, and counts what it cannot read', () => {
    const inactive = parseUfwStatus('Status: inactive');
    assert.deepEqual(blockingRules(inactive, null, 443), []);
    const defaultOnly = parseUfwStatus('Status: active\nDefault: deny (incoming), allow (outgoing), deny (routed)\n');
    assert.deepEqual(blockingRules(defaultOnly, null, 443), []);
    assert.deepEqual(parseUfwStatus(`ERROR: You need to be root to run this script\n${GARBAGE}`), { active: null, rules: [], unparsed: ['ERROR: You need to be root to run this script', GARBAGE] });
    assert.deepEqual(parseIptablesRules(`iptables v1.8.7 (nf_tables): Permission denied (you must be root)\n-A INPUT stray\n${GARBAGE}\n-A`).unparsed, ['iptables v1.8.7 (nf_tables): Permission denied (you must be root)', '-A INPUT stray', GARBAGE, '-A']);
    assert.deepEqual(parseIptablesRules(''), { policies: {}, chains: [], rules: [], unparsed: [] });
  });
});

describe('health curl', () => {
  const run = (exitCode: number | null, stdout: string, stderr = '') => classifyCurl({ exitCode, stdout, stderr });

  it('passes only HTTP 200 with {"ok": true}', () => {
    assert.deepEqual(run(0, '{"ok": true}\n200'), { ok: true, code: 'OK', httpStatus: 200, body: '{"ok": true}', meaning: 'Kasm answered {"ok": true}' });
    assert.deepEqual(run(0, '{"ok": false}\n200'), { ok: false, code: 'BAD_BODY', httpStatus: 200, body: '{"ok": false}', meaning: 'HTTP 200 but not Kasm\'s {"ok": true} (got "{"ok": false}"): something else answered, such as the web UI\'s page, a captive portal or an inspecting proxy' });
    assert.equal(run(0, '<!doctype html><html><head><title>Kasm Workspaces</title></head>\n<body></body></html>\n200').code, 'BAD_BODY');
    assert.equal(run(0, '\n200').meaning, 'HTTP 200 but not Kasm\'s {"ok": true} (got an empty body): something else answered, such as the web UI\'s page, a captive portal or an inspecting proxy');
    assert.deepEqual(run(0, '<H1>Internal Error</H1>\n502'), { ok: false, code: 'HTTP_ERROR', httpStatus: 502, body: '<H1>Internal Error</H1>', meaning: 'HTTP 502: a proxy answered but could not get an answer from the Kasm service behind it' });
    assert.equal(run(0, '\n404').meaning, 'HTTP 404: nothing serves this path here: a wrong port, or another web server or proxy answered');
  });

  it("explains the guide's failures", () => {
    assert.deepEqual(run(6, '\n000', 'curl: (6) Could not resolve host:'), { ok: false, code: 'DNS', error: 'Could not resolve host:', meaning: 'the host name does not resolve from here (Could not resolve host:)' });
    assert.deepEqual(run(7, '\n000', 'curl: (7) Failed to connect to port 443 after 3074 ms: No route to host'), {
      ok: false,
      code: 'REFUSED_OR_NO_ROUTE',
      error: 'Failed to connect to port 443 after 3074 ms: No route to host',
      meaning: 'no route to host: the address is unreachable from here, or a firewall rejects with host-unreachable (Failed to connect to port 443 after 3074 ms: No route to host)',
    });
    assert.equal(run(7, '\n000', 'curl: (7) Failed to connect to port 443 after 0 ms: Connection refused').meaning, 'connection refused: nothing listens on that address and port, or a firewall rejects the connection (Failed to connect to port 443 after 0 ms: Connection refused)');
  });

  it('tells timeouts, TLS trouble and resets apart', () => {
    assert.deepEqual([run(28, '\n000', 'curl: (28) Connection timed out after 5001 milliseconds').code, run(28, '\n000', 'curl: (28) Connection timed out after 5001 milliseconds').meaning], ['TIMEOUT', 'no answer to the TCP connection in time: a firewall silently drops the traffic, or the address is wrong (Connection timed out after 5001 milliseconds)']);
    assert.equal(run(28, '\n000', 'curl: (28) Failed to connect to 10.0.0.5 port 443 after 5002 ms: Timeout was reached').meaning.startsWith('no answer to the TCP connection'), true);
    assert.equal(run(28, '\n000', 'curl: (28) Operation timed out after 5000 milliseconds with 0 bytes received').meaning, 'connected, but no complete answer in time: the service hangs, or a device in the path (proxy, L7 firewall) holds the request (Operation timed out after 5000 milliseconds with 0 bytes received)');
    assert.equal(run(28, '\n000', 'curl: (28) Resolving timed out after 5000 milliseconds').meaning.startsWith('name resolution did not finish in time'), true);
    assert.deepEqual([run(35, '\n000', 'curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to kasm.example.com:443 ').code, run(35, '\n000', 'curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to kasm.example.com:443 ').meaning], ['TLS', 'the TLS handshake failed: the two sides agree on no protocol version or cipher, or a device in the path (an inspecting proxy, an L7 firewall) interferes with TLS (OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to kasm.example.com:443)']);
    // A reset during the handshake is a refusal, not interception.
    for (const stderr of ['curl: (35) Recv failure: Connection reset by peer', 'curl: (35) Send failure: Connection reset by peer']) {
      const reset = run(35, '\n000', stderr);
      assert.equal(reset.code, 'REFUSED_OR_NO_ROUTE');
      assert.doesNotMatch(reset.meaning, /inspect|intercept/i);
      assert.match(reset.meaning, /^the connection was reset during the TLS handshake: a firewall rejecting the port with a TCP reset/);
    }
    assert.equal(run(35, '\n000', 'curl: (35) error:0A00010B:SSL routines::wrong version number').meaning.startsWith("the TLS handshake failed because the port does not speak TLS"), true);
    assert.deepEqual([run(60, '\n000', 'curl: (60) SSL certificate problem: self-signed certificate in certificate chain').code, run(60, '\n000', 'curl: (60) SSL certificate problem: self-signed certificate in certificate chain').meaning.startsWith("the server's certificate was rejected")], ['TLS', true]);
    assert.deepEqual([run(52, '\n000', 'curl: (52) Empty reply from server').code, run(52, '\n000', 'curl: (52) Empty reply from server').meaning], ['OTHER', 'the server closed the connection without answering: often a firewall or proxy cutting it, or a TLS port reached with http:// (Empty reply from server)']);
    assert.equal(run(56, '\n000', 'curl: (56) Recv failure: Connection reset by peer').meaning, 'the connection was reset while waiting for the answer: a firewall or another device in the path reset it (Recv failure: Connection reset by peer)');
  });

  it('copes with odd runs: killed, not installed, no status trailer, CRLF', () => {
    assert.deepEqual(run(null, ''), { ok: false, code: 'OTHER', meaning: 'curl was killed before it finished' });
    assert.deepEqual(run(127, '', 'bash: curl: command not found'), { ok: false, code: 'OTHER', error: 'bash: curl: command not found', meaning: 'curl is not installed on this machine' });
    assert.equal(run(0, '{"ok": true}').code, 'OTHER');
    assert.equal(run(0, '{"ok": true}\r\n200\r\n').code, 'OK');
    assert.equal(run(3, '', 'curl: (3) URL rejected: Bad hostname').meaning, 'curl failed with exit code 3 (URL rejected: Bad hostname)');
  });
});

describe('malformed input', () => {
  const PARSERS: Array<[string, (text: string) => { unparsed: string[] }]> = [
    ['kasm_api', parseKasmApiLog],
    ['nginx', parseNginxAccessLog],
    ['docker ps', parseDockerPs],
    ['ss', parseSsListening],
    ['ip', parseIpAddr],
    ['ufw', parseUfwStatus],
    ['iptables', parseIptablesRules],
  ];
  const SAMPLES = [
    `2023-11-17 18:31:01,529 [INFO] cherrypy.access.140087972390848: 172.18.0.9 - - [17/Nov/2023:18:31:01] "GET /api/kasm_connect/ HTTP/1.0" 202 - "" "${UA}"\nTraceback (most recent call last):\n  File "x", line 1`,
    `203.0.113.7 - - [15/Nov/2023:13:50:20 -0500] "GET /desktop/x/vnc/vnc.html?a=1 HTTP/2.0" 200 1502 "-" "Mozilla/5.0" "-"\n2024/01/01 12:00:00 [error] 12#12: *5 connect() failed (111: Connection refused), client: 1.2.3.4, server: _`,
    'CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES\n401963ee87a0   kasmweb/proxy:1.16.0   "x"   6 days ago   Up 6 days   80/tcp, 0.0.0.0:443->443/tcp   kasm_proxy\n{"ID":"401963ee87a0","Names":"kasm_proxy","Status":"Up 6 days"}',
    'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096         0.0.0.0:8443      0.0.0.0:*\nLISTEN 0      4096            [::]:8443         [::]:*',
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    inet 127.0.0.1/8 scope host lo\n2: ens3    inet 10.0.0.5/24 brd 10.0.0.255 scope global ens3\\       valid_lft forever',
    'Status: active\nDefault: deny (incoming), allow (outgoing), deny (routed)\n\nTo                         Action      From\n[ 1] 443/tcp                    DENY IN     Anywhere                   # x',
    '-P INPUT DROP\n-N ufw-user-input\n-A INPUT -j ufw-user-input\n-A ufw-user-input -p tcp -m multiport --dports 80,443,8000:8010 ! -s 10.0.0.0/8 -j REJECT --reject-with tcp-reset',
  ];

  it('never throws: random bytes, every cut of the samples, huge and pathological lines', () => {
    let seed = 20241118;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const random = Array.from({ length: 40 }, () => String.fromCharCode(...Array.from({ length: 300 }, () => next() % 256)));
    const cuts = SAMPLES.flatMap((sample) => Array.from({ length: sample.length + 1 }, (_, i) => sample.slice(0, i)));
    const huge = [
      'x'.repeat(1_000_000),
      '"'.repeat(50_000),
      `2024/01/01 12:00:00 [error] 1#1: *1 failed, client: 1.2.3.4, server: _, request: "GET /${'a'.repeat(200_000)} HTTP/1.1"`,
      `1.2.3.4 - - [15/Nov/2023:13:50:20 +0000] "${'\\"'.repeat(50_000)}`,
      `${'a  '.repeat(30_000)}`,
      '\r\n'.repeat(10_000),
    ];
    const started = Date.now();
    for (const text of [...random, ...cuts, ...huge, ...SAMPLES.map((s) => s.replaceAll('\n', '\r\n'))]) {
      for (const [name, parse] of PARSERS) assert.doesNotThrow(() => parse(text), name);
      assert.doesNotThrow(() => classifyCurl({ exitCode: next() % 130, stdout: text, stderr: text }));
    }
    assert.ok(Date.now() - started < 20_000, `parsing took ${Date.now() - started} ms`);
  });

  it('returns every unreadable line of a garbage input, and nothing for an empty one', () => {
    const lines = [GARBAGE, 'hello world', '\x1b[31mred\x1b[0m'];
    for (const [name, parse] of PARSERS) {
      assert.deepEqual(parse('').unparsed, [], name);
      assert.deepEqual(parse(lines.join('\n')).unparsed, [GARBAGE, 'hello world', 'red'], name);
    }
  });
});

describe('lab stand-in outputs', () => {
  let root: string;
  const host: HostState = { id: 'webapp-1', role: 'webapp', hostname: 'kasm-webapp-1', ip: '10.1.2.3', proxyPort: 8443, proxyListening: true, sshPort: 0, firewall: { ufw: 'active', blockedPorts: [8443] } };
  const container = (fields: Pick<ContainerState, 'id' | 'name' | 'image' | 'command' | 'ports' | 'state' | 'health'>): ContainerState => {
    const created = new Date(Date.now() - 6 * 24 * 3_600_000).toISOString();
    return { created, startedAt: created, hostname: fields.id, env: {}, ...fields };
  };
  const labRun = (command: string, ...args: string[]) => execFileSync(join(paths.bin(root), command), args, { env: { ...process.env, LAB_ROOT: root, LAB_HOST_ID: host.id }, encoding: 'utf8' });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'parsers-lab-'));
    writeJson(paths.faults(root), []);
    mkdirSync(paths.host(root, host.id), { recursive: true });
    writeJson(paths.hostFile(root, host.id), host);
    createContainer(root, host.id, container({ id: '401963ee87a0', name: 'kasm_proxy', image: 'kasmweb/proxy:1.16.0', command: '/docker-entrypoint.sh nginx -g "daemon off;"', ports: '80/tcp, 0.0.0.0:8443->443/tcp, :::8443->443/tcp', state: 'running', health: null }));
    createContainer(root, host.id, container({ id: '5759e5692a85', name: 'kasm_api', image: 'kasmweb/api:1.16.0', command: "/bin/sh -c 'python3 /src/api_server/api_server.py'", ports: '8080/tcp', state: 'restarting', health: null }));
    createContainer(root, host.id, container({ id: '670da792ed27', name: 'kasm_db', image: 'postgres:12-alpine', command: 'docker-entrypoint.sh postgres', ports: '5432/tcp', state: 'running', health: 'unhealthy' }));
    await installHostCommands(root);
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('docker ps: default table, --no-trunc, {{json .}} and a custom table', () => {
    const expected = [
      ['kasm_api', 'restarting', null, 1, []],
      ['kasm_db', 'up', 'unhealthy', null, []],
      ['kasm_proxy', 'up', null, null, [{ hostIp: '0.0.0.0', hostPort: 8443, containerPort: 443, protocol: 'tcp' }, { hostIp: '::', hostPort: 8443, containerPort: 443, protocol: 'tcp' }]],
    ];
    const summary = (text: string) => {
      const { containers, unparsed } = parseDockerPs(text);
      assert.deepEqual(unparsed, []);
      return containers.map((c) => [c.names, c.state, c.health, c.exitCode, c.portMappings]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    };
    assert.deepEqual(summary(labRun('docker', 'ps', '-a')), expected);
    assert.deepEqual(summary(labRun('docker', 'ps', '-a', '--format', '{{json .}}')), expected);
    assert.deepEqual(summary(labRun('docker', 'ps', '-a', '--format', 'table {{.Names}}\t{{.Status}}\t{{.Ports}}')), expected);
    const full = parseDockerPs(labRun('docker', 'ps', '-a', '--no-trunc')).containers.find((c) => c.names === 'kasm_proxy')!;
    assert.deepEqual([full.id.length, full.command], [64, '/docker-entrypoint.sh nginx -g "daemon off;"']);
  });

  it('ss: -ltn, -ltnp, service names without -n, and -ltun with the Netid column', () => {
    for (const flags of ['-ltn', '-ltnp', '-lt', '-ltun']) {
      const { sockets, unparsed } = parseSsListening(labRun('ss', flags));
      assert.deepEqual(unparsed, [], flags);
      assert.deepEqual(listensOn(sockets, 8443), { ipv4: true, ipv6: true, localOnly: false }, flags);
      assert.deepEqual(listensOn(sockets, 22), { ipv4: true, ipv6: true, localOnly: false }, flags);
      assert.deepEqual(listensOn(sockets, 53), { ipv4: true, ipv6: false, localOnly: true }, flags);
    }
  });

  it('ip: the full, -o and -br listings all yield the lab IP as the only user-facing address', () => {
    for (const flags of [[], ['-o'], ['-br']]) {
      const { interfaces, unparsed } = parseIpAddr(labRun('ip', ...flags, 'addr'));
      assert.deepEqual(unparsed, [], flags.join(' '));
      assert.deepEqual(userFacingAddresses(interfaces).map((a) => a.address), ['10.1.2.3'], flags.join(' '));
    }
  });

  it('ufw and iptables: the blocked port is reported from every layout', () => {
    for (const detail of [[], ['verbose'], ['numbered']]) {
      const ufw = parseUfwStatus(labRun('ufw', 'status', ...detail));
      assert.deepEqual([ufw.active, ufw.unparsed, ufw.rules.length], [true, [], 4]);
      assert.deepEqual(blockingRules(ufw, null, 8443).map((b) => b.conditional), [false, false]);
      assert.deepEqual(blockingRules(ufw, null, 443), []);
    }
    const iptables = parseIptablesRules(labRun('iptables', '-S'));
    assert.deepEqual(iptables.unparsed, []);
    assert.deepEqual(blockingRules(null, iptables, 8443).map((b) => b.description), ['iptables INPUT: "-A INPUT -p tcp -m tcp --dport 8443 -j DROP" drops new TCP connections to port 8443']);
    assert.deepEqual(blockingRules(null, iptables, 443), []);
  });
});

describe('parseNetworkAddresses', () => {
  it("reads each network's IPv4 address from docker inspect's JSON, and nothing from anything else", () => {
    // Docker 20.10's shape, one network (kasm_default_network) and one with no address yet.
    const line = '{"kasm_default_network":{"IPAMConfig":{"IPv4Address":"172.18.255.250"},"Links":null,"Aliases":["kasm_api","0c1b2a3d4e5f"],"NetworkID":"8f1c","EndpointID":"3b2a","Gateway":"172.18.0.1","IPAddress":"172.18.255.250","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"02:42:ac:12:ff:fa","DriverOpts":null},"other":{"IPAddress":""}}';
    assert.deepEqual(parseNetworkAddresses(`${line}\n`), ['172.18.255.250']);
    for (const junk of ['', '{}', 'null', '[{"IPAddress":"172.18.0.2"}]', '{"n":{"IPAddress":"169.254.169.254/latest#"}}', 'Error: No such object: kasm_api', '{"n":']) {
      assert.deepEqual(parseNetworkAddresses(junk), [], junk);
    }
  });
});

describe('parseDockerPs on hostile input', () => {
  it('reads a table line of megabytes (single-spaced words once overflowed the stack) without throwing, in linear time', () => {
    const header = 'CONTAINER ID   IMAGE                      COMMAND   CREATED   STATUS   PORTS   NAMES';
    const time = (n: number) => {
      const started = performance.now();
      const parsed = parseDockerPs(`${header}\n${'x '.repeat(n)}\n`);
      assert.equal(parsed.containers.length, 0);
      assert.equal(parsed.unparsed.length, 1);
      return performance.now() - started;
    };
    time(100_000);
    const small = Math.max(time(500_000), 1);
    const large = time(4_000_000);
    assert.ok(large < small * 8 * 4, `8x the input took ${(large / small).toFixed(1)}x the time`);
  });
});

describe('maskOtherContainers', () => {
  // The guide's agent with three sessions: the synthetic user's (Kasm cut "synthetic@kasm.local" to 12) and two others.
  const table = `CONTAINER ID   IMAGE                                 COMMAND                  CREATED         STATUS                PORTS                          NAMES
0eb604899140   kasmweb/agent:1.14.0                  "/bin/sh -c '/usr/bi…"   6 days ago      Up 6 days (healthy)   4444/tcp                       kasm_agent
401963ee87a0   kasmweb/nginx:1.25.1                  "/docker-entrypoint.…"   6 days ago      Up 6 days             80/tcp, 0.0.0.0:443->443/tcp   kasm_proxy
125348fe9990   kasmweb/core-ubuntu-jammy:1.14.0      "/dockerstartup/kasm…"   3 minutes ago   Up 3 minutes          6901/tcp                       mattkasm.loc_4f8ada7f
225348fe9990   kasmweb/core-ubuntu-jammy:1.14.0      "/dockerstartup/kasm…"   1 minute ago    Up 1 minute           6901/tcp                       synthetickas_0c1d2e3f
325348fe9990   kasmweb/chrome:1.14.0                 "/dockerstartup/kasm…"   9 minutes ago   Up 9 minutes          6901/tcp                       alice_9a8b7c6d`;

  it("keeps Kasm's services and the synthetic user's sessions, and counts the others without naming them", () => {
    const prefixes = ownContainerPrefixes('synthetic@kasm.local');
    assert.ok(prefixes.includes('synthetickas'), prefixes.join(','));
    const out = maskOtherContainers(table, prefixes);
    assert.ok(!/mattkasm|alice|4f8ada7f|9a8b7c6d/.test(out), out);
    assert.deepEqual(parseDockerPs(out).containers.map((c) => c.names), ['kasm_agent', 'kasm_proxy', 'synthetickas_0c1d2e3f']);
    assert.match(out, /\[2 other containers \(other users' sessions\) left out of this transcript\]$/);
    const json = ['{"Names":"kasm_agent","ID":"0eb604899140","State":"running","Status":"Up 6 days"}', '{"Names":"alice_9a8b7c6d","ID":"3253","State":"running","Status":"Up 9 minutes"}'].join('\n');
    assert.equal(maskOtherContainers(json, prefixes), '{"Names":"kasm_agent","ID":"0eb604899140","State":"running","Status":"Up 6 days"}\n[1 other container (other users\' sessions) left out of this transcript]');
    assert.equal(maskOtherContainers(table.split('\n').slice(0, 3).join('\n'), prefixes), table.split('\n').slice(0, 3).join('\n'));
  });
});

describe('maskOtherSessions', () => {
  const ours = '4f86a3fa-22b5-4ac6-9a1e-0123456789ab';
  const userId = 'e60a9c80289a4b3aaedb42f1d5fe8060';
  const theirs = '72248a05-922d-4518-b92f-7a9d1ea529eb';
  const log = [
    '2026-12-03 10:00:00,001 [INFO] client_api_server: Received config /opt/kasm/current/conf/app/api.app.config.yaml',
    `2026-12-03 10:00:01,002 [INFO] client_api_server: Created kasm (${ours.replaceAll('-', '')}) for user (synthetic@kasm.local) on agent (agent-1)`,
    `2026-12-03 10:00:02,003 [INFO] client_api_server: Created kasm (${theirs.replaceAll('-', '')}) for user (alice@example.com) on agent (agent-1)`,
    '2026-12-03 10:00:03,004 [ERROR] client_api_server: Error provisioning kasm for user: (bob@example.com)',
    'Traceback (most recent call last):',
    '  File "provision.py", line 12, in provision',
    `2026-12-03 10:00:04,005 [INFO] cherrypy.access.1: - - [03/Dec/2026:10:00:04] "GET /api/kasm_connect/ HTTP/1.0" 202 - "https://kasm.example/desktop/${theirs}/vnc/vnc.html" "UA"`,
    `2026-12-03 10:00:05,006 [INFO] cherrypy.access.1: - - [03/Dec/2026:10:00:05] "GET /api/kasm_connect/ HTTP/1.0" 202 - "https://kasm.example/desktop/${ours}/vnc/vnc.html?user=${userId}" "UA"`,
    ' 2026-12-03 10:00:06,007 [INFO] websocket 141: kasm_user "GET /websockify HTTP/1.1" 101 0',
  ].join('\n');

  it("keeps the run's own lines and the services', and counts other users' lines (a traceback goes with its entry)", () => {
    const out = maskOtherSessions(log, { ids: [ours, userId], user: 'Synthetic@kasm.local' });
    assert.ok(!/alice|bob|72248a05|72248a05922d/.test(out), out);
    const lines = log.split('\n');
    assert.deepEqual(out.split('\n'), [lines[0], lines[1], lines[7], lines[8], "[5 lines of other users' sessions left out of this transcript]"]);
    assert.match(out, /\n\[5 lines of other users' sessions left out of this transcript\]$/);
    assert.equal(maskOtherSessions('plain\nlines', { ids: [ours] }), 'plain\nlines');
  });
});

describe('kasm_api tracebacks and slot search', () => {
  it("reads a traceback's first exception, the message lines after it and the innermost frame", () => {
    const { entries } = parseKasmApiLog(
      [
        '2022-01-18 00:15:34,865 [INFO] root: Initializing Postgres Database',
        'Traceback (most recent call last):',
        '  File "sqlalchemy/pool/base.py", line 639, in __connect',
        '  File "psycopg2/__init__.py", line 126, in connect',
        'psycopg2.OperationalError: could not connect to server: Connection refused',
        '\tIs the server running on host "db" (172.18.0.2) and accepting',
        '\tTCP/IP connections on port 5432?',
        '2022-01-18 00:15:35,000 [INFO] root: next',
      ].join('\n'),
    );
    assert.deepEqual(tracebackIn(entries[0]!), {
      exception: 'psycopg2.OperationalError: could not connect to server: Connection refused',
      detail: ['Is the server running on host "db" (172.18.0.2) and accepting', 'TCP/IP connections on port 5432?'],
      raisedIn: 'connect',
      lines: [entries[0]!.raw, ...entries[0]!.continuation],
    });
    assert.equal(tracebackIn(entries[1]!), null);
  });

  it('lists the servers looked at and those without a slot, with the resource and what remained', () => {
    const { entries } = parseKasmApiLog(
      [
        '2023-06-13 10:20:59,482 [DEBUG] client_api_server: Processing Server: (a1)',
        '2023-06-13 10:20:59,484 [DEBUG] client_api_server: Server a1 does not have required memory remaining (986501120 remaining)',
        '2023-06-13 10:20:59,485 [DEBUG] client_api_server: No more slots available for server : (a1)',
        '2023-06-13 10:20:59,486 [DEBUG] client_api_server: Processing Server: (b2)',
        '2023-06-13 10:20:59,487 [DEBUG] client_api_server: No more slots available for server : (b2)',
      ].join('\n'),
    );
    const { servers, short } = slotSearch(entries);
    assert.deepEqual(servers, ['a1', 'b2']);
    assert.deepEqual(
      short.map(({ server, resource, remaining, lines }) => ({ server, resource, remaining, lines: lines.length })),
      [
        { server: 'a1', resource: 'memory', remaining: '986501120', lines: 2 },
        { server: 'b2', resource: null, remaining: null, lines: 1 },
      ],
    );
  });
});

describe('kasm_agent manager answers', () => {
  it("pairs each agent_config request with the handler's next line", () => {
    const lines = [
      '2024-10-22 19:36:02,550 [DEBUG] __main__.handler: Sending manager request (https://kasm.example:443/manager_api/api/v1/agent_config)',
      '2024-10-22 19:36:02,557 [DEBUG] __main__.handler: {}',
      '2024-10-22 19:36:03,000 [DEBUG] __main__.handler: Sending manager request (https://kasm.example:443/manager_api/api/v1/heartbeat)',
      '2024-10-22 19:36:03,010 [DEBUG] __main__.handler: {}',
    ];
    assert.deepEqual(parseKasmAgentLog(lines).configAnswers, [{ url: 'https://kasm.example:443/manager_api/api/v1/agent_config', answer: '{}', lines: [lines[0], lines[1]] }]);
  });
});

describe('curl commands in a shell transcript', () => {
  it('reads the prompt, the URL and whether the shell is a Kasm session', () => {
    assert.deepEqual(parseCurlCommand('default:~$ curl --insecure https://172.18.0.1'), { prompt: 'default:~$', url: 'https://172.18.0.1', inSession: true, raw: 'default:~$ curl --insecure https://172.18.0.1' });
    assert.deepEqual(parseCurlCommand("root@web1:/opt# sudo docker exec -it kasm_api curl -v 'http://localhost:8080/api/__healthcheck'"), {
      prompt: 'root@web1:/opt#',
      url: 'http://localhost:8080/api/__healthcheck',
      inSession: false,
      raw: "root@web1:/opt# sudo docker exec -it kasm_api curl -v 'http://localhost:8080/api/__healthcheck'",
    });
    assert.equal(parseCurlCommand('$ curl -sk https://kasm.example/')?.prompt, null);
    assert.equal(parseCurlCommand('default:~$ ip a ls eth0'), null);
    assert.equal(parseCurlCommand('curling is a sport'), null);
  });
});

describe("the browser's copied fetch", () => {
  const block = ['fetch("https://kasm.lan:8443/desktop/x/vnc/vnc.html", {', '  "headers": {', '    "accept": "text/html"', '  },', '  "referrer": "https://kasm.example.com/",', '  "method": "GET"', '});'];

  it('reads the URL, the page it was made from and the method, and knows where the block ends', () => {
    assert.deepEqual(parseBrowserCopy(block), { fetches: [{ url: 'https://kasm.lan:8443/desktop/x/vnc/vnc.html', referrer: 'https://kasm.example.com/', method: 'GET', lines: block }], unparsed: [] });
    let open = false;
    const routed = [...block, '  "referrer": "after the block"'].map((line) => {
      const r = browserLine(line, open);
      open = r.open;
      return r.browser;
    });
    assert.deepEqual(routed, [true, true, true, true, true, true, true, false]);
  });

  it("takes the scheme's default port and leaves DevTools' placeholders alone", () => {
    assert.deepEqual(originOf('https://Kasm.LAN/desktop/[...]/vnc/vnc.html?[...]'), { scheme: 'https', host: 'kasm.lan', port: 443 });
    assert.deepEqual(originOf('http://10.0.0.5:8080'), { scheme: 'http', host: '10.0.0.5', port: 8080 });
    assert.equal(originOf('/desktop/x'), null);
  });
});

describe("Kasm's installer output", () => {
  it("reads install.sh's steps and docker's progress; an error line only after the installer's", () => {
    for (const line of ['Setting Default Listening Port as 8443', 'Setting Server Zone  as default', 'Installing All Services', 'c360c17c2d8f: Pull complete', 'Digest: sha256:' + 'a'.repeat(64), 'Installation Complete']) assert.ok(isInstallerLine(line, false), line);
    assert.equal(isInstallerLine('Error: stat /opt/kasm/x: no such file or directory', false), false);
    assert.equal(isInstallerLine('Error: stat /opt/kasm/x: no such file or directory', true), true);
    assert.equal(isInstallerLine('Setting up the weekend', false), false);
  });

  it('keeps each failure with the step it stopped in, and the file a command could not find', () => {
    const log = parseInstaller(['Installing Agent Role', 'cp: cannot stat \'/opt/kasm/1.15.0/conf/nginx/agent.conf\': No such file or directory']);
    assert.deepEqual(log, { steps: ['Installing Agent Role'], failures: [{ line: "cp: cannot stat '/opt/kasm/1.15.0/conf/nginx/agent.conf': No such file or directory", step: 'Installing Agent Role' }], completed: false, agentRole: true });
    assert.equal(missingFile(log.failures[0]!.line), '/opt/kasm/1.15.0/conf/nginx/agent.conf');
    assert.equal(missingFile('Error: stat /opt/kasm/1.16.1/conf/app/api.app.config.yaml: no such file or directory'), '/opt/kasm/1.16.1/conf/app/api.app.config.yaml');
  });
});

describe('kubectl tables', () => {
  it('reads get svc and get pods, with or without header and namespace, and the command line', () => {
    const lines = [
      'k8s:~$ sudo kubectl get svc,pods -A',
      'NAMESPACE   NAME         TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)             AGE',
      'kasm        kasm-proxy   ClusterIP   10.15.250.67   <none>        8080/TCP,8443/TCP   3d17h',
      'kasm-api    NodePort     10.43.1.2   <none>        8080:30080/TCP   5m',
      'kasm-agent-0   0/1   Error   3 (10s ago)   2m',
    ];
    assert.ok(lines.every((l) => isKubectlLine(l)));
    assert.deepEqual(plain(parseKubectl(lines)), {
      services: [
        { namespace: 'kasm', name: 'kasm-proxy', type: 'ClusterIP', clusterIp: '10.15.250.67', externalIp: '<none>', ports: '8080/TCP,8443/TCP', age: '3d17h', raw: lines[2] },
        { namespace: null, name: 'kasm-api', type: 'NodePort', clusterIp: '10.43.1.2', externalIp: '<none>', ports: '8080:30080/TCP', age: '5m', raw: lines[3] },
      ],
      pods: [{ namespace: null, name: 'kasm-agent-0', ready: 0, containers: 1, status: 'Error', restarts: 3, age: '2m', raw: lines[4] }],
      commands: [lines[0]],
      unparsed: [],
    });
    assert.equal(isKubectlLine('kasm proxy is a ClusterIP service'), false);
  });
});
