// The request path of a session, as KASM-FACTS.md §4 describes nginx doing it: a client-facing load balancer, the
// WebApp kasm_proxy (auth_request /api/kasm_connect/), and the agent kasm_proxy (internal_auth at the zone's
// Upstream Auth Address), each writing nginx access lines into its container log.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Faults } from './faults.ts';
import { forwardRequest, forwardUpgrade, rejectUpgrade, sendNginxError, type Exchange, type Upstream } from './http-proxy.ts';
import { parseCookies } from './kasm-api.ts';
import { nginxAccessLine } from './logs.ts';
import type { ContainerLog } from './state.ts';

export interface Tls {
  key: string;
  cert: string;
}

export interface Listening {
  port: number;
  /** Stops accepting and cuts open connections and tunnels. */
  close(): Promise<void>;
  /** Starts accepting again on the same port (after a fault that stopped the listener is cleared). */
  reopen(): Promise<void>;
  readonly listening: boolean;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<Exchange>;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<Exchange>;

interface ServeOptions {
  host: string;
  port?: number;
  tls: Tls;
  log?: ContainerLog;
  request: Handler;
  upgrade: UpgradeHandler;
  /** Whether a TCP connection from this peer address gets through; the others are reset, as a firewall's tcp-reset does. */
  admit?: (peer: string) => boolean;
}

interface Served extends Listening {
  /** Resets the open connections `admit` no longer lets through: a new firewall rule cuts established flows too. */
  readmit(): void;
}

/** `localAddress` makes a host's outgoing connections come from its own lab IP, which agent-unreachable filters on. */
const tlsAgent = (localAddress?: string) => new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64, localAddress });

const peerOf = (socket: { remoteAddress?: string }) => (socket.remoteAddress ?? '-').replace(/^::ffff:/, '');

function accessLog(log: ContainerLog | undefined, req: http.IncomingMessage, exchange: Exchange): void {
  log?.write(
    nginxAccessLine({
      remoteAddr: peerOf(req.socket),
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      protocol: `HTTP/${req.httpVersion}`,
      status: exchange.status,
      bytes: exchange.bytes,
      referer: String(req.headers.referer ?? ''),
      userAgent: String(req.headers['user-agent'] ?? ''),
      forwardedFor: String(req.headers['x-forwarded-for'] ?? ''),
    }),
  );
}

