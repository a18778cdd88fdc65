import { applyVerdict } from '../helpers/fixtures/check.ts';
import { check, test } from '../helpers/fixtures/index.ts';
import { judgeSessionStream } from '../helpers/judge/session-stream.ts';

test('the desktop stream delivers the RFB banner and a framebuffer update', check('session.stream', ['@smoke']), async ({ check, desktop, config }) => {
  const opened = await desktop.open();
  const { progress } = opened.rfb;
  const ws = opened.socket();

  await test.step('session: RFB banner and the first framebuffer update', async () => {
    await check.evidence('rfb-progress', { ...progress, openedAt: opened.openedAt, websocket: ws && { url: ws.url.replace(/\?.*$/, ''), status: ws.status, error: ws.error } });
    if (progress.firstUpdateAt === undefined) return;
    await check.evidence('timings', { bannerAfterMs: progress.bannerAt === undefined ? undefined : Math.round(progress.bannerAt - opened.openedAt), firstFrameAfterMs: Math.round(progress.firstUpdateAt - opened.openedAt) });
    if (opened.screenshot) await test.info().attach('desktop.png', { path: opened.screenshot, contentType: 'image/png' });
  });

  applyVerdict(check, judgeSessionStream({ progress, openedAt: opened.openedAt, websocket: ws, firstFrameTimeoutMs: config.timeouts.firstFrame }));
});
