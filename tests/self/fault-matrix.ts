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
  /** A check the fault must make warn (sessions still work), and what its summary must say. */
  warns?: { check: CheckId; message: RegExp };
  /** Checks that must pass only on a retry, reported as flaky warnings. */
  flaky?: CheckId[];
  title?: string;
  /**
   * Where the fault reaches further on the real-parts lab than in the in-process one, what fails there and why: a
   * real part couples what the stand-in kept apart.
   */
  onRealParts?: { failing?: CheckId[]; message?: RegExp; why: string };
}

export const FAULT_MATRIX: MatrixRow[] = [
  { fault: null, failing: [], faultyHop: null },
  { fault: null, failing: [], faultyHop: null, env: { KASM_SESSION_VIA: 'ui' }, title: 'healthy lab, sessions through the UI login' },
  // With SSH to the WebApp servers, docker ps corroborates the 502: kasm_api exited (both findings blame the api hop).
  // kasm_api not running explains its failed health check, whether kasm_proxy answers 502 or, on real nginx while the
  // kernel waits for the stopped container's address, nothing in time.
  { fault: 'api-down', failing: ['webapp.containers'], faultyHop: 'api', message: /kasm_api Exited/ },
  { fault: 'no-resources', failing: ['api.session-create'], faultyHop: 'api', message: /Kasm said "No resources are available"/ },
  { fault: 'port-mismatch', failing: ['client.session-port'], faultyHop: 'client', message: /the session uses port \d+ but clients reach Kasm on port \d+/ },
  { fault: 'duplicate-cookies', failing: ['client.cookies'], faultyHop: 'client', message: /2 session_token cookies were sent \(domain .* path \/desktop; domain .* path \/\): a cookie conflict/ },
  { fault: 'cookie-blocked', failing: ['client.cookies'], faultyHop: 'client', message: /session_token was never stored: Chromium refused the Set-Cookie from .*SameSiteNoneInsecure/ },
  { fault: 'zone-domain-not-subdomain', failing: ['client.cors'], faultyHop: 'client', message: /kasm-zone\.localhost .* is not a sub-domain of kasm\.localhost/ },
  { fault: 'websocket-blocked', failing: ['path.websocket-upgrade'], faultyHop: 'path', message: /answered 403 .* a device in the path refuses WebSocket upgrades/ },
  { fault: 'websocket-upgrade-stripped', failing: ['path.websocket-upgrade'], faultyHop: 'path', message: /reached KasmVNC as a plain HTTP request .* dropped the Upgrade\/Connection headers/ },
  { fault: 'kasm-connect-denied', failing: ['api.kasm-connect'], faultyHop: 'api', message: /kasm_api answered \/api\/kasm_connect\/ with 403 on .*"GET \/api\/kasm_connect\/ HTTP\/1\.0" 403/ },
  { fault: 'cookie-stripped', failing: ['api.kasm-connect'], faultyHop: 'path', message: /the browser sent username and session_token, but kasm_api logged kasm_connect 401 "missing required username or token": a device in front of Kasm stripped the Cookie header/ },
  {
    fault: 'agent-unreachable',
    failing: ['webapp.agent-reachable'],
    faultyHop: 'agent',
    message: /https:\/\/127\.0\.20\.1:\d+\/agent\/__healthcheck: .*\(curl exit \d+\)/,
    onRealParts: { message: /https:\/\/198\.18\.0\.\d+:443\/agent\/__healthcheck: .*\(curl exit 28\)/, why: 'a network firewall between the hosts drops the packets: curl waits out its time (exit 28), and kasm_api cannot provision a session there, which that finding explains' },
  },
  { fault: 'upstream-auth-unresolvable', failing: ['agent.upstream-auth-reachable'], faultyHop: 'agent', message: /the host name does not resolve from here .*\(curl exit 6\)/ },
  { fault: 'upstream-auth-unreachable', failing: ['agent.upstream-auth-reachable'], faultyHop: 'agent', message: /\(curl exit 7\)/ },
  { fault: 'internal-auth-denied', failing: ['api.internal-auth'], faultyHop: 'api', message: /kasm_api answered \/api\/internal_auth\/ with 403/ },
  {
    fault: 'container-unhealthy',
    failing: ['agent.containers'],
    faultyHop: 'agent',
    message: /kasm_agent Up .*\(unhealthy\)/,
    onRealParts: { failing: ['agent.containers', 'agent.local-connectivity'], why: "kasm_proxy's /agent/__healthcheck is kasm_agent's own health check, the one Docker's HEALTHCHECK calls" },
  },
  {
    fault: 'proxy-not-listening',
    failing: ['webapp.listening'],
    faultyHop: 'webapp',
    message: /nothing listens on port \d+ \(ss -ltn\)/,
    onRealParts: { failing: ['webapp.containers'], message: /^kasm_proxy Exited \(0\)/, why: 'nginx is kasm_proxy\'s only process: stopped, the container is Exited, which explains the port nobody listens on' },
  },
  {
    fault: 'host-firewall',
    failing: ['agent.local-connectivity'],
    faultyHop: 'agent',
    message: /curl https:\/\/127\.0\.20\.1:\d+\/agent\/__healthcheck from the server itself failed/,
    onRealParts: { message: /curl https:\/\/198\.18\.0\.\d+:443\/agent\/__healthcheck from the server itself failed/, failing: ['agent.local-connectivity', 'agent.upstream-auth-reachable'], why: "the agent's INPUT policy drops the answers to every connection the host itself opens (its own curl, and the one to the Upstream Auth Address); Docker's DNAT takes other hosts' connections, and the containers', through FORWARD, so sessions still work" },
  },
  {
    fault: 'proxy-stale-dns',
    failing: ['webapp.local-connectivity'],
    faultyHop: 'webapp',
    message: /kasm_proxy answers 502 for \/api\/__healthcheck while kasm_api is Up/,
    onRealParts: {
      message: /kasm_proxy (answers 50\d|gives no answer in time) for \/api\/__healthcheck while kasm_api is Up, kasm_api answers http:\/\/172\.18\.255\.250:8080\/api\/__healthcheck itself(, and kasm_proxy's log says "connect\(\) failed \(113: No route to host\) while connecting to upstream" for http:\/\/172\.18\.\d+\.\d+:8080\/api\/__healthcheck)?: /,
      why: "real nginx sends to the address it resolved at its start; while the kernel still holds that address's neighbour entry nginx's connect outwaits the local curl and logs only a 499, so the evidence is kasm_api answering at its new address, and nginx's failed connect when it wrote one",
    },
  },
  { fault: 'websocket-idle-cut', failing: ['path.websocket-hold'], faultyHop: 'path', message: /the stream was cut \d+ ms after it opened .* close code 1006/, env: { KASM_WEBSOCKET_HOLD_MS: '3000' } },
  // With the opt-in, so the override is also restored after a run whose checks fail.
  {
    fault: 'kasmvnc-crash',
    failing: ['session.crash'],
    faultyHop: 'session',
    message: /KasmVNC crashed \d+ times? in .*: Caught signal 11 \(Segmentation fault\), Server aborting, \d+-frame backtrace; restarted/,
    env: { KASM_ALLOW_MUTATIONS: 'true' },
  },
  // Sessions work through the inspecting device; the agent is shown another CA's certificate than the WebApp server.
  {
    fault: 'tls-inspecting-proxy',
    failing: [],
    faultyHop: null,
    warns: { check: 'agent.upstream-auth-reachable', message: /shows this agent a certificate issued by "CN=Example Corp TLS Inspection CA", but WebApp server .* gets one issued by "CN=kasm\.localhost" for the same address: a TLS-inspecting device/ },
  },
  // A transient reset is retried with backoff and the pass reported as flaky, not as healthy and not as broken.
  { fault: 'network-blip', failing: [], faultyHop: null, flaky: ['api.health'], title: 'network-blip: api.health passes on its retry and is reported flaky' },
  {
    fault: 'websocket-malformed',
    failing: ['session.websocket-handshake'],
    faultyHop: 'path',
    message: /KasmVNC could not identify the \/websockify request as a WebSocket: "missing Sec-WebSocket-Protocol header" .*the browser sent Sec-WebSocket-Protocol, so a device between the browser and KasmVNC removed it/,
  },
  // The refused upgrade is KasmVNC's 401: the path and stream checks are reported as blocked by session.auth.
  {
    fault: 'vnc-password-stale',
    failing: ['session.auth'],
    faultyHop: 'agent',
    message: /KasmVNC refused \d+ of the session's requests? in .*: the Basic credentials' password is not the session's .*"Authentication attempt failed, wrong password for user kasm_user"/,
  },
];
