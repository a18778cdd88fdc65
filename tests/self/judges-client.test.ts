// The verdicts of the browser-side checks (helpers/judge/): client.cookies, client.cors, client.session-port,
// path.websocket-upgrade, path.websocket-hold and session.stream, each pinned whole: status, summary, fix and hop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeClientCookies, type ClientCookiesEvidence } from '../../helpers/judge/client-cookies.ts';
import { judgeClientCors, zoneHostsOf } from '../../helpers/judge/client-cors.ts';
import { judgeClientSessionPort, sessionPorts } from '../../helpers/judge/client-session-port.ts';
import { judgeSessionStream, type SessionStreamEvidence } from '../../helpers/judge/session-stream.ts';
import { judgeWebsocketHold } from '../../helpers/judge/websocket-hold.ts';
import { judgeWebsocketUpgrade, type WebsocketUpgradeEvidence } from '../../helpers/judge/websocket-upgrade.ts';
import type { CookieCopy } from '../../helpers/probes/devtools.ts';

describe('judgeClientCookies', () => {
  const copy = (name: string, domain: string, path: string, blockedReasons: string[] = []): CookieCopy => ({ name, domain, path, secure: true, httpOnly: false, sameSite: 'None', blockedReasons });
  const both = [copy('username', 'kasm.example.com', '/'), copy('session_token', 'kasm.example.com', '/')];
  const page = (cookieHeaderNames: string[], sent: CookieCopy[] = both, blocked: CookieCopy[] = []) => ({ extraInfo: true, cookieHeaderNames, sent, blocked });
  const healthy: ClientCookiesEvidence = { vncHtml: page(['username', 'session_token']), blockedWhenSet: [], websocketCookieNames: ['session_token', 'username'], sessionVia: 'api' };
  const conflictFix =
    "Cookie Conflict: another application or an older Kasm sets session_token for domain kasm.example.com path /desktop and domain .example.com path /; remove the stale one (clear it for that domain/path) or give the other application's cookie another name or a narrower domain.";
  const blockedFix = 'Browser Blocking Cookies: check the DevTools Console for the reason, browser extensions and security software; the cookie must suit the session host (domain, Secure, SameSite).';
  const refusedFix = 'Browser Blocking Cookies: a cookie with SameSite=None must also be Secure, and the site must be served over HTTPS; check any proxy that rewrites Set-Cookie attributes.';
  const missingFix =
    'Check the login reached Kasm (the kasm_url link is single-use and is replaced by every get_kasm_status call) and that the session host is the Kasm domain or a sub-domain the cookies are valid for.';

  it('passes when both cookies went once each to vnc.html and the handshake, naming how the session was made', () => {
    assert.deepEqual(judgeClientCookies(healthy), { status: 'pass', summary: 'username and session_token went to vnc.html and the websockify handshake once each (api session)' });
  });

  it('passes on vnc.html alone when the handshake headers were not seen, and says so', () => {
    assert.deepEqual(judgeClientCookies({ ...healthy, websocketCookieNames: undefined, sessionVia: 'ui' }), { status: 'pass', summary: 'username and session_token went to vnc.html once each (ui session)' });
  });

  it('fails when vnc.html was never asked for, or never went out, with the browser\'s error when it gave one', () => {
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: undefined }), { status: 'fail', summary: 'vnc.html was never sent, so its cookies cannot be checked' });
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: { ...page([]), extraInfo: false, failure: { errorText: 'net::ERR_NAME_NOT_RESOLVED' } } }), {
      status: 'fail',
      summary: 'vnc.html was never sent (net::ERR_NAME_NOT_RESOLVED), so its cookies cannot be checked',
    });
  });

  it('calls two copies of a cookie a conflict, naming where each is set', () => {
    const sent = [copy('username', 'kasm.example.com', '/'), copy('session_token', 'kasm.example.com', '/desktop'), copy('session_token', '.example.com', '/')];
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: page(['username', 'session_token', 'session_token'], sent) }), {
      status: 'fail',
      summary: 'on the vnc.html request: 2 session_token cookies were sent (domain kasm.example.com path /desktop; domain .example.com path /): a cookie conflict',
      remediation: conflictFix,
    });
  });

  it("names Chromium's reasons for a cookie it did not send", () => {
    const blocked = [copy('session_token', 'kasm.example.com', '/', ['SameSiteStrict', 'SecureOnly'])];
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: page(['username'], [both[0]!], blocked) }), {
      status: 'fail',
      summary: 'on the vnc.html request: session_token was not sent: Chromium blocked it (SameSiteStrict, SecureOnly for domain kasm.example.com path /)',
      remediation: blockedFix,
    });
  });

  it('names the refused Set-Cookie of a cookie that was never stored', () => {
    const refused = [{ url: 'https://kasm.example.com/api/login', name: 'session_token', reasons: ['SameSiteNoneInsecure'] }];
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: page(['username'], [both[0]!]), blockedWhenSet: refused }), {
      status: 'fail',
      summary: 'on the vnc.html request: session_token was never stored: Chromium refused the Set-Cookie from https://kasm.example.com/api/login (SameSiteNoneInsecure)',
      remediation: refusedFix,
    });
  });

  it('says a cookie never reached the browser when nothing sent, blocked or refused it, and lists every problem with the first one\'s fix', () => {
    const refused = [{ url: 'https://kasm.example.com/api/login', name: 'session_token', reasons: ['SameSiteNoneInsecure'] }];
    assert.deepEqual(judgeClientCookies({ ...healthy, vncHtml: page([], []), blockedWhenSet: refused }), {
      status: 'fail',
      summary:
        'on the vnc.html request: username was not sent and the browser never received it (no Set-Cookie reached the page and none was blocked); session_token was never stored: Chromium refused the Set-Cookie from https://kasm.example.com/api/login (SameSiteNoneInsecure)',
      remediation: missingFix,
    });
  });

  it('fails a handshake that carried a cookie twice or not at all, after vnc.html was fine', () => {
    assert.deepEqual(judgeClientCookies({ ...healthy, websocketCookieNames: ['session_token', 'session_token'] }), {
      status: 'fail',
      summary: 'the websockify handshake carried 0 username cookies and 2 session_token cookies (exactly one each is needed)',
    });
  });
});

