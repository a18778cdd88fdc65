import { applyVerdict } from '../helpers/fixtures/check.ts';
import { check, test } from '../helpers/fixtures/index.ts';
import { judgeWebsocketHold } from '../helpers/judge/websocket-hold.ts';
import { judgeWebsocketUpgrade } from '../helpers/judge/websocket-upgrade.ts';
import { describeClose } from '../helpers/probes/websocket.ts';

test('the /vnc/websockify WebSocket upgrades with 101 in the browser and from outside it', check('path.websocket-upgrade', ['@smoke']), async ({ check, desktop }) => {
  const opened = await desktop.open();

  const browser = await test.step("client: the browser's websockify handshake (DevTools)", async () => {
    const ws = opened.socket();
    await check.evidence('browser-handshake', { url: ws?.url.replace(/\?.*$/, ''), status: ws?.status, statusText: ws?.statusText, protocol: ws?.protocol, handshakeMs: ws?.handshakeMs, error: ws?.error, requestHeaders: ws?.requestHeaders, responseHeaders: ws?.responseHeaders, consoleErrors: opened.recorder.websocketConsoleErrors() });
    return ws;
  });

  const probe = await test.step('path: an independent upgrade from outside the browser with the session cookies', async () => {
    await check.evidence('probe-handshake', { url: opened.websockifyUrl, ...(opened.probe ?? { ok: false, error: 'the observation made no upgrade probe' }) });
    return opened.probe;
  });

  const page = opened.vncHtml();
  await check.evidence('timings', { page: page?.timings, upgradeMs: browser?.handshakeMs ?? probe?.timings.upgradeMs, firstFrameMs: opened.rfb.progress.firstUpdateAt && Math.round(opened.rfb.progress.firstUpdateAt - opened.openedAt) });

  applyVerdict(check, judgeWebsocketUpgrade({ browser, probe }));
});

test('the desktop stream stays open without being cut', check('path.websocket-hold'), async ({ check, desktop, config }) => {
  const opened = await desktop.open({ closed: true });
  const held = opened.hold;
  await check.evidence('hold', { url: opened.websockifyUrl, holdMs: config.websocketHoldMs, ...held, close: describeClose(held?.closeCode) });
  applyVerdict(check, judgeWebsocketHold({ hold: held, holdMs: config.websocketHoldMs }));
});
