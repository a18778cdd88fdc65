// The verdict of client.cookies (the guide's Cookie Conflict and Browser Blocking Cookies): whether username and
// session_token went out exactly once each on vnc.html and the websockify handshake, from what DevTools recorded
// (the Cookie header's names, the copies sent and blocked, the Set-Cookies Chromium refused). Evidence in, one
// verdict out.
import type { CookieCopy, RequestRecord, SetCookieBlock } from '../probes/devtools.ts';
import type { Verdict } from './verdict.ts';

export const REQUIRED_COOKIES = ['username', 'session_token'] as const;

export interface ClientCookiesEvidence {
  /** The session's vnc.html request as DevTools saw it; undefined when the page never asked for it. */
  vncHtml: Pick<RequestRecord, 'extraInfo' | 'failure' | 'cookieHeaderNames' | 'sent' | 'blocked'> | undefined;
  /** The Set-Cookie headers Chromium refused to store, by cookie name. */
  blockedWhenSet: SetCookieBlock[];
  /** The Cookie header names of the websockify handshake; undefined when its request headers were not seen. */
  websocketCookieNames: string[] | undefined;
  sessionVia: 'api' | 'ui';
}

const where = (c: CookieCopy) => `domain ${c.domain} path ${c.path}`;

interface Problem {
  summary: string;
  remediation: string;
}

function cookieProblem(name: string, request: Pick<RequestRecord, 'cookieHeaderNames' | 'sent' | 'blocked'>, blockedWhenSet: SetCookieBlock[]): Problem | undefined {
  const count = request.cookieHeaderNames.filter((n) => n === name).length;
  if (count === 1) return undefined;
  if (count > 1) {
    const copies = request.sent.filter((c) => c.name === name);
    return {
      summary: `${count} ${name} cookies were sent (${copies.map(where).join('; ')}): a cookie conflict`,
      remediation: `Cookie Conflict: another application or an older Kasm sets ${name} for ${copies.map(where).join(' and ')}; remove the stale one (clear it for that domain/path) or give the other application's cookie another name or a narrower domain.`,
    };
  }
  const blocked = request.blocked.filter((c) => c.name === name);
  if (blocked.length) {
    return {
      summary: `${name} was not sent: Chromium blocked it (${blocked.map((c) => `${c.blockedReasons.join(', ')} for ${where(c)}`).join('; ')})`,
      remediation: 'Browser Blocking Cookies: check the DevTools Console for the reason, browser extensions and security software; the cookie must suit the session host (domain, Secure, SameSite).',
    };
  }
  const refused = blockedWhenSet.filter((b) => b.name === name);
  if (refused.length) {
    return {
      summary: `${name} was never stored: Chromium refused the Set-Cookie from ${refused.map((r) => `${r.url} (${r.reasons.join(', ')})`).join('; ')}`,
      remediation: 'Browser Blocking Cookies: a cookie with SameSite=None must also be Secure, and the site must be served over HTTPS; check any proxy that rewrites Set-Cookie attributes.',
    };
  }
  return {
    summary: `${name} was not sent and the browser never received it (no Set-Cookie reached the page and none was blocked)`,
    remediation: 'Check the login reached Kasm (the kasm_url link is single-use and is replaced by every get_kasm_status call) and that the session host is the Kasm domain or a sub-domain the cookies are valid for.',
  };
}

export function judgeClientCookies(e: ClientCookiesEvidence): Verdict {
  const page = e.vncHtml;
  if (!page?.extraInfo) {
    return { status: 'fail', summary: `vnc.html was never sent${page?.failure ? ` (${page.failure.errorText})` : ''}, so its cookies cannot be checked` };
  }
  const problems = REQUIRED_COOKIES.flatMap((name) => cookieProblem(name, page, e.blockedWhenSet) ?? []);
  if (problems.length) {
    return { status: 'fail', summary: `on the vnc.html request: ${problems.map((p) => p.summary).join('; ')}`, remediation: problems[0]!.remediation };
  }
  const names = e.websocketCookieNames;
  if (names) {
    const wrong = REQUIRED_COOKIES.map((name) => [name, names.filter((n) => n === name).length] as const).filter(([, n]) => n !== 1);
    if (wrong.length) {
      return { status: 'fail', summary: `the websockify handshake carried ${wrong.map(([name, n]) => `${n} ${name} cookies`).join(' and ')} (exactly one each is needed)` };
    }
  }
  return { status: 'pass', summary: `username and session_token went to vnc.html${names ? ' and the websockify handshake' : ''} once each (${e.sessionVia} session)` };
}