describe('zoneHostsOf', () => {
  it('keeps KASM_ZONE_HOSTS, then the Proxy Hostnames (not placeholders or blanks), then a session host no one named', () => {
    const zones = [
      { zone_name: 'default', proxy_hostname: '$request_host$' },
      { zone_name: 'eu', proxy_hostname: ' EU.Kasm.Example.com ' },
      { zone_name: 'us', proxy_hostname: '' },
      { zone_name: 'apac' },
      { zone_name: 'lab', proxy_hostname: 'lab.example.com' },
    ];
    assert.deepEqual(zoneHostsOf({ configured: ['lab.example.com', 'other.kasm.example.com'], zones, sessionHost: 'session.example.net' }), {
      'lab.example.com': 'zone "lab" Proxy Hostname',
      'other.kasm.example.com': 'KASM_ZONE_HOSTS',
      'eu.kasm.example.com': 'zone "eu" Proxy Hostname',
      'session.example.net': 'the session iframe',
    });
  });

  it('does not relabel a host the zones already named, and reads nothing from get_zones it could not read', () => {
    assert.deepEqual(zoneHostsOf({ configured: [], zones: [{ zone_name: 'eu', proxy_hostname: 'eu.kasm.example.com' }], sessionHost: 'eu.kasm.example.com' }), { 'eu.kasm.example.com': 'zone "eu" Proxy Hostname' });
    assert.deepEqual(zoneHostsOf({ configured: ['kasm.example.com'], zones: undefined, sessionHost: undefined }), { 'kasm.example.com': 'KASM_ZONE_HOSTS' });
  });
});

