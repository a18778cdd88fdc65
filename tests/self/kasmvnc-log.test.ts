import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeKind, explainDisplayLock, explainStartFailure, groupByHandler, judgeHandlers, parseKasmVncLog, readConnections } from '../../helpers/logs/kasmvnc.ts';

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
    assert.deepEqual(parseKasmVncLog(''), { entries: [], crashes: [], versions: [], startFailures: [], displayLocks: [], unparsed: [] });
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

// One handler's lines as KasmVNC 1.3.2 writes them (wslog: leading space, date, level, `websocket <id>: `).
const ws = (id: number, level: 'INFO' | 'DEBUG', message: string, ms = 100) => ` 2024-11-01 06:19:30,${ms} [${level}] websocket ${id}: ${message}`;
const judged = (lines: string[]) => judgeHandlers(groupByHandler(parseKasmVncLog(lines.join('\n')).entries));

describe("vncserver's start messages and Xvnc's fatal TLS exits", () => {
  // kasmtech/workspaces-issues#637, quoted exactly (tests/fixtures/real/kasmvnc-vncserver-stale-x1-lock.log).
  const STALE = ['Warning: kasm:1 is taken because of /tmp/.X1-lock', 'Remove this file if there is no X server kasm:1', 'A VNC server is already running as :1'];

  test('a stale X lock: vncserver refuses display :1, with the lock it named, and the fix removes both lock files', () => {
    const log = parseKasmVncLog(STALE.join('\n'));
    assert.deepEqual(log.unparsed, []);
    assert.deepEqual(log.displayLocks, []);
    assert.deepEqual(log.startFailures, [{ kind: 'display-in-use', subject: ':1', detail: null, locks: ['/tmp/.X1-lock'], lines: [STALE[2], STALE[0], STALE[1]] }]);
    assert.deepEqual(explainStartFailure(log.startFailures[0]!), {
      message: 'vncserver refused to start display :1 ("A VNC server is already running as :1"): /tmp/.X1-lock is there, so vncserver counts the display as taken; no Xvnc started, so the session cannot load',
      fix: 'If no Xvnc runs in the container (`ps aux | grep Xvnc`), the lock is stale (an image committed from a running session keeps it): remove /tmp/.X1-lock and /tmp/.X11-unix/X1 from the image, or before vncserver starts, then start a new session.',
    });
  });

  test('a lock warning vncserver went past (it took another display) is kept as a lock, not a refusal', () => {
    const lines = ['', 'Warning: kasm:1 is taken because of /tmp/.X11-unix/X1', 'Remove this file if there is no X server kasm:1'];
    const log = parseKasmVncLog(lines.join('\n'));
    assert.deepEqual(log.startFailures, []);
    assert.deepEqual(log.displayLocks, [{ display: ':1', file: '/tmp/.X11-unix/X1', lines: lines.slice(1) }]);
    assert.deepEqual(explainDisplayLock(log.displayLocks[0]!), {
      message: 'vncserver skipped display :1 because /tmp/.X11-unix/X1 is there ("Warning: kasm:1 is taken because of /tmp/.X11-unix/X1"): another X server holds :1, or the lock is stale',
      fix: "If no Xvnc serves :1 (`ps aux | grep Xvnc`), remove /tmp/.X1-lock and /tmp/.X11-unix/X1; Kasm's images start vncserver on :1 and fail when it is taken.",
    });
  });

  test("websocket.c's fatal(): perror puts the reason on the line after the key or certificate message", () => {
    const lines = [
      ws(3, 'INFO', 'got client connection from 172.18.0.5'),
      'Unable to load private key file /home/kasm-user/.vnc/self.pem',
      ': No such file or directory',
      'Unable to load certificate file /etc/ssl/certs/kasm.pem',
      ': Permission denied',
      'Failed to configure SSL context: Success',
      ': Success',
    ];
    const log = parseKasmVncLog(lines.join('\n'));
    assert.deepEqual(log.startFailures, [
      { kind: 'tls-key', subject: '/home/kasm-user/.vnc/self.pem', detail: 'No such file or directory', locks: [], lines: [lines[1], lines[2]] },
      { kind: 'tls-certificate', subject: '/etc/ssl/certs/kasm.pem', detail: 'Permission denied', locks: [], lines: [lines[3], lines[4]] },
      { kind: 'tls-context', subject: '', detail: 'Success', locks: [], lines: [lines[5]] },
    ]);
    // A reason line with no failure before it is nobody's.
    assert.deepEqual(log.unparsed, [': Success']);
    assert.equal(
      explainStartFailure(log.startFailures[0]!).message,
      "Xvnc exited at a TLS connection: it could not load the private key file /home/kasm-user/.vnc/self.pem (No such file or directory), and websocket.c's fatal() ends the whole server",
    );
    assert.equal(
      explainStartFailure(log.startFailures[2]!).message,
      'Xvnc exited at a TLS connection: OpenSSL could not create its TLS context ("Failed to configure SSL context: Success"), and websocket.c\'s fatal() ends the whole server',
    );
  });
});

