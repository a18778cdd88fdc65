import { check, test } from '../helpers/fixtures/index.ts';
import type { CookieCopy, RequestRecord } from '../helpers/probes/devtools.ts';

const REQUIRED = ['username', 'session_token'] as const;
const where = (c: CookieCopy) => `domain ${c.domain} path ${c.path}`;

test('username and session_token reach vnc.html and the WebSocket handshake exactly once each', check('client.cookies'), async ({ check, desktop, config }) => {
  const opened = await desktop.open();
  const page = opened.vncHtml();

  await test.step('client: cookies on the vnc.html request', async () => {
    if (!page?.extraInfo) {
      return check.fail({ summary: `vnc.html was never sent${page?.failure ? ` (${page.failure.errorText})` : ''}, so its cookies cannot be checked` });
    }
    await check.evidence('vnc.html-cookies', {
      url: page.url.replace(/\?.*$/, ''),
      cookieHeaderNames: page.cookieHeaderNames,
      sent: page.sent,
      blocked: page.blocked,
      blockedWhenSet: opened.recorder.setCookieBlocked,
    });
    const problems = REQUIRED.flatMap((name) => cookieProblems(name, page, opened.recorder.setCookieBlocked));
    if (problems.length) check.fail({ summary: `on the vnc.html request: ${problems.map((p) => p.summary).join('; ')}`, remediation: problems[0]!.remediation });
  });

  await test.step('client: cookies on the websockify handshake', async () => {
    const ws = opened.socket();
    if (!ws?.requestHeaders) return;
    await check.evidence('websocket-cookies', { url: ws.url.replace(/\?.*$/, ''), cookieHeaderNames: ws.requestCookieNames });
    const counts = REQUIRED.map((name) => [name, ws.requestCookieNames.filter((n) => n === name).length] as const);
    const wrong = counts.filter(([, n]) => n !== 1);
    if (wrong.length) {
      check.fail({ summary: `the websockify handshake carried ${wrong.map(([name, n]) => `${n} ${name} cookie${n === 1 ? '' : 's'}`).join(' and ')} (exactly one each is needed)` });
    }
  });
  check.pass(`username and session_token went to vnc.html${opened.socket()?.requestHeaders ? ' and the websockify handshake' : ''} once each (${config.sessionVia} session)`);
});

function cookieProblems(name: string, request: RequestRecord, blockedWhenSet: Array<{ url: string; name: string; reasons: string[] }>): Array<{ summary: string; remediation: string }> {
  const count = request.cookieHeaderNames.filter((n) => n === name).length;
  if (count === 1) return [];
  if (count > 1) {
    const copies = request.sent.filter((c) => c.name === name);
    return [
      {
        summary: `${count} ${name} cookies were sent (${copies.map(where).join('; ')}): a cookie conflict`,
        remediation: `Cookie Conflict: another application or an older Kasm sets ${name} for ${copies.map(where).join(' and ')}; remove the stale one (clear it for that domain/path) or give the other application's cookie another name or a narrower domain.`,
      },
    ];
  }
  const blocked = request.blocked.filter((c) => c.name === name);
  if (blocked.length) {
    return [
      {
        summary: `${name} was not sent: Chromium blocked it (${blocked.map((c) => `${c.blockedReasons.join(', ')} for ${where(c)}`).join('; ')})`,
        remediation: 'Browser Blocking Cookies: check the DevTools Console for the reason, browser extensions and security software; the cookie must suit the session host (domain, Secure, SameSite).',
      },
    ];
  }
  const refused = blockedWhenSet.filter((b) => b.name === name);
  if (refused.length) {
    return [
      {
        summary: `${name} was never stored: Chromium refused the Set-Cookie from ${refused.map((r) => `${r.url} (${r.reasons.join(', ')})`).join('; ')}`,
        remediation: 'Browser Blocking Cookies: a cookie with SameSite=None must also be Secure, and the site must be served over HTTPS; check any proxy that rewrites Set-Cookie attributes.',
      },
    ];
  }
  return [
    {
      summary: `${name} was not sent and the browser never received it (no Set-Cookie reached the page and none was blocked)`,
      remediation: 'Check the login reached Kasm (the kasm_url link is single-use and is replaced by every get_kasm_status call) and that the session host is the Kasm domain or a sub-domain the cookies are valid for.',
    },
  ];
}