export async function serve(options: ServeOptions): Promise<Served> {
  const sockets = new Set<Duplex>();
  const connections = new Set<Socket>();
  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    options.request(req, res).then(
      (exchange) => accessLog(options.log, req, exchange),
      () => res.destroy(),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    options.upgrade(req, socket, head).then(
      (exchange) => accessLog(options.log, req, exchange),
      () => socket.destroy(),
    );
  });
  server.on('tlsClientError', () => undefined);
  const admitted = (socket: Socket) => options.admit?.(peerOf(socket)) ?? true;
  server.on('connection', (socket: Socket) => {
    if (!admitted(socket)) {
      socket.resetAndDestroy();
      return;
    }
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    get listening() {
      return server.listening;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    reopen: listen,
    readmit() {
      for (const socket of connections) if (!admitted(socket)) socket.resetAndDestroy();
    },
  };
}

const forwardedFor = (req: http.IncomingMessage) => {
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const previous = req.headers['x-forwarded-for'];
  return previous ? `${String(previous)}, ${peer}` : peer;
};

/** nginx's `Cookie "username=$cookie_username; session_token=$cookie_session_token; kasm_client_key=..."`. */
function kasmCookies(req: http.IncomingMessage): string {
  const cookies = parseCookies(req.headers.cookie);
  const first = (name: string) => cookies.get(name)?.[0] ?? '';
  return `username=${first('username')}; session_token=${first('session_token')}; kasm_client_key=${first('kasm_client_key')}`;
}

// The worker's pid#tid nginx puts in every error line; a long-running container keeps one.
const NGINX_WORKER = '31#31';

/**
 * nginx's error_log layout, `YYYY/MM/DD HH:MM:SS [error] pid#tid: *connection message, client: ..., server: ...,
 * request: "...", [subrequest: "...", ][upstream: "...", ]host: "..."`. The image sends error.log to stderr, so
 * `docker logs kasm_proxy` shows these lines between the access lines.
 */
class NginxErrorLog {
  readonly #connections = new WeakMap<object, number>();
  #next = 1;

  constructor(private readonly log: ContainerLog) {}

  write(req: http.IncomingMessage, message: string, context: { subrequest?: string; upstream?: string } = {}, at = new Date()): void {
    let connection = this.#connections.get(req.socket);
    if (connection === undefined) {
      connection = this.#next++;
      this.#connections.set(req.socket, connection);
    }
    const pad = (n: number) => String(n).padStart(2, '0');
    const time = `${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
    const fields = [
      `client: ${peerOf(req.socket)}`,
      // Kasm's server_name is not public; a proxy that answers any host name is usually the catch-all `_`.
      'server: _',
      `request: "${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}"`,
      ...(context.subrequest ? [`subrequest: "${context.subrequest}"`] : []),
      ...(context.upstream ? [`upstream: "${context.upstream}"`] : []),
      `host: "${String(req.headers.host ?? '')}"`,
    ];
    this.log.write(`${time} [error] ${NGINX_WORKER}: *${connection} ${message}, ${fields.join(', ')}`);
  }
}

interface UpstreamFailure {
  /** What nginx makes of it (the sub-request's status). */
  status: number;
  message: string;
  upstream?: string;
}

/** How nginx words an upstream it could not use, from the error Node reports for the same failure. */
function upstreamFailure(error: NodeJS.ErrnoException, url: URL): UpstreamFailure {
  const upstream = url.href;
  switch (error.code) {
    case 'ENOTFOUND':
      return { status: 502, message: `${url.hostname} could not be resolved (3: Host not found)` };
    case 'EAI_AGAIN':
      return { status: 502, message: `${url.hostname} could not be resolved (2: Server failure)` };
    case 'ECONNREFUSED':
      return { status: 502, message: 'connect() failed (111: Connection refused) while connecting to upstream', upstream };
    case 'ECONNRESET':
      return { status: 502, message: 'recv() failed (104: Connection reset by peer) while reading response header from upstream', upstream };
    case 'ETIMEDOUT':
      return { status: 504, message: 'upstream timed out (110: Connection timed out) while reading response header from upstream', upstream };
    default:
      return { status: 502, message: `connect() failed (${error.code ?? error.message}) while connecting to upstream`, upstream };
  }
}

/** An auth sub-request without an answer: the upstream's error, then auth_request's own line about the status. */
function logAuthFailure(errors: NginxErrorLog, req: http.IncomingMessage, subrequest: string, failure: UpstreamFailure): void {
  errors.write(req, failure.message, { subrequest, upstream: failure.upstream });
  errors.write(req, `auth request unexpected status: ${failure.status} while sending to client`);
}

interface AuthResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Why the sub-request got no answer, worded as nginx logs it. */
  failure?: UpstreamFailure;
}

/** nginx auth_request: 2xx allows, 401/403 pass through, anything else (or no answer) is a 500. */
function authSubrequest(url: URL, req: http.IncomingMessage, agent: http.Agent): Promise<AuthResult> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const sub = client.request(url, {
      method: 'GET',
      agent,
      rejectUnauthorized: false,
      timeout: 10_000,
      headers: { 'X-Original-URI': req.url ?? '/', Cookie: kasmCookies(req), 'User-Agent': String(req.headers['user-agent'] ?? ''), Referer: String(req.headers.referer ?? '') },
    });
    sub.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 500;
      resolve({ status: status >= 200 && status < 300 ? status : status === 401 || status === 403 ? status : 500, headers: res.headers });
    });
    sub.on('timeout', () => sub.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    sub.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 500, headers: {}, failure: upstreamFailure(error, url) }));
    sub.end();
  });
}

const header = (headers: http.IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function corsHeaders(req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return origin ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' } : {};
}

const WWW = fileURLToPath(new URL('./www/', import.meta.url));

export interface WebappProxyOptions {
  host: string;
  /** All WebApp servers publish Kasm's install port; 0 picks a free one (the first server). */
  port?: number;
  tls: Tls;
  log: ContainerLog;
  apiUrl: () => URL;
  faults: Faults;
}

/** nginx's upstream name for kasm_api (`upstream kasm-api { server kasm-api:8080; }`, KASM-FACTS §4). */
const API_UPSTREAM = 'kasm-api';

export async function startWebappProxy(options: WebappProxyOptions): Promise<Listening> {
  const spa = readFileSync(`${WWW}index.html`);
  const agent = tlsAgent(options.host);
  // Tunnels keep their socket for good, so they get no pool; they still leave from this host's address.
  const upgradeAgent = new https.Agent({ rejectUnauthorized: false, localAddress: options.host });
  const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const api = (path: string) => new URL(path, options.apiUrl());
  const errors = new NginxErrorLog(options.log);
  const apiUnresolvable = { status: 502, message: `${API_UPSTREAM} could not be resolved (3: Host not found)` };

  const kasmConnect = async (req: http.IncomingMessage): Promise<AuthResult> => {
    if (!options.faults.has('proxy-stale-dns')) return authSubrequest(api('/api/kasm_connect/'), req, apiAgent);
    logAuthFailure(errors, req, '/kasm_connect', apiUnresolvable);
    return { status: 500, headers: {} };
  };

  const desktopUpstream = (req: http.IncomingMessage, auth: AuthResult): Upstream => ({
    url: new URL(`${header(auth.headers, 'connect-schema') ?? 'https'}://${header(auth.headers, 'connect-hostname')}:${header(auth.headers, 'connect-port')}/${header(auth.headers, 'connect-path') ?? ''}`),
    headers: {
      Authorization: header(auth.headers, 'connect-auth'),
      'X-Kasm-ID': header(auth.headers, 'connect-kasm-id'),
      'X-Forwarded-For': forwardedFor(req),
      Cookie: kasmCookies(req),
    },
    agent: req.headers.upgrade ? upgradeAgent : agent,
  });

  return serve({
    host: options.host,
    port: options.port,
    tls: options.tls,
    log: options.log,
    async request(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith('/api/')) {
        if (options.faults.has('proxy-stale-dns')) {
          errors.write(req, apiUnresolvable.message);
          return sendNginxError(res, apiUnresolvable.status);
        }
        return forwardRequest(req, res, { url: api(req.url!), headers: { 'X-Forwarded-For': forwardedFor(req) }, agent: apiAgent });
      }
      if (path.startsWith('/desktop/')) {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, { ...corsHeaders(req), 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS' });
          res.end();
          return { status: 204, bytes: 0 };
        }
        const auth = await kasmConnect(req);
        if (auth.status >= 300) return sendNginxError(res, auth.status);
        for (const [name, value] of Object.entries(corsHeaders(req))) res.setHeader(name, value);
        return forwardRequest(req, res, desktopUpstream(req, auth));
      }
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': spa.length, Server: 'nginx', 'Cache-Control': 'no-store' });
        res.end(spa);
        return { status: 200, bytes: spa.length };
      }
      return sendNginxError(res, 404);
    },
    async upgrade(req, socket, head) {
      if (!(req.url ?? '').startsWith('/desktop/')) return rejectUpgrade(socket, 404);
      const auth = await kasmConnect(req);
      if (auth.status >= 300) return rejectUpgrade(socket, auth.status);
      return forwardUpgrade(req, socket, head, desktopUpstream(req, auth));
    },
  });
}