describe('judgeClientCors', () => {
  const primary = 'kasm.example.com';

  it('passes when every host is the primary domain or under it and no CORS error was logged', () => {
    assert.deepEqual(judgeClientCors({ primary, zoneHosts: { 'kasm.example.com': 'the session iframe', 'eu.kasm.example.com': 'zone "eu" Proxy Hostname' }, corsErrors: [], consoleMessages: 12 }), {
      status: 'pass',
      summary: 'kasm.example.com, eu.kasm.example.com within kasm.example.com; no CORS error in 12 console messages',
    });
  });

  it('says "not judged" when no host name was known at all, never a pass', () => {
    assert.deepEqual(judgeClientCors({ primary, zoneHosts: {}, corsErrors: [], consoleMessages: 1 }), {
      status: 'warn',
      summary: 'not judged: no zone host name was known (get_zones named none or could not be read, KASM_ZONE_HOSTS is empty, and no session page was seen); no CORS error in 1 console message',
      remediation: "Give the API key permission to read zones, or list the zones' Proxy Hostnames in KASM_ZONE_HOSTS; if the session page never loaded, follow the client and path checks first.",
    });
  });

  it('fails a host outside the primary domain (a suffix is not a sub-domain), naming where it came from, with the Proxy Hostname fix', () => {
    assert.deepEqual(judgeClientCors({ primary, zoneHosts: { 'kasm-zone.example.com': 'zone "eu" Proxy Hostname', 'evilkasm.example.com': 'KASM_ZONE_HOSTS' }, corsErrors: [], consoleMessages: 0 }), {
      status: 'fail',
      summary: 'kasm-zone.example.com (zone "eu" Proxy Hostname) is not a sub-domain of kasm.example.com; evilkasm.example.com (KASM_ZONE_HOSTS) is not a sub-domain of kasm.example.com',
      remediation: "Make every zone's Proxy Hostname a sub-domain of kasm.example.com (e.g. eu.kasm.example.com), so the session iframe stays within the site the cookies and CORS rules allow; then destroy existing sessions.",
    });
  });

  it('fails on CORS errors alone without a fix of its own: their origins once each and the first one\'s text, cut at 200 characters', () => {
    const long = `Access to XMLHttpRequest at 'https://kasm.example.com/api/x' from origin 'https://eu.kasm.example.com' has been blocked by CORS policy: ${'x'.repeat(300)}`;
    const corsErrors = [
      { text: long, origin: 'https://eu.kasm.example.com' },
      { text: 'blocked', origin: 'https://eu.kasm.example.com' },
      { text: 'PreflightMissingAllowOriginHeader for https://kasm.example.com/api/y', origin: undefined },
    ];
    assert.deepEqual(judgeClientCors({ primary, zoneHosts: { 'eu.kasm.example.com': 'the session iframe' }, corsErrors, consoleMessages: 3 }), {
      status: 'fail',
      summary: `3 CORS errors from https://eu.kasm.example.com, unknown origin: ${long.slice(0, 200)}`,
    });
  });

  it('lists an outside host and a CORS error together, with the Proxy Hostname fix', () => {
    assert.deepEqual(judgeClientCors({ primary, zoneHosts: { 'kasm-zone.localhost': 'the session iframe' }, corsErrors: [{ text: 'CORS policy', origin: undefined }], consoleMessages: 1 }), {
      status: 'fail',
      summary: 'kasm-zone.localhost (the session iframe) is not a sub-domain of kasm.example.com; 1 CORS error from unknown origin: CORS policy',
      remediation: "Make every zone's Proxy Hostname a sub-domain of kasm.example.com (e.g. eu.kasm.example.com), so the session iframe stays within the site the cookies and CORS rules allow; then destroy existing sessions.",
    });
  });
});

