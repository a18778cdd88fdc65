// The fault matrix: each lab fault, the checks it must make fail, the hop the diagnosis must blame, and what the
// failing message must say. Later issues only add rows.
import type { CheckId, Hop } from '../../helpers/diagnosis/catalog.ts';
import type { FaultName } from '../../lab/faults.ts';

export interface MatrixRow {
  fault: FaultName | null;
  failing: CheckId[];
  faultyHop: Hop | null;
  /** What the first failing finding's summary must say. */
  message?: RegExp;
  /** Extra environment for the suite run (e.g. the UI login path). */
  env?: Record<string, string>;
  title?: string;
}

export const FAULT_MATRIX: MatrixRow[] = [
  { fault: null, failing: [], faultyHop: null },
  { fault: null, failing: [], faultyHop: null, env: { KASM_SESSION_VIA: 'ui' }, title: 'healthy lab, sessions through the UI login' },
  { fault: 'api-down', failing: ['api.health'], faultyHop: 'api', message: /kasm_proxy answered 502 for \/api\/__healthcheck/ },
  { fault: 'no-resources', failing: ['api.session-create'], faultyHop: 'api', message: /Kasm said "No resources are available"/ },
  { fault: 'port-mismatch', failing: ['client.session-port'], faultyHop: 'client', message: /the session uses port \d+ but clients reach Kasm on port \d+/ },
  { fault: 'duplicate-cookies', failing: ['client.cookies'], faultyHop: 'client', message: /2 session_token cookies were sent \(domain .* path \/desktop; domain .* path \/\): a cookie conflict/ },
  { fault: 'cookie-blocked', failing: ['client.cookies'], faultyHop: 'client', message: /session_token was never stored: Chromium refused the Set-Cookie from .*SameSiteNoneInsecure/ },
  { fault: 'zone-domain-not-subdomain', failing: ['client.cors'], faultyHop: 'client', message: /kasm-zone\.localhost .* is not a sub-domain of kasm\.localhost/ },
  { fault: 'websocket-blocked', failing: ['path.websocket-upgrade'], faultyHop: 'path', message: /answered 403 .* a device in the path refuses WebSocket upgrades/ },
  { fault: 'websocket-upgrade-stripped', failing: ['path.websocket-upgrade'], faultyHop: 'path', message: /reached KasmVNC as a plain HTTP request .* dropped the Upgrade\/Connection headers/ },
  { fault: 'websocket-idle-cut', failing: ['path.websocket-hold'], faultyHop: 'path', message: /the stream was cut \d+ ms after it opened .* close code 1006/ },
];
