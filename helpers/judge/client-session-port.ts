// The verdict of client.session-port (the guide's Proxy Port): the session's vnc.html and websockify URLs must use
// the port clients reach Kasm on, or the browser is sent to a port the path does not forward. Evidence in, one
// verdict out.
import type { Verdict } from './verdict.ts';

export interface ClientSessionPortEvidence {
  /** KASM_CLIENT_PORT: the port clients reach Kasm on. */
  clientPort: number;
  /** The session's vnc.html request URL; undefined when the page never asked for it. */
  vncHtmlUrl: string | undefined;
  /** The browser's /websockify URL; undefined when the page never opened one. */
  websockifyUrl: string | undefined;
  /** KASM_TIMEOUT_FIRST_FRAME_MS: how long the page was given. */
  firstFrameTimeoutMs: number;
}

const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80));
const bare = (url: URL) => `${url.protocol}//${url.host}${url.pathname}`;

/** The session's URLs without their query, each with the port it uses. */
export function sessionPorts(urls: Array<string | undefined>): Array<{ url: string; port: number }> {
  return urls.flatMap((u) => (u === undefined ? [] : [new URL(u)])).map((url) => ({ url: bare(url), port: portOf(url) }));
}

export function judgeClientSessionPort(e: ClientSessionPortEvidence): Verdict {
  if (e.vncHtmlUrl === undefined) {
    return {
      status: 'fail',
      summary: `the session page never requested vnc.html within ${e.firstFrameTimeoutMs} ms`,
      remediation: 'Open the session by hand with DevTools > Network and look for the vnc.html request of the session iframe.',
    };
  }
  const wrong = sessionPorts([e.vncHtmlUrl, e.websockifyUrl]).filter((s) => s.port !== e.clientPort);
  if (wrong.length) {
    return {
      status: 'fail',
      summary: `the session uses port ${wrong[0]!.port} but clients reach Kasm on port ${e.clientPort}: ${wrong.map((w) => w.url).join(', ')}`,
      remediation: `Set Admin > Infrastructure > Zones > (zone) > Proxy Port to ${e.clientPort} (the port is relative to the client; 0 follows the request port), then destroy existing sessions: only new sessions pick up the change.`,
    };
  }
  return { status: 'pass', summary: `${e.websockifyUrl !== undefined ? 'vnc.html and websockify use' : 'vnc.html uses'} port ${e.clientPort}, the client-facing port` };
}
