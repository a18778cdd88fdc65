// The request path of a session, as KASM-FACTS.md §4 describes nginx doing it: a client-facing load balancer, the
// WebApp kasm_proxy (auth_request /api/kasm_connect/), and the agent kasm_proxy (internal_auth at the zone's
// Upstream Auth Address), each writing nginx access lines into its container log.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
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
}

const tlsAgent = () => new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64 });

function accessLog(log: ContainerLog | undefined, req: http.IncomingMessage, exchange: Exchange): void {
  log?.write(
    nginxAccessLine({
      remoteAddr: (req.socket.remoteAddress ?? '-').replace(/^::ffff:/, ''),
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

export async function serve(options: ServeOptions): Promise<Listening> {
  const sockets = new Set<Duplex>();
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

interface AuthResult {
  status: number;
  headers: http.IncomingHttpHeaders;
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
    sub.on('timeout', () => sub.destroy());
    sub.on('error', () => resolve({ status: 500, headers: {} }));
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
  tls: Tls;
  log: ContainerLog;
  apiUrl: () => URL;
  faults: Faults;
}

export async function startWebappProxy(options: WebappProxyOptions): Promise<Listening> {
  const spa = readFileSync(`${WWW}index.html`);
  const agent = tlsAgent();
  const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const api = (path: string) => new URL(path, options.apiUrl());

  const desktopUpstream = (req: http.IncomingMessage, auth: AuthResult): Upstream => ({
    url: new URL(`${header(auth.headers, 'connect-schema') ?? 'https'}://${header(auth.headers, 'connect-hostname')}:${header(auth.headers, 'connect-port')}/${header(auth.headers, 'connect-path') ?? ''}`),
    headers: {
      Authorization: header(auth.headers, 'connect-auth'),
      'X-Kasm-ID': header(auth.headers, 'connect-kasm-id'),
      'X-Forwarded-For': forwardedFor(req),
      Cookie: kasmCookies(req),
    },
    agent: req.headers.upgrade ? false : agent,
  });

  return serve({
    host: options.host,
    tls: options.tls,
    log: options.log,
    async request(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith('/api/')) {
        return forwardRequest(req, res, { url: api(req.url!), headers: { 'X-Forwarded-For': forwardedFor(req) }, agent: apiAgent });
      }
      if (path.startsWith('/desktop/')) {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, { ...corsHeaders(req), 'Access-Control-Allow-Methods': 'GET, POST, OPTIONS' });
          res.end();
          return { status: 204, bytes: 0 };
        }
        const auth = await authSubrequest(api('/api/kasm_connect/'), req, apiAgent);
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
      const auth = await authSubrequest(api('/api/kasm_connect/'), req, apiAgent);
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
  tls: Tls;
  log: ContainerLog;
  /** The zone's Upstream Auth Address (host[:port]) the agent authorizes every request against. */
  upstreamAuthAddress: () => string;
  /** The per-session route the agent writes into containers.d: kasm id -> the container's KasmVNC. */
  route: (kasmId: string) => SessionRoute | undefined;
  faults: Faults;
}

const DESKTOP = /^\/desktop\/([0-9a-f-]{36})\/vnc(\/.*)$/;

export async function startAgentProxy(options: AgentProxyOptions): Promise<Listening> {
  const agent = tlsAgent();
  const health = Buffer.from('{"ok": true}');

  const sessionUpstream = async (req: http.IncomingMessage): Promise<{ status: number; upstream?: Upstream }> => {
    const match = DESKTOP.exec(req.url ?? '');
    const route = match ? options.route(match[1]!) : undefined;
    if (!match || !route) return { status: 404 };
    const auth = await authSubrequest(new URL(`https://${options.upstreamAuthAddress()}/api/internal_auth/`), req, agent);
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

  return serve({
    host: options.host,
    tls: options.tls,
    log: options.log,
    async request(req, res) {
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

/** The client-facing load balancer in front of the WebApp servers (where L7 devices in the field sit). */
export async function startEntry(options: EntryOptions): Promise<Listening> {
  const agent = tlsAgent();
  const { faults } = options;
  const idleCut = new IdleCut(faults, options.idleCutMs);
  let next = 0;
  const upstream = (req: http.IncomingMessage, upgrade: boolean): Upstream => {
    const targets = options.webapps();
    const target = targets[next++ % targets.length]!;
    return { url: new URL(`https://${target.host}:${target.port}${req.url ?? '/'}`), headers: { 'X-Forwarded-For': forwardedFor(req) }, agent: upgrade ? false : agent };
  };
  return serve({
    host: options.host,
    tls: options.tls,
    request: async (req, res) => forwardRequest(req, res, upstream(req, false)),
    async upgrade(req, socket, head) {
      if (faults.has('websocket-blocked') && (req.url ?? '').includes('/websockify')) return rejectUpgrade(socket, 403);
      if (faults.has('websocket-upgrade-stripped')) return forwardUpgrade(req, socket, head, withoutUpgrade(upstream(req, true)));
      idleCut.watch(socket);
      return forwardUpgrade(req, socket, head, upstream(req, true));
    },
  });
}
