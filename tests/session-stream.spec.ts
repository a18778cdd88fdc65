import { check, expect, test } from '../helpers/fixtures/index.ts';
import { explainApiError } from '../helpers/diagnosis/explain.ts';
import { RfbServerStream } from '../helpers/probes/rfb.ts';

const bytes = (payload: string | Buffer) => (typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);

test('the desktop stream delivers the RFB banner and a framebuffer update', check('session.stream', ['@smoke']), async ({ check, sessions, page, config }) => {
  const session = await test.step('api: create a fresh session', async () => {
    try {
      return await sessions.create();
    } catch (error) {
      const { summary, evidence } = explainApiError(error, config.url);
      return check.fail({ summary: `no session to stream: ${summary}`, evidence });
    }
  });

  const rfb = new RfbServerStream();
  const sockets: Array<{ url: string; closedAt?: number }> = [];
  const opened = performance.now();
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/websockify')) return;
    const record: { url: string; closedAt?: number } = { url: ws.url() };
    sockets.push(record);
    ws.on('framereceived', ({ payload }) => rfb.server(bytes(payload)));
    ws.on('framesent', ({ payload }) => rfb.client(bytes(payload)));
    ws.on('close', () => (record.closedAt = performance.now() - opened));
  });

  await test.step('client: open the session link in a fresh incognito context', async () => {
    // Navigating from the page keeps the one-time token in the link out of step titles and reports.
    await page.goto('about:blank');
    await page.evaluate((link) => (window.location.href = link), new URL(session.kasmUrl, config.url).href);
    await page.waitForLoadState('domcontentloaded');
  });

  await test.step('session: RFB banner and the first framebuffer update', async () => {
    const done = () => rfb.progress.firstUpdateAt !== undefined || rfb.progress.phase === 'failed';
    await expect.poll(done, { timeout: config.timeouts.firstFrame, intervals: [100, 250, 500] }).toBe(true).catch(() => undefined);
    const progress = { ...rfb.progress, websockets: sockets.map((s) => ({ url: s.url.replace(/\?.*$/, ''), closedAfterMs: s.closedAt && Math.round(s.closedAt) })) };
    await check.evidence('rfb-progress', progress);
    if (rfb.progress.firstUpdateAt === undefined) {
      const why = !sockets.length
        ? 'the page never opened a /websockify WebSocket'
        : rfb.progress.phase === 'failed'
          ? `the RFB handshake failed: ${rfb.progress.failure}`
          : rfb.progress.bytes === 0
            ? 'the WebSocket opened but no RFB byte arrived'
            : `the stream stopped in phase "${rfb.progress.phase}" after ${rfb.progress.bytes} bytes`;
      check.fail({ summary: `no framebuffer update within ${config.timeouts.firstFrame} ms: ${why}` });
    }
  });

  await check.evidence('timings', {
    sessionRunningAfterMs: session.runningAfterMs,
    bannerAfterMs: Math.round((rfb.progress.bannerAt ?? 0) - opened),
    firstFrameAfterMs: Math.round((rfb.progress.firstUpdateAt ?? 0) - opened),
  });
  await test.info().attach('desktop.png', { body: await page.screenshot(), contentType: 'image/png' });
  check.pass(`${rfb.progress.banner}, ${rfb.progress.serverInit?.width}x${rfb.progress.serverInit?.height} desktop, first framebuffer update ${Math.round(rfb.progress.firstUpdateAt! - opened)} ms after opening the link`);
});
