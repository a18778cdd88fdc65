import { check, test } from '../helpers/fixtures/index.ts';
import { describeCut } from '../helpers/judge/websocket-hold.ts';
import { plainGetReachedKasmVnc } from '../helpers/judge/websocket-upgrade.ts';
import { describeClose } from '../helpers/probes/websocket.ts';

test('the /vnc/websockify WebSocket upgrades with 101 in the browser and from outside it', check('path.websocket-upgrade', ['@smoke']), async ({ check, desktop }) => {
  const opened = await desktop.open();

  const browser = await test.step("client: the browser's websockify handshake (DevTools)", async () => {
    const ws = opened.socket();
    const result = { url: ws?.url.replace(/\?.*$/, ''), status: ws?.status, statusText: ws?.statusText, protocol: ws?.protocol, handshakeMs: ws?.handshakeMs, error: ws?.error, requestHeaders: ws?.requestHeaders, responseHeaders: ws?.responseHeaders, consoleErrors: opened.recorder.websocketConsoleErrors() };
    await check.evidence('browser-handshake', result);
    return { ...result, created: Boolean(ws) };
  });

  const probe = await test.step('path: an independent upgrade from outside the browser with the session cookies', async () => {
    const result = opened.probe ?? { ok: false, code: 'NETWORK' as const, headers: {}, timings: {}, error: 'the observation made no upgrade probe' };
    await check.evidence('probe-handshake', { url: opened.websockifyUrl, ...result });
    return result;
  });

  const page = opened.vncHtml();
  await check.evidence('timings', { page: page?.timings, upgradeMs: browser.handshakeMs ?? probe.timings.upgradeMs, firstFrameMs: opened.rfb.progress.firstUpdateAt && Math.round(opened.rfb.progress.firstUpdateAt - opened.openedAt) });

  if (!probe.ok) {
    const server = probe.headers.server ?? 'unknown';
    const plainGet = plainGetReachedKasmVnc(probe);
    if (plainGet) {
      check.fail({
        summary: `the upgrade reached KasmVNC as a plain HTTP request (${plainGet}): something in front of Kasm dropped the Upgrade/Connection headers`,
        remediation: 'On the load balancer / proxy in front of Kasm, forward WebSockets for /desktop/: pass Upgrade and Connection (e.g. nginx `proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";` with HTTP/1.1), or turn off the L7 inspection that strips them.',
      });
    }
    if (probe.code === 'NOT_UPGRADED') {
      check.fail({ summary: `the websockify upgrade was answered ${probe.status} ${probe.statusText ?? ''} (server: ${server}) instead of 101, from outside the browser too: a device in the path refuses WebSocket upgrades`.replace(/\s+/g, ' ') });
    }
    check.fail({ summary: `the independent upgrade failed: ${probe.code}${probe.error ? ` ${probe.error}` : ''}${probe.code === 'NO_BANNER' ? ' (101 but no RFB banner)' : ''}` });
  }
  if (browser.status !== 101) {
    check.fail({
      summary: `the browser's websockify ${browser.created ? `was answered ${browser.status ?? 'nothing'}${browser.error ? ` (${browser.error})` : ''}` : 'was never opened'}, while the same upgrade from outside the browser got 101 and "${probe.banner}": a browser-only problem`,
      remediation: 'Test in a fresh incognito window with extensions disabled; check client security software and the browser\'s proxy settings, which can break WebSockets while the path is fine.',
      hop: 'client',
    });
  }
  check.pass(`browser and probe both got 101 (subprotocol ${browser.protocol ?? probe.protocol ?? 'none'}), probe read "${probe.banner}"`);
});

test('the desktop stream stays open without being cut', check('path.websocket-hold'), async ({ check, desktop, config }) => {
  const opened = await desktop.open({ closed: true });
  const held = opened.hold;
  await check.evidence('hold', { url: opened.websockifyUrl, holdMs: config.websocketHoldMs, ...held, close: describeClose(held?.closeCode) });
  if (!held) return check.fail({ summary: 'the observation made no hold of the stream' });
  if (held.openedAfterMs === undefined) check.fail({ summary: `the stream could not be opened to hold it: ${held.error ?? 'no 101'}` });
  if (!held.ok) check.fail(describeCut(held, config.websocketHoldMs));
  check.pass(`held ${held.heldMs} ms, ${held.bytes} bytes, not cut`);
});
