import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupByHandler, judgeHandlers, parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';

// The troubleshooting guide's "KasmVNC Troubleshooting" samples, verbatim (leading spaces included).
const STATIC = [
  ' 2023-11-17 14:51:07,525 [DEBUG] websocket 141: BasicAuth matched',
  ' 2023-11-17 14:51:07,525 [INFO] websocket 141: /websockify request failed websocket checks, not a GET request, or missing Upgrade header',
  ' 2023-11-17 14:51:07,525 [DEBUG] websocket 141: Invalid WS request, maybe a HTTP one',
  " 2023-11-17 14:51:07,525 [DEBUG] websocket 141: Requested file '/app/sounds/bell.oga'",
  ' 2023-11-17 14:51:07,525 [INFO] websocket 141: kasm_user "GET /app/sounds/bell.oga HTTP/1.1" 200 8701',
  ' 2023-11-17 14:51:07,525 [DEBUG] websocket 141: No connection after handshake',
  ' 2023-11-17 14:51:07,525 [DEBUG] websocket 141: handler exit',
];
const WEBSOCKET = [
  ' 2023-11-17 14:51:07,526 [DEBUG] websocket 142: using SSL socket',
  " 2023-11-17 14:51:07,526 [DEBUG] websocket 142: X-Forwarded-For ip ''",
  ' 2023-11-17 14:51:07,529 [DEBUG] websocket 142: BasicAuth matched',
  ' 2023-11-17 14:51:07,529 [DEBUG] websocket 142: using protocol HyBi/IETF 6455 13',
  ' 2023-11-17 14:51:07,529 [DEBUG] websocket 142: connecting to VNC target',
  ' 2023-11-17 14:51:07,529 [DEBUG] XserverDesktop: new client, sock 32',
];
const CRASH = [
  '(EE) Backtrace:',
  '(EE) 0: /usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5e48dd]',
  '(EE) 1: /usr/bin/Xvnc (0x400000+0x1e8259) [0x5e8259]',
  '(EE) 2: /lib/x86_64-linux-gnu/ (0x7f5a57ef6000+0x12980) [0x7f5a57f08980]',
  '(EE) 3: /lib/x86_64-linux-gnu/ (epoll_wait+0x57) [0x7f5a552eca47]',
  '(EE) 4: /usr/bin/Xvnc (ospoll_wait+0x37) [0x5e8d07]',
  '(EE) 5: /usr/bin/Xvnc (WaitForSomething+0x1c3) [0x5e2813]',
  '(EE) 6: /usr/bin/Xvnc (Dispatch+0xa7) [0x597007]',
  '(EE) 7: /usr/bin/Xvnc (dix_main+0x36e) [0x59b1fe]',
  '(EE) 8: /lib/x86_64-linux-gnu/ (__libc_start_main+0xe7) [0x7f5a551ecbf7]',
  '(EE) 9: /usr/bin/Xvnc (_start+0x2a) [0x46048a]',
  '(EE) Received signal 11 sent by process 17182, uid 0',
  'Fatal server error:',
  '(EE) Caught signal 11 (Segmentation fault). Server aborting',
];
const RESTART = [' 2023-11-17 14:51:09,002 [INFO] websocket 0: got client connection from 172.18.0.5'];

