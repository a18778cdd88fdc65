import { applyVerdict } from '../helpers/fixtures/check.ts';
import { check, test } from '../helpers/fixtures/index.ts';
import { judgeClientSessionPort, sessionPorts } from '../helpers/judge/client-session-port.ts';

test("the session's vnc.html and websockify URLs use the client-facing port", check('client.session-port'), async ({ check, desktop, config }) => {
  const opened = await desktop.open();
  const urls = await test.step('client: read the ports of vnc.html and websockify', async () => {
    const found = { vncHtmlUrl: opened.vncHtml()?.url, websockifyUrl: opened.socket()?.url };
    await check.evidence('session-urls', { clientPort: config.clientPort, urls: sessionPorts([found.vncHtmlUrl, found.websockifyUrl]) });
    return found;
  });
  applyVerdict(check, judgeClientSessionPort({ clientPort: config.clientPort, ...urls, firstFrameTimeoutMs: config.timeouts.firstFrame }));
});