describe('Basic auth: the first, more specific reason wins', () => {
  test('an unknown user logs "does not exist" and then "wrong password": it is read as unknown-user, naming the user', () => {
    const lines = [
      ws(4, 'INFO', 'got client connection from 172.18.0.5'),
      ws(4, 'INFO', 'Authentication attempt failed, user bob does not exist'),
      ws(4, 'INFO', 'Authentication attempt failed, wrong password for user bob'),
      ws(4, 'INFO', '172.18.0.5 172.18.0.5 bob "GET /websockify HTTP/1.1" 401 2'),
    ];
    const [group] = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.deepEqual([group?.result, group?.auth, group?.user, group?.authLine?.raw], ['auth-failed', 'unknown-user', 'bob', lines[1]]);
    assert.deepEqual(judged(lines), [
      {
        severity: 'fail',
        handler: 4,
        path: '/websockify',
        hop: 'agent',
        lines: [lines[1], lines[2], lines[3]],
        message: 'handler 4 (GET /websockify): Basic auth failed (unknown-user): the credentials name user bob, whom KasmVNC\'s password file does not hold ("Authentication attempt failed, user bob does not exist")',
      },
    ]);
  });

  test("a missing password file (then `wrong password for user -`) is the image's: no hop of the path or the agent", () => {
    const error = "Error: BasicAuth configured to read password from file /home/kasm-user/.kasmpasswd, but the file doesn't exist or has no valid users";
    const lines = [ws(5, 'INFO', 'got client connection from 172.18.0.5'), ws(5, 'INFO', error), ws(5, 'INFO', 'Authentication attempt failed, wrong password for user -'), ws(5, 'INFO', '172.18.0.5 172.18.0.5 - "GET /websockify HTTP/1.1" 401 2')];
    const [group] = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.deepEqual([group?.auth, group?.user], ['no-password-file', undefined]);
    assert.deepEqual(judged(lines), [
      {
        severity: 'fail',
        handler: 5,
        path: '/websockify',
        lines: [lines[1], lines[2], lines[3]],
        message: `handler 5 (GET /websockify): Basic auth failed (no-password-file): KasmVNC has no password file to check the credentials against, so every login fails ("${error}")`,
      },
    ]);
  });
});