describe('parseKasmVncLog', () => {
  test('reads websocket and module lines with handler ids, levels and UTC dates', () => {
    const log = parseKasmVncLog([...STATIC, ...WEBSOCKET].join('\n'));
    assert.equal(log.entries.length, 13);
    assert.deepEqual(log.unparsed, []);
    const first = log.entries[0]!;
    assert.equal(first.kind, 'websocket');
    assert.equal(first.kind === 'websocket' ? first.handler : -1, 141);
    assert.equal(first.level, 'DEBUG');
    assert.equal(first.at?.toISOString(), '2023-11-17T14:51:07.525Z');
    const last = log.entries.at(-1)!;
    assert.deepEqual(last.kind === 'module' ? [last.module, last.message, last.level] : [], ['XserverDesktop', 'new client, sock 32', 'DEBUG']);
  });

  test('keeps the crash block together: signal 11, ten frames, Server aborting, and the restart after it', () => {
    const log = parseKasmVncLog([...WEBSOCKET, ...CRASH, ...RESTART].join('\n'));
    assert.equal(log.crashes.length, 1);
    const crash = log.crashes[0]!;
    assert.equal(crash.signal, 11);
    assert.equal(crash.signalName, 'Segmentation fault');
    assert.equal(crash.sentByPid, 17182);
    assert.equal(crash.frames.length, 10);
    assert.equal(crash.frames[0], '/usr/bin/Xvnc (xorg_backtrace+0x4d) [0x5e48dd]');
    assert.equal(crash.aborting, true);
    assert.equal(crash.lines.length, 14);
    assert.equal(crash.after?.toISOString(), '2023-11-17T14:51:07.529Z');
    assert.equal(crash.restarted, true);
    assert.equal(crash.restartedAt?.toISOString(), '2023-11-17T14:51:09.002Z');
    assert.deepEqual(log.unparsed, []);
  });

  test('a crash at the end of a capture has no restart, and the Xvnc -version banner is kept', () => {
    const banner = ['Xvnc KasmVNC 1.2.0.e4a5004f4b89b9da78c9b5f5aee59c08c662ccec - built Oct 31 2023 11:22:56', 'Underlying X server release 12008000, The X.Org Foundation'];
    const crashOnly = parseKasmVncLog(CRASH.join('\n'));
    assert.equal(crashOnly.crashes[0]?.restarted, false);
    assert.equal(crashOnly.crashes[0]?.after, null);
    const withBanner = parseKasmVncLog([...CRASH, ...banner].join('\n'));
    assert.deepEqual(withBanner.versions, [banner[0]]);
    assert.deepEqual(withBanner.unparsed, []);
  });

  test('counts malformed, truncated and binary lines as unparsed without throwing', () => {
    const log = parseKasmVncLog([STATIC[0], 'not a kasmvnc line', ' 2023-11-17 14:5', ' 2023-13-40 99:99:99,000 [DEBUG] websocket 1: x', '\x00\x01\x02binary', ''].join('\r\n'));
    assert.equal(log.entries.length, 1);
    assert.deepEqual(log.unparsed, ['not a kasmvnc line', ' 2023-11-17 14:5', ' 2023-13-40 99:99:99,000 [DEBUG] websocket 1: x', '\x00\x01\x02binary']);
    assert.deepEqual(parseKasmVncLog(''), { entries: [], crashes: [], versions: [], unparsed: [] });
  });
});

