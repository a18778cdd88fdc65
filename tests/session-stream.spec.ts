import { check, test } from '../helpers/fixtures/index.ts';

test('the desktop stream delivers the RFB banner and a framebuffer update', check('session.stream', ['@smoke']), async ({ check, desktop, config }) => {
  const opened = await desktop.open();

  await test.step('session: RFB banner and the first framebuffer update', async () => {
    const { rfb } = opened;
    const ws = opened.socket();
    await check.evidence('rfb-progress', { ...rfb.progress, websocket: ws && { url: ws.url.replace(/\?.*$/, ''), status: ws.status, error: ws.error } });
    if (rfb.progress.firstUpdateAt === undefined) {
      const why = !ws
        ? 'the page never opened a /websockify WebSocket'
        : rfb.progress.phase === 'failed'
          ? `the RFB handshake failed: ${rfb.progress.failure}`
          : rfb.progress.bytes === 0
            ? `the WebSocket ${ws.status === 101 ? 'opened but no RFB byte arrived' : ws.status ? `was answered ${ws.status}` : 'got no handshake response'}`
            : `the stream stopped in phase "${rfb.progress.phase}" after ${rfb.progress.bytes} bytes`;
      check.fail({ summary: `no framebuffer update within ${config.timeouts.firstFrame} ms: ${why}` });
    }
  });

  const firstFrameMs = Math.round(opened.rfb.progress.firstUpdateAt! - opened.openedAt);
  await check.evidence('timings', { bannerAfterMs: Math.round(opened.rfb.progress.bannerAt! - opened.openedAt), firstFrameAfterMs: firstFrameMs });
  if (opened.screenshot) await test.info().attach('desktop.png', { path: opened.screenshot, contentType: 'image/png' });
  check.pass(`${opened.rfb.progress.banner}, ${opened.rfb.progress.serverInit?.width}x${opened.rfb.progress.serverInit?.height} desktop, first framebuffer update ${firstFrameMs} ms after opening the session`);
});