describe('judgeClientSessionPort', () => {
  const portFix = 'Set Admin > Infrastructure > Zones > (zone) > Proxy Port to 8443 (the port is relative to the client; 0 follows the request port), then destroy existing sessions: only new sessions pick up the change.';

  it('reads default ports from the scheme and drops the query', () => {
    assert.deepEqual(sessionPorts(['https://kasm.example.com/desktop/1/vnc/vnc.html?autoconnect=1', undefined, 'ws://kasm.example.com/desktop/1/vnc/websockify?token=x', 'wss://kasm.example.com:8443/w']), [
      { url: 'https://kasm.example.com/desktop/1/vnc/vnc.html', port: 443 },
      { url: 'ws://kasm.example.com/desktop/1/vnc/websockify', port: 80 },
      { url: 'wss://kasm.example.com:8443/w', port: 8443 },
    ]);
  });

  it('passes when both URLs use the client port, or vnc.html does and no websockify was opened', () => {
    const vncHtmlUrl = 'https://kasm.example.com:8443/desktop/1/vnc/vnc.html';
    assert.deepEqual(judgeClientSessionPort({ clientPort: 8443, vncHtmlUrl, websockifyUrl: 'wss://kasm.example.com:8443/desktop/1/vnc/websockify', firstFrameTimeoutMs: 30000 }), {
      status: 'pass',
      summary: 'vnc.html and websockify use port 8443, the client-facing port',
    });
    assert.deepEqual(judgeClientSessionPort({ clientPort: 8443, vncHtmlUrl, websockifyUrl: undefined, firstFrameTimeoutMs: 30000 }), { status: 'pass', summary: 'vnc.html uses port 8443, the client-facing port' });
  });

  it('fails a URL on another port with the Proxy Port fix, naming every wrong URL', () => {
    assert.deepEqual(judgeClientSessionPort({ clientPort: 8443, vncHtmlUrl: 'https://kasm.example.com/desktop/1/vnc/vnc.html?a=1', websockifyUrl: 'wss://kasm.example.com/desktop/1/vnc/websockify', firstFrameTimeoutMs: 30000 }), {
      status: 'fail',
      summary: 'the session uses port 443 but clients reach Kasm on port 8443: https://kasm.example.com/desktop/1/vnc/vnc.html, wss://kasm.example.com/desktop/1/vnc/websockify',
      remediation: portFix,
    });
  });

  it('fails when the page never asked for vnc.html, with how to look by hand', () => {
    assert.deepEqual(judgeClientSessionPort({ clientPort: 443, vncHtmlUrl: undefined, websockifyUrl: undefined, firstFrameTimeoutMs: 30000 }), {
      status: 'fail',
      summary: 'the session page never requested vnc.html within 30000 ms',
      remediation: 'Open the session by hand with DevTools > Network and look for the vnc.html request of the session iframe.',
    });
  });
});

