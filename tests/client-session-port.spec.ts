import { check, test } from '../helpers/fixtures/index.ts';

const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80));
const bare = (url: URL) => `${url.protocol}//${url.host}${url.pathname}`;

test("the session's vnc.html and websockify URLs use the client-facing port", check('client.session-port'), async ({ check, desktop, config }) => {
  const opened = await desktop.open();
  await test.step('client: read the ports of vnc.html and websockify', async () => {
    const page = opened.vncHtml();
    if (!page) return check.fail({ summary: `the session page never requested vnc.html within ${config.timeouts.firstFrame} ms`, remediation: 'Open the session by hand with DevTools > Network and look for the vnc.html request of the session iframe.' });
    const urls = [new URL(page.url), ...(opened.socket() ? [new URL(opened.socket()!.url)] : [])];
    const seen = urls.map((url) => ({ url: bare(url), port: portOf(url) }));
    await check.evidence('session-urls', { clientPort: config.clientPort, urls: seen });
    const wrong = seen.filter((s) => s.port !== config.clientPort);
    if (wrong.length) {
      check.fail({
        summary: `the session uses port ${wrong[0]!.port} but clients reach Kasm on port ${config.clientPort}: ${wrong.map((w) => w.url).join(', ')}`,
        remediation: `Set Admin > Infrastructure > Zones > (zone) > Proxy Port to ${config.clientPort} (the port is relative to the client; 0 follows the request port), then destroy existing sessions: only new sessions pick up the change.`,
      });
    }
    check.pass(`${opened.socket() ? 'vnc.html and websockify use' : 'vnc.html uses'} port ${config.clientPort}, the client-facing port`);
  });
});