describe('groupByHandler and judgeHandlers', () => {
  test('the bell.oga request is http and its failed-websocket-checks line is misleading', () => {
    const [group] = groupByHandler(parseKasmVncLog(STATIC.join('\n')).entries);
    assert.ok(group);
    assert.equal(group.id, 141);
    assert.equal(group.lines.length, 7);
    assert.equal(group.result, 'http');
    assert.equal(group.path, '/app/sounds/bell.oga');
    assert.equal(group.method, 'GET');
    assert.equal(group.status, 200);
    assert.equal(group.bytes, 8701);
    assert.equal(group.auth, 'matched');
    assert.equal(group.failedChecks, 'not a GET request, or missing Upgrade header');
    assert.equal(group.misleading, true);
    assert.deepEqual(judgeHandlers([group]).map((f) => f.severity), ['info']);
  });

  test('handler 142 is the websocket: HyBi 13 and BasicAuth matched', () => {
    const groups = groupByHandler(parseKasmVncLog([...STATIC, ...WEBSOCKET].join('\n')).entries);
    assert.deepEqual(groups.map((g) => g.id), [141, 142]);
    const ws = groups[1]!;
    assert.equal(ws.result, 'websocket');
    assert.equal(ws.protocol, 'HyBi/IETF 6455 13');
    assert.equal(ws.auth, 'matched');
    assert.equal(ws.misleading, false);
    assert.equal(ws.startedAt?.toISOString(), '2023-11-17T14:51:07.526Z');
    assert.equal(ws.endedAt?.toISOString(), '2023-11-17T14:51:07.529Z');
    assert.equal(judgeHandlers(groups).at(-1)?.message, 'handler 142: websocket accepted (HyBi/IETF 6455 13, BasicAuth matched)');
  });

  test('a /websockify request that failed the checks is flagged with the exact reason', () => {
    const lines = [
      ' 2024-11-01 06:19:30,100 [INFO] websocket 7: got client connection from 172.18.0.5',
      ' 2024-11-01 06:19:30,101 [DEBUG] websocket 7: BasicAuth matched',
      ' 2024-11-01 06:19:30,101 [INFO] websocket 7: /websockify request failed websocket checks, missing Sec-WebSocket-Protocol header',
      ' 2024-11-01 06:19:30,101 [DEBUG] websocket 7: Invalid WS request, maybe a HTTP one',
      " 2024-11-01 06:19:30,101 [DEBUG] websocket 7: Requested file '/websockify'",
      ' 2024-11-01 06:19:30,101 [DEBUG] websocket 7: file not found or insufficient permissions',
      ' 2024-11-01 06:19:30,102 [INFO] websocket 7: 172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 404 180',
    ];
    const groups = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.equal(groups[0]?.result, 'rejected');
    assert.equal(groups[0]?.misleading, false);
    assert.deepEqual(judgeHandlers(groups), [
      {
        severity: 'fail',
        handler: 7,
        path: '/websockify',
        message: 'handler 7 (GET /websockify): KasmVNC could not identify the /websockify request as a websocket: missing Sec-WebSocket-Protocol header',
        // A device between the browser and KasmVNC dropped the header.
        hop: 'path',
        // The lines that explain it, quoted first as evidence: the auth result, the failed checks, the access line.
        lines: [lines[1], lines[2], lines[5], lines[6]],
      },
    ]);
  });

  test('a /websockify request KasmVNC rejected is a failure that quotes the rejecting line, not an "ok" count', () => {
    const lines = [
      ' 2024-11-01 06:19:31,100 [INFO] websocket 1: got client connection from 172.18.0.3',
      ' 2024-11-01 06:19:31,101 [INFO] websocket 1: 10.0.0.5 - "GET /websockify HTTP/1.1" 403 0',
      ' 2024-11-01 06:19:31,102 [INFO] websocket 1: rejecting connection: non-SSL connection disallowed',
      ' 2024-11-01 06:19:31,103 [DEBUG] websocket 1: handler exit',
    ];
    const groups = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.equal(groups[0]?.result, 'rejected');
    assert.deepEqual(judgeHandlers(groups), [
      { severity: 'fail', handler: 1, path: '/websockify', message: 'handler 1 (GET /websockify): KasmVNC rejected the request: rejecting connection: non-SSL connection disallowed', lines: [lines[1], lines[2]] },
    ]);
  });

  test('an invalid X-Forwarded-For is a warning about the proxy, not a rejection: KasmVNC goes on', () => {
    const lines = [
      ' 2024-11-01 06:19:30,100 [INFO] websocket 3: got client connection from 172.18.0.5',
      ' 2024-11-01 06:19:30,101 [INFO] websocket 3: An invalid X-Forwarded-For was passed, maybe an attack',
      ' 2024-11-01 06:19:30,101 [DEBUG] websocket 3: BasicAuth matched',
      ' 2024-11-01 06:19:30,102 [DEBUG] websocket 3: using protocol HyBi/IETF 6455 13',
    ];
    const groups = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.equal(groups[0]?.result, 'websocket');
    const findings = judgeHandlers(groups);
    assert.deepEqual(findings.map((f) => [f.severity, f.hop]), [['warn', 'path'], ['info', undefined]]);
    assert.match(findings[0]!.message, /^handler 3: a proxy in front sent an X-Forwarded-For KasmVNC cannot read/);
  });

  test('auth failures are named and a reused handler id after a restart opens a new group', () => {
    const lines = [
      ' 2024-11-01 06:19:30,100 [INFO] websocket 0: got client connection from 10.0.0.1',
      ' 2024-11-01 06:19:30,101 [INFO] websocket 0: Authentication attempt failed, wrong password for user kasm_user',
      ' 2024-11-01 06:19:30,101 [DEBUG] websocket 0: handler exit',
      ' 2024-11-01 06:20:30,100 [INFO] websocket 0: got client connection from 10.0.0.1',
      " 2024-11-01 06:20:30,101 [INFO] websocket 0: Authentication attempt failed, BasicAuth required, but client didn't send any",
    ];
    const groups = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.deepEqual(groups.map((g) => [g.id, g.result, g.auth]), [[0, 'auth-failed', 'wrong-password'], [0, 'auth-failed', 'none-sent']]);
    assert.deepEqual(judgeHandlers(groups).map((f) => f.severity), ['fail', 'fail']);
  });
});
