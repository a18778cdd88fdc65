// Whether a websockify upgrade that came back without 101 reached KasmVNC as a plain GET: the sign that something
// in front of Kasm dropped the Upgrade/Connection headers. Kasm's own kasm_proxy is nginx, which replaces KasmVNC's
// `Server` header with its own, so the header only tells when nothing rewrote it; what survives nginx is the answer
// itself: KasmVNC answers a request that fails its websocket checks with 404 and a body of exactly `404`
// (websocket.c), where nginx's own 404 is an HTML page that names nginx.
import type { UpgradeProbeResult } from '../probes/websocket.ts';

export function plainGetReachedKasmVnc(probe: Pick<UpgradeProbeResult, 'code' | 'status' | 'headers' | 'body'>): string | undefined {
  if (probe.code !== 'NOT_UPGRADED') return undefined;
  const server = probe.headers.server ?? '';
  if (/KasmVNC/i.test(server)) return `answered ${probe.status} by ${server}`;
  if (probe.status === 404 && (probe.body ?? '').trim() === '404') return `answered 404 with KasmVNC's own "404" body${server ? `, through ${server}` : ''}`;
  return undefined;
}