describe('judgeWebsocketUpgrade', () => {
  const upgraded: NonNullable<WebsocketUpgradeEvidence['probe']> = { ok: true, code: 'UPGRADED', status: 101, headers: { server: 'nginx' }, protocol: 'binary', banner: 'RFB 003.008' };
  const browserFix = "Test in a fresh incognito window with extensions disabled; check client security software and the browser's proxy settings, which can break WebSockets while the path is fine.";

  it('passes when both got 101, naming the subprotocol (the browser\'s, else the probe\'s) and the banner', () => {
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 101, protocol: 'binary.kasm' }, probe: upgraded }), { status: 'pass', summary: 'browser and probe both got 101 (subprotocol binary.kasm), probe read "RFB 003.008"' });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 101 }, probe: upgraded }), { status: 'pass', summary: 'browser and probe both got 101 (subprotocol binary), probe read "RFB 003.008"' });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 101 }, probe: { ...upgraded, protocol: undefined } }), { status: 'pass', summary: 'browser and probe both got 101 (subprotocol none), probe read "RFB 003.008"' });
  });

  it('calls a plain GET that reached KasmVNC dropped Upgrade/Connection headers, with the forwarding fix', () => {
    assert.deepEqual(judgeWebsocketUpgrade({ browser: undefined, probe: { ok: false, code: 'NOT_UPGRADED', status: 404, headers: { server: 'nginx/1.22.1' }, body: '404' } }), {
      status: 'fail',
      summary: 'the upgrade reached KasmVNC as a plain HTTP request (answered 404 with KasmVNC\'s own "404" body, through nginx/1.22.1): something in front of Kasm dropped the Upgrade/Connection headers',
      remediation:
        'On the load balancer / proxy in front of Kasm, forward WebSockets for /desktop/: pass Upgrade and Connection (e.g. nginx `proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";` with HTTP/1.1), or turn off the L7 inspection that strips them.',
    });
  });

  it('blames a device in the path for any other answer than 101, on one line, naming the server or "unknown"', () => {
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 403 }, probe: { ok: false, code: 'NOT_UPGRADED', status: 403, statusText: 'Forbidden', headers: { server: 'BigIP' } } }), {
      status: 'fail',
      summary: 'the websockify upgrade was answered 403 Forbidden (server: BigIP) instead of 101, from outside the browser too: a device in the path refuses WebSocket upgrades',
    });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: undefined, probe: { ok: false, code: 'NOT_UPGRADED', status: 400, headers: {} } }), {
      status: 'fail',
      summary: 'the websockify upgrade was answered 400 (server: unknown) instead of 101, from outside the browser too: a device in the path refuses WebSocket upgrades',
    });
  });

  it('reports any other failure of the probe by its code and error, a 101 without banner as such, and a missing probe', () => {
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 101 }, probe: { ok: false, code: 'NO_BANNER', status: 101, headers: {}, error: 'no data in 5000 ms' } }), {
      status: 'fail',
      summary: 'the independent upgrade failed: NO_BANNER no data in 5000 ms (101 but no RFB banner)',
    });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: undefined, probe: { ok: false, code: 'TIMEOUT', headers: {} } }), { status: 'fail', summary: 'the independent upgrade failed: TIMEOUT' });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: undefined, probe: undefined }), {
      status: 'warn',
      summary: "not judged: no upgrade was tried from outside the browser (the observation of the session stopped before its upgrade probe); the browser's websockify was never opened",
      remediation: 'Follow the checks that failed before it (the session never reached its desktop page); this check judges the path once a session does.',
    });
  });

  it("blames the browser when the probe got 101 and the browser's did not, or never opened", () => {
    assert.deepEqual(judgeWebsocketUpgrade({ browser: { status: 403, error: 'Unexpected response code: 403' }, probe: upgraded }), {
      status: 'fail',
      summary: 'the browser\'s websockify was answered 403 (Unexpected response code: 403), while the same upgrade from outside the browser got 101 and "RFB 003.008": a browser-only problem',
      remediation: browserFix,
      hop: 'client',
    });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: {}, probe: upgraded }), {
      status: 'fail',
      summary: 'the browser\'s websockify was answered nothing, while the same upgrade from outside the browser got 101 and "RFB 003.008": a browser-only problem',
      remediation: browserFix,
      hop: 'client',
    });
    assert.deepEqual(judgeWebsocketUpgrade({ browser: undefined, probe: upgraded }), {
      status: 'fail',
      summary: 'the browser\'s websockify was never opened, while the same upgrade from outside the browser got 101 and "RFB 003.008": a browser-only problem',
      remediation: browserFix,
      hop: 'client',
    });
  });
});

describe('judgeWebsocketHold', () => {
  it("charges a refused RFB handshake to the session, not the path that carried it", () => {
    const rfbFailure = 'KasmVNC in the session container refused the VncAuth response (security type 2): SecurityResult 1, reason "Authentication failure"';
    assert.deepEqual(judgeWebsocketHold({ hold: { ok: false, heldMs: 0, bytes: 16, rfbFailure, error: `the RFB handshake failed: ${rfbFailure}` }, holdMs: 3000 }), {
      status: 'fail',
      summary: `the stream opened, but it could not be held: the RFB handshake on it failed: ${rfbFailure}`,
      remediation: 'KasmVNC in the session container refused the viewer: see session.stream and session.auth for why.',
      hop: 'session',
    });
  });

  it('passes a stream held to the end', () => {
    assert.deepEqual(judgeWebsocketHold({ hold: { ok: true, openedAfterMs: 40, heldMs: 3001, bytes: 1094 }, holdMs: 3000 }), { status: 'pass', summary: 'held 3001 ms, 1094 bytes, not cut' });
  });

  it('fails a missing hold, and a stream that never opened with the error or "no 101"', () => {
    assert.deepEqual(judgeWebsocketHold({ hold: undefined, holdMs: 3000 }), { status: 'fail', summary: 'the observation made no hold of the stream' });
    assert.deepEqual(judgeWebsocketHold({ hold: { ok: false, heldMs: 0, bytes: 0, error: 'Unexpected server response: 403' }, holdMs: 3000 }), { status: 'fail', summary: 'the stream could not be opened to hold it: Unexpected server response: 403' });
    assert.deepEqual(judgeWebsocketHold({ hold: { ok: false, heldMs: 0, bytes: 0 }, holdMs: 3000 }), { status: 'fail', summary: 'the stream could not be opened to hold it: no 101' });
  });

  it('fails a cut stream with what the cut says about the device', () => {
    assert.deepEqual(judgeWebsocketHold({ hold: { ok: false, openedAfterMs: 35, heldMs: 1946, cutAfterMs: 1946, quietBeforeCutMs: 1891, closeCode: 1006, bytes: 1094 }, holdMs: 3000 }), {
      status: 'fail',
      summary:
        'the stream was cut 1946 ms after it opened (of 3000 ms), close code 1006 (no close frame: the TCP connection was dropped by something in the path), after 1094 bytes; nothing had crossed it for 1891 ms: an idle timeout of about 1.9 s on a device in the path',
      remediation:
        "Raise the idle timeout for WebSockets on the load balancer / proxy in front of Kasm above what users leave a session idle for (nginx `proxy_read_timeout` and `proxy_send_timeout`, e.g. 1800s as Kasm's own proxy sets; an AWS ALB's idle timeout; an F5's TCP idle timeout). Kasm's own nginx reports `upstream timed out (110: Connection timed out) while proxying upgraded connection` in its error log when it is the one cutting.",
    });
  });
});

