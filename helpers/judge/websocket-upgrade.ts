// The verdict of path.websocket-upgrade, from the browser's handshake and the probe's. An upgrade that came back
// without 101 may have reached KasmVNC as a plain GET: the sign that something in front of Kasm dropped the
// Upgrade/Connection headers. Kasm's own kasm_proxy is nginx, which replaces KasmVNC's `Server` header with its own,
// so the header only tells when nothing rewrote it; what survives nginx is the answer itself: KasmVNC answers a
// request that fails its websocket checks with 404 and a body of exactly `404` (websocket.c), where nginx's own 404
// is an HTML page that names nginx.
import type { WebSocketRecord } from '../probes/devtools.ts';
import type { UpgradeProbeResult } from '../probes/websocket.ts';
import type { Verdict } from './verdict.ts';

export function plainGetReachedKasmVnc(probe: Pick<UpgradeProbeResult, 'code' | 'status' | 'headers' | 'body'>): string | undefined {
  if (probe.code !== 'NOT_UPGRADED') return undefined;
  const server = probe.headers.server ?? '';
  if (/KasmVNC/i.test(server)) return `answered ${probe.status} by ${server}`;
  if (probe.status === 404 && (probe.body ?? '').trim() === '404') return `answered 404 with KasmVNC's own "404" body${server ? `, through ${server}` : ''}`;
  return undefined;
}

export interface WebsocketUpgradeEvidence {
  /** The browser's /websockify handshake as DevTools saw it; undefined when the page never opened one. */
  browser: Pick<WebSocketRecord, 'status' | 'error' | 'protocol'> | undefined;
  /** The upgrade from outside the browser with the session's cookies; undefined when the observation made none. */
  probe: Pick<UpgradeProbeResult, 'ok' | 'code' | 'status' | 'statusText' | 'headers' | 'body' | 'protocol' | 'banner' | 'error'> | undefined;
}

/**
 * path.websocket-upgrade: the probe from outside the browser tells the path's answer; when it upgraded and the
 * browser's did not, the browser is the problem.
 */
export function judgeWebsocketUpgrade(e: WebsocketUpgradeEvidence): Verdict {
  const { probe } = e;
  // No probe: the session gave no websockify URL to try, so the path's answer was not seen (the checks before say why).
  if (!probe) {
    return {
      status: 'warn',
      summary: `not judged: no upgrade was tried from outside the browser (the observation of the session stopped before its upgrade probe); the browser's websockify ${e.browser ? `was answered ${e.browser.status ?? 'nothing'}` : 'was never opened'}`,
      remediation: 'Follow the checks that failed before it (the session never reached its desktop page); this check judges the path once a session does.',
    };
  }
  if (!probe.ok) {
    const plainGet = plainGetReachedKasmVnc(probe);
    if (plainGet) {
      return {
        status: 'fail',
        summary: `the upgrade reached KasmVNC as a plain HTTP request (${plainGet}): something in front of Kasm dropped the Upgrade/Connection headers`,
        remediation: 'On the load balancer / proxy in front of Kasm, forward WebSockets for /desktop/: pass Upgrade and Connection (e.g. nginx `proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";` with HTTP/1.1), or turn off the L7 inspection that strips them.',
      };
    }
    if (probe.code === 'NOT_UPGRADED') {
      const server = probe.headers.server ?? 'unknown';
      return { status: 'fail', summary: `the websockify upgrade was answered ${probe.status} ${probe.statusText ?? ''} (server: ${server}) instead of 101, from outside the browser too: a device in the path refuses WebSocket upgrades`.replace(/\s+/g, ' ') };
    }
    return { status: 'fail', summary: `the independent upgrade failed: ${probe.code}${probe.error ? ` ${probe.error}` : ''}${probe.code === 'NO_BANNER' ? ' (101 but no RFB banner)' : ''}` };
  }
  const browser = e.browser;
  if (browser?.status !== 101) {
    return {
      status: 'fail',
      summary: `the browser's websockify ${browser ? `was answered ${browser.status ?? 'nothing'}${browser.error ? ` (${browser.error})` : ''}` : 'was never opened'}, while the same upgrade from outside the browser got 101 and "${probe.banner}": a browser-only problem`,
      remediation: 'Test in a fresh incognito window with extensions disabled; check client security software and the browser\'s proxy settings, which can break WebSockets while the path is fine.',
      hop: 'client',
    };
  }
  return { status: 'pass', summary: `browser and probe both got 101 (subprotocol ${browser.protocol ?? probe.protocol ?? 'none'}), probe read "${probe.banner}"` };
}