export interface SessionRoute {
  host: string;
  port: number;
}

export interface AgentProxyOptions {
  host: string;
  /** Agents publish Kasm's install port too; 0 picks a free one (the first agent). */
  port?: number;
  tls: Tls;
  log: ContainerLog;
  /** The zone's Upstream Auth Address (host[:port]) the agent authorizes every request against. */
  upstreamAuthAddress: () => string;
  /** The per-session route the agent writes into containers.d: kasm id -> the container's KasmVNC. */
  route: (kasmId: string) => SessionRoute | undefined;
  faults: Faults;
  /** The WebApp servers' addresses, which agent-unreachable cuts off while the agent still answers everyone else. */
  webappAddresses: string[];
}

const DESKTOP = /^\/desktop\/([0-9a-f-]{36})\/vnc(\/.*)$/;

export async function startAgentProxy(options: AgentProxyOptions): Promise<Listening> {
  const { faults } = options;
  const agent = tlsAgent(options.host);
  const health = Buffer.from('{"ok": true}');
  const errors = new NginxErrorLog(options.log);

  const sessionUpstream = async (req: http.IncomingMessage): Promise<{ status: number; upstream?: Upstream }> => {
    const match = DESKTOP.exec(req.url ?? '');
    const route = match ? options.route(match[1]!) : undefined;
    if (!match || !route) return { status: 404 };
    const auth = await authSubrequest(new URL(`https://${options.upstreamAuthAddress()}/api/internal_auth/`), req, agent);
    // The agent's auth location name is not public (KASM-FACTS Unknowns 4); it is named after its API call here.
    if (auth.failure) logAuthFailure(errors, req, '/internal_auth', auth.failure);
    if (auth.status >= 300) return { status: auth.status };
    return {
      status: auth.status,
      upstream: {
        url: new URL(`https://${route.host}:${route.port}${match[2]}`),
        headers: { Authorization: header(auth.headers, 'connect-auth'), 'X-Forwarded-For': forwardedFor(req), Cookie: undefined },
        // KasmVNC serves one request per connection, so nothing is kept alive towards it.
        agent: false,
      },
    };
  };

  const served = await serve({
    host: options.host,
    port: options.port,
    tls: options.tls,
    log: options.log,
    admit: (peer) => !faults.has('host-firewall') && !(faults.has('agent-unreachable') && options.webappAddresses.includes(peer)),
    async request(req, res) {
      // An agent's nginx proxies no /api/ location, so /api/__healthcheck is a WebApp-only check; an agent's own
      // connectivity is checked with the path the guide curls from the WebApp servers.
      if (req.url === '/agent/__healthcheck') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': health.length, Server: 'nginx' });
        res.end(health);
        return { status: 200, bytes: health.length };
      }
      const { status, upstream } = await sessionUpstream(req);
      if (!upstream) return sendNginxError(res, status);
      return forwardRequest(req, res, upstream);
    },
    async upgrade(req, socket, head) {
      const { status, upstream } = await sessionUpstream(req);
      if (!upstream) return rejectUpgrade(socket, status);
      return forwardUpgrade(req, socket, head, upstream);
    },
  });
  faults.on('change', () => served.readmit());
  return served;
}