describe('judgeSessionStream', () => {
  const streaming: SessionStreamEvidence = {
    progress: { phase: 'messages', banner: 'RFB 003.008', serverInit: { width: 1280, height: 720, name: 'kasm' }, bannerAt: 1200.4, firstUpdateAt: 1843.6, bytes: 52_000 },
    openedAt: 1000,
    websocket: { status: 101 },
    firstFrameTimeoutMs: 30000,
  };
  const stalled = (progress: Partial<SessionStreamEvidence['progress']>, websocket: SessionStreamEvidence['websocket']) =>
    judgeSessionStream({ ...streaming, websocket, progress: { phase: 'banner', bytes: 0, ...progress } });
  const noFrame = (why: string) => ({ status: 'fail', summary: `no framebuffer update within 30000 ms: ${why}` });

  it('passes with the banner, the desktop size and the first frame time since the session was asked for', () => {
    assert.deepEqual(judgeSessionStream(streaming), { status: 'pass', summary: 'RFB 003.008, 1280x720 desktop, first framebuffer update 844 ms after opening the session' });
  });

  it('says how far the stream got when no framebuffer update came', () => {
    assert.deepEqual(stalled({}, undefined), noFrame('the page never opened a /websockify WebSocket'));
    assert.deepEqual(stalled({ phase: 'failed', bytes: 12, failure: 'no security type the client supports' }, { status: 101 }), noFrame('the RFB handshake failed: no security type the client supports'));
    assert.deepEqual(stalled({}, { status: 101 }), noFrame('the WebSocket opened but no RFB byte arrived'));
    assert.deepEqual(stalled({}, { status: 403, error: 'Unexpected response code: 403' }), noFrame('the WebSocket was answered 403'));
    assert.deepEqual(stalled({}, {}), noFrame('the WebSocket got no handshake response'));
    assert.deepEqual(stalled({ phase: 'server-init', bytes: 38 }, { status: 101 }), noFrame('the stream stopped in phase "server-init" after 38 bytes: KasmVNC accepted the viewer but did not describe its desktop (ServerInit): Xvnc behind KasmVNC\'s websocket may not be answering'));
    assert.deepEqual(stalled({ phase: 'vnc-response', bytes: 30 }, { status: 101 }), noFrame('the stream stopped in phase "vnc-response" after 30 bytes: the viewer did not answer KasmVNC\'s VncAuth challenge (Kasm\'s web client answers it with the empty password)'));
    assert.deepEqual(stalled({ phase: 'messages', bytes: 90 }, { status: 101 }), noFrame('the stream stopped in phase "messages" after 90 bytes'));
    assert.deepEqual(stalled({ phase: 'security-result', bytes: 34, securityResult: 1 }, { status: 101 }), noFrame('KasmVNC refused the viewer (SecurityResult 1); its reason did not arrive'));
  });
});