describe("the handshake's and the stream's failures", () => {
  test("a missing TLS certificate: KasmVNC drops every TLS connection (the image's, hop session)", () => {
    const lines = [ws(6, 'INFO', 'got client connection from 172.18.0.5'), ws(6, 'DEBUG', "SSL connection but '/home/kasm-user/.vnc/self.pem' not found"), ws(6, 'DEBUG', 'No connection after handshake'), ws(6, 'DEBUG', 'handler exit')];
    assert.deepEqual(judged(lines), [
      { severity: 'fail', handler: 6, lines: [lines[1]], message: 'handler 6: KasmVNC\'s TLS certificate /home/kasm-user/.vnc/self.pem is not there, so it drops every TLS connection before the handshake ("SSL connection but \'/home/kasm-user/.vnc/self.pem\' not found")' },
    ]);
    const none = [ws(7, 'INFO', 'got client connection from 172.18.0.5'), ws(7, 'DEBUG', 'SSL connection but no cert specified')];
    assert.deepEqual(judged(none), [{ severity: 'fail', handler: 7, lines: [none[1]], message: 'handler 7: KasmVNC has no TLS certificate configured, so it drops every TLS connection before the handshake ("SSL connection but no cert specified")' }]);
  });

  test('an oversized handshake is refused with 400 and `-` for the URL it never read: the cookies or a proxy (hop client)', () => {
    const lines = [ws(8, 'INFO', 'got client connection from 172.18.0.5'), ws(8, 'DEBUG', 'using SSL socket'), ws(8, 'DEBUG', 'Oversized handshake'), ws(8, 'INFO', '- 172.18.0.5 - "GET - HTTP/1.1" 400 104')];
    const [group] = groupByHandler(parseKasmVncLog(lines.join('\n')).entries);
    assert.deepEqual([group?.path, group?.status, group?.result], [undefined, 400, 'rejected']);
    assert.deepEqual(judged(lines), [
      { severity: 'fail', handler: 8, hop: 'client', lines: [lines[2], lines[3]], message: 'handler 8: KasmVNC refused a request whose headers exceed its 16 KiB handshake buffer ("Oversized handshake", answered 400): too many or too large cookies, or headers a proxy added' },
    ]);
  });

  test('an incomplete handshake and a refused path are warnings about what sent them (hop path)', () => {
    const incomplete = [ws(9, 'DEBUG', 'using plain (not SSL) socket'), ws(9, 'DEBUG', 'Incomplete handshake')];
    assert.deepEqual(judged(incomplete), [{ severity: 'warn', handler: 9, hop: 'path', lines: [incomplete[1]], message: 'handler 9: the request\'s headers never ended: KasmVNC gave up after 10 reads ("Incomplete handshake")' }]);
    // servefile() logs its refusals with an empty URL.
    const long = [ws(10, 'DEBUG', 'BasicAuth matched'), ws(10, 'DEBUG', 'Request too long (1391) or attempted dir traversal attack, rejecting'), ws(10, 'INFO', '172.18.0.5 172.18.0.5 kasm_user "GET  HTTP/1.1" 404 100')];
    assert.deepEqual(judged(long), [
      { severity: 'warn', handler: 10, hop: 'path', lines: [long[1], long[0], long[2]], message: 'handler 10: KasmVNC refused a request because its path is 1391 characters long (KasmVNC takes at most 1024) ("Request too long (1391) or attempted dir traversal attack, rejecting")' },
    ]);
    assert.deepEqual(
      judged([ws(11, 'DEBUG', 'Request too long (30) or attempted dir traversal attack, rejecting'), ws(12, 'DEBUG', 'Attempted dir traversal attack, rejecting')]).map((f) => f.message),
      [
        'handler 11: KasmVNC refused a request because its path holds "../" (a directory traversal attempt) ("Request too long (30) or attempted dir traversal attack, rejecting")',
        'handler 12: KasmVNC refused a request because its path holds "../" (a directory traversal attempt) ("Attempted dir traversal attack, rejecting")',
      ],
    );
  });

  test('Xvnc not there behind an accepted websocket: "Could not connect to target" is the session\'s desktop server', () => {
    const lines = [ws(13, 'DEBUG', 'BasicAuth matched'), ws(13, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(13, 'DEBUG', 'connecting to VNC target'), ws(13, 'DEBUG', 'Could not connect to target: Connection refused'), ws(13, 'DEBUG', 'handler exit')];
    assert.deepEqual(judged(lines), [
      { severity: 'fail', handler: 13, lines: [lines[3], lines[0]], message: 'handler 13: KasmVNC accepted the websocket but could not reach Xvnc behind it ("Could not connect to target: Connection refused"): the desktop server is not running' },
      { severity: 'info', handler: 13, message: 'handler 13: websocket accepted (HyBi/IETF 6455 13, BasicAuth matched)' },
    ]);
  });

  test('the relay to Xvnc breaking, and the client connection\'s exception', () => {
    const broken = [ws(14, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(14, 'DEBUG', 'target connection error: Broken pipe')];
    const exception = [ws(15, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(15, 'DEBUG', 'target exception')];
    const client = [ws(16, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(16, 'DEBUG', 'client exception')];
    assert.deepEqual(
      judged([...broken, ...exception, ...client]).map((f) => [f.severity, f.hop, f.message]),
      [
        ['fail', undefined, 'handler 14: the connection between KasmVNC\'s websocket and Xvnc broke ("target connection error: Broken pipe"), which ended the stream'],
        ['fail', undefined, 'handler 15: the connection between KasmVNC\'s websocket and Xvnc broke ("target exception"), which ended the stream'],
        ['warn', 'path', 'handler 16: the connection to KasmVNC signalled an exceptional condition ("client exception") and KasmVNC ended the stream'],
        ['info', undefined, 'handler 16: websocket accepted (HyBi/IETF 6455 13, BasicAuth not-seen)'],
      ],
    );
  });

  test('frames KasmVNC cannot read are the path\'s; `Base64 decode error code` runs on into the next line, which has no newline', () => {
    const framing = ['WebSocket framing error', 'Receiving frames larger than 65535 bytes not supported', 'Received unmasked payload from client', 'Base64 decode error code -1 2024-11-01 06:19:30,101 [DEBUG] websocket 20: decoding error'];
    const lines = framing.flatMap((message, i) => [ws(17 + i, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(17 + i, 'DEBUG', message)]);
    assert.deepEqual(
      judged(lines).filter((f) => f.severity === 'fail').map((f) => [f.hop, f.message]),
      ['WebSocket framing error', 'Receiving frames larger than 65535 bytes not supported', 'Received unmasked payload from client', 'Base64 decode error code -1'].map((said, i) => [
        'path',
        `handler ${17 + i}: KasmVNC could not read a WebSocket frame it received ("${said}") and ended the stream: a proxy between the browser and KasmVNC that re-frames WebSockets, or a client that is not a browser`,
      ]),
    );
    const opcode = [ws(21, 'DEBUG', 'using protocol HyBi/IETF 6455 13'), ws(21, 'DEBUG', 'Invalid opcode. Opcode must be 0x01 for text mode, or 0x02 for binary mode.')];
    assert.deepEqual(judged(opcode)[0], {
      severity: 'fail',
      handler: 21,
      lines: [opcode[1]],
      message: 'handler 21: KasmVNC could not encode a WebSocket frame for the client ("Invalid opcode. Opcode must be 0x01 for text mode, or 0x02 for binary mode.") and ended the stream',
    });
  });
});

describe("Xvnc's viewer connections (`Connections: accepted/closed`)", () => {
  // The form of linuxserver/docker-baseimage-kasmvnc#68: `<user>@<ip>_<seconds>.<microseconds>::websocket`, user empty there.
  const at = (s: number, message: string) => ` 2024-06-10 18:5${s}:56,811 [PRIO] Connections: ${message}`;

  test('accepted and closed lines pair by endpoint, oldest first; a close without its accept and a viewer still open are kept', () => {
    const lines = [
      at(1, 'accepted: kasm_user@172.18.0.5_1718038616.812103::websocket'),
      at(2, 'accepted: kasm_user@172.18.0.5_1718038616.812103::websocket'),
      at(3, 'closed: kasm_user@172.18.0.5_1718038616.812103::websocket (Clean disconnection)'),
      at(4, 'closed: @149.210.159.135_1718038000.000001::websocket (read: Connection reset by peer (104))'),
    ];
    const connections = readConnections(parseKasmVncLog(lines.join('\n')).entries);
    assert.deepEqual(
      connections.map((c) => [c.endpoint, c.accepted?.raw ?? null, c.closed?.raw ?? null, c.reason]),
      [
        ['kasm_user@172.18.0.5_1718038616.812103::websocket', lines[0], lines[2], 'Clean disconnection'],
        ['kasm_user@172.18.0.5_1718038616.812103::websocket', lines[1], null, null],
        ['@149.210.159.135_1718038000.000001::websocket', null, lines[3], 'read: Connection reset by peer (104)'],
      ],
    );
  });

  test('close reasons from VNCSConnectionST, VNCServerST and rdr::SystemException, read as what they mean', () => {
    const reasons = [
      'Clean disconnection',
      '',
      'Server shutdown',
      'Non-shared connection requested',
      'Server is already in use',
      'The server is already in use',
      'Idle timeout',
      'Disconnection from server end',
      'Client does not support desktop resize',
      'read: Connection reset by peer (104)',
      'write: Broken pipe (32)',
      'Authentication failure',
      'No password configured for VNC Auth',
      'SMsgReader: unknown message type 255',
    ];
    assert.deepEqual(
      reasons.map((r) => [r, closeKind(r)]),
      [
        ['Clean disconnection', 'clean'],
        ['', 'clean'],
        ['Server shutdown', 'shutdown'],
        ['Non-shared connection requested', 'taken-over'],
        ['Server is already in use', 'in-use'],
        ['The server is already in use', 'in-use'],
        ['Idle timeout', 'idle-timeout'],
        ['Disconnection from server end', 'server-disconnect'],
        ['Client does not support desktop resize', 'no-resize'],
        ['read: Connection reset by peer (104)', 'dropped'],
        ['write: Broken pipe (32)', 'dropped'],
        ['Authentication failure', 'auth'],
        ['No password configured for VNC Auth', 'auth'],
        ['SMsgReader: unknown message type 255', 'error'],
      ],
    );
  });
});