export interface EntryOptions {
  host: string;
  tls: Tls;
  /** The WebApp kasm_proxy addresses behind the load balancer, tried round-robin. */
  webapps: () => SessionRoute[];
  faults: Faults;
  /** How long a tunnel lives after its 101 while websocket-idle-cut is on. */
  idleCutMs: number;
}

interface Tunnel {
  openedAt: number;
  timer?: NodeJS.Timeout;
}

/** websocket-idle-cut: an L7 device's idle or max-duration timer drops the TCP connection without a close frame. */
class IdleCut {
  readonly #tunnels = new Map<Duplex, Tunnel>();

  constructor(
    private readonly faults: Faults,
    private readonly afterMs: number,
  ) {
    faults.on('change', (active, previous) => {
      if (!active.has('websocket-idle-cut') || previous.has('websocket-idle-cut')) return;
      for (const [socket, tunnel] of this.#tunnels) this.#arm(socket, tunnel);
    });
  }

  watch(socket: Duplex): void {
    // forwardUpgrade pipes the tunnel into the client socket only once it has written the 101.
    socket.once('pipe', () => {
      const tunnel: Tunnel = { openedAt: Date.now() };
      this.#tunnels.set(socket, tunnel);
      socket.once('close', () => {
        clearTimeout(tunnel.timer);
        this.#tunnels.delete(socket);
      });
      if (this.faults.has('websocket-idle-cut')) this.#arm(socket, tunnel);
    });
  }

  #arm(socket: Duplex, tunnel: Tunnel): void {
    clearTimeout(tunnel.timer);
    const cut = () => {
      if (this.faults.has('websocket-idle-cut')) socket.destroy();
    };
    tunnel.timer = setTimeout(cut, Math.max(0, tunnel.openedAt + this.afterMs - Date.now()));
  }
}

