import { applyVerdict } from '../helpers/fixtures/check.ts';
import { check, test } from '../helpers/fixtures/index.ts';
import { judgeClientCookies } from '../helpers/judge/client-cookies.ts';

test('username and session_token reach vnc.html and the WebSocket handshake exactly once each', check('client.cookies'), async ({ check, desktop, config }) => {
  const opened = await desktop.open();

  const vncHtml = await test.step('client: cookies on the vnc.html request', async () => {
    const page = opened.vncHtml();
    await check.evidence(
      'vnc.html-cookies',
      page?.extraInfo
        ? { url: page.url.replace(/\?.*$/, ''), cookieHeaderNames: page.cookieHeaderNames, sent: page.sent, blocked: page.blocked, blockedWhenSet: opened.recorder.setCookieBlocked }
        : { url: page?.url.replace(/\?.*$/, ''), headersSent: false, failure: page?.failure },
    );
    return page;
  });

  const websocketCookieNames = await test.step('client: cookies on the websockify handshake', async () => {
    const ws = opened.socket();
    if (!ws?.requestHeaders) return undefined;
    await check.evidence('websocket-cookies', { url: ws.url.replace(/\?.*$/, ''), cookieHeaderNames: ws.requestCookieNames });
    return ws.requestCookieNames;
  });

  applyVerdict(check, judgeClientCookies({ vncHtml, blockedWhenSet: opened.recorder.setCookieBlocked, websocketCookieNames, sessionVia: config.sessionVia }));
});