/** A device that does not speak WebSocket passes the request on as a plain GET. */
const withoutUpgrade = (upstream: Upstream): Upstream => ({ ...upstream, headers: { ...upstream.headers, Upgrade: undefined, Connection: undefined } });

/** A device that rewrites the handshake and drops the subprotocol, which KasmVNC's parse_handshake insists on. */
const withoutProtocol = (upstream: Upstream): Upstream => ({ ...upstream, headers: { ...upstream.headers, 'Sec-WebSocket-Protocol': undefined } });

/** The client-facing load balancer in front of the WebApp servers (where L7 devices in the field sit). */
export async function startEntry(options: EntryOptions): Promise<Listening> {
  const agent = tlsAgent();
  const { faults } = options;
  const idleCut = new IdleCut(faults, options.idleCutMs);
  let next = 0;
  const upstream = (req: http.IncomingMessage, upgrade: boolean): Upstream => {
    const targets = options.webapps();
    const target = targets[next++ % targets.length]!;
    // cookie-stripped: a device that filters headers on the session path, so only the desktop loses its cookies.
    const stripCookie = faults.has('cookie-stripped') && (req.url ?? '').startsWith('/desktop/');
    return {
      url: new URL(`https://${target.host}:${target.port}${req.url ?? '/'}`),
      headers: { 'X-Forwarded-For': forwardedFor(req), ...(stripCookie ? { Cookie: undefined } : {}) },
      agent: upgrade ? false : agent,
    };
  };
  // network-blip: one reset, then the path is fine again, as with a flapping link or a load balancer failing over.
  let blipPending = faults.has('network-blip');
  faults.on('change', (active, previous) => {
    if (active.has('network-blip') && !previous.has('network-blip')) blipPending = true;
  });
  return serve({
    host: options.host,
    tls: options.tls,
    request: async (req, res) => {
      if (blipPending && faults.has('network-blip') && (req.url ?? '').startsWith('/api/__healthcheck')) {
        blipPending = false;
        req.socket.resetAndDestroy();
        // nginx's code for a connection it closed without answering.
        return { status: 444, bytes: 0 };
      }
      return forwardRequest(req, res, upstream(req, false));
    },
    async upgrade(req, socket, head) {
      if (faults.has('websocket-blocked') && (req.url ?? '').includes('/websockify')) return rejectUpgrade(socket, 403);
      if (faults.has('websocket-upgrade-stripped')) return forwardUpgrade(req, socket, head, withoutUpgrade(upstream(req, true)));
      if (faults.has('websocket-malformed') && (req.url ?? '').includes('/websockify')) return forwardUpgrade(req, socket, head, withoutProtocol(upstream(req, true)));
      idleCut.watch(socket);
      return forwardUpgrade(req, socket, head, upstream(req, true));
    },
  });
}
