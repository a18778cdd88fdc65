// kasm_api stand-in: the Developer API calls the suite uses, the nginx auth sub-requests (kasm_connect,
// internal_auth), and the few calls the lab's web app makes. Shapes and log lines follow KASM-FACTS.md §1, §4, §5.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultSet } from './faults.ts';
import { cherrypyAccessLine, kasmApiLine } from './logs.ts';
import type { LogSink } from './state.ts';

export const hex32 = () => randomUUID().replaceAll('-', '');

export interface LabUser {
  userId: string;
  username: string;
  password: string;
  /** Browser session tokens (cookie session_token). */
  tokens: Set<string>;
  /** One-time tokens inside kasm_url links, by kasm id. */
  linkTokens: Map<string, string>;
}

export interface LabImage {
  image_id: string;
  name: string;
  friendly_name: string;
  description: string;
  enabled: boolean;
  cores: number;
  memory: number;
  image_src: string;
  /** Docker Run Config Override, kept as the JSON text it was saved as. */
  run_config: string;
  exec_config: string;
  volume_mappings: Record<string, unknown>;
  restrict_to_zone: boolean;
  zone_id: string | null;
  server_id: string | null;
  categories: string[];
}

export interface LabZone {
  zone_id: string;
  zone_name: string;
  allow_origin_domain: string;
  upstream_auth_address: string;
  load_balancing_strategy: string;
  search_alternate_zones: boolean;
  prioritize_static_agents: boolean;
  proxy_connections: boolean;
  proxy_hostname: string;
  proxy_path: string;
  proxy_port: number;
}

export interface LabAgent {
  agent_id: string;
  server_id: string;
  hostname: string;
  /** The port the agent's kasm_proxy listens on: not in Kasm's get_agents shape (KASM-FACTS Unknowns 5), so get_agents leaves it out when every agent has the same. */
  port: number;
  hostId: string;
  zone_id: string;
  enabled: boolean;
}

export interface LaunchedContainer {
  containerName: string;
  containerId: string;
  hostname: string;
  containerIp: string;
  vncPort: number;
  vncPassword: string;
}

export interface SessionLauncher {
  launch(session: LabSession, image: LabImage, agent: LabAgent): Promise<LaunchedContainer>;
  destroy(session: LabSession): Promise<void>;
}

export interface LabSession {
  kasmId: string;
  user: LabUser;
  image: LabImage;
  agent: LabAgent;
  zone: LabZone;
  /** `destroying` from destroy_kasm until the agent removed the container: a status call still finds the session. */
  status: 'starting' | 'running' | 'destroying' | 'stopped';
  created: Date;
  container?: LaunchedContainer;
  ready?: Promise<void>;
  destroyed?: Promise<void>;
}

/** What a workspace's fields fall back to in a version whose update_image resets what a save leaves out. */
const IMAGE_DEFAULTS: Partial<Record<keyof LabImage, unknown>> = { description: '', enabled: false, cores: 1, memory: 768_000_000, run_config: '{}', exec_config: '{}', volume_mappings: {}, restrict_to_zone: false, zone_id: null, server_id: null };

export interface KasmApiOptions {
  host: string;
  /** 8080 in a kasm_api container; any free port when absent. */
  port?: number;
  store: KasmStore;
  apiKey: string;
  apiSecret: string;
  users: LabUser[];
  images: LabImage[];
  zones: LabZone[];
  agents: LabAgent[];
  launcher: SessionLauncher;
  log: LogSink;
  faults: FaultSet;
  /** The docker-network address kasm_proxy talks from, as it appears in the access log. */
  proxyContainerIp: string;
  /**
   * Which update_image calls this Kasm answers: the admin API's (`target_image`) and the public one KasmLink uses
   * (`workspace`). Both by default; a form left out is an unknown call.
   */
  updateImageForms?: ReadonlyArray<UpdateImageForm>;
}

export type UpdateImageForm = 'admin' | 'public';

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PUBLIC = /^\/api\/(?:public\/)?([a-z_]+)\/?$/;
const ADMIN = /^\/api\/admin\/([a-z_]+)\/?$/;

export function parseCookies(header: string | undefined): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    cookies.set(name, [...(cookies.get(name) ?? []), part.slice(eq + 1).trim()]);
  }
  return cookies;
}

/** Developer API callers identify with a key; the web app's own calls carry only the browser's cookies. */
const carriesApiKey = (req: http.IncomingMessage, body: Record<string, unknown>) =>
  'api_key' in body || 'api_key_secret' in body || /^Basic\s/i.test(req.headers.authorization ?? '');

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** What Kasm keeps in its database: shared by every WebApp server's kasm_api. */
export interface KasmStore {
  sessions: Map<string, LabSession>;
  /** Every token and session password handed out, so the suite's tests can prove none reached a report. */
  issued: Set<string>;
}

export const newStore = (): KasmStore => ({ sessions: new Map(), issued: new Set() });

export class KasmApi {
  readonly sessions: Map<string, LabSession>;
  readonly issued: Set<string>;
  #server: http.Server;
  #port = 0;

  constructor(private readonly options: KasmApiOptions) {
    this.sessions = options.store.sessions;
    this.issued = options.store.issued;
    this.#port = options.port ?? 0;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 60_000;
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.options.host, () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  /** Stops listening, as when the kasm_api container exits; established connections are cut too. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kasm-api');
    let status = 500;
    let body = '';
    const headers: Record<string, string | string[]> = {};
    try {
      const result = await this.#route(req, url, headers);
      status = result.status;
      body = result.body === undefined ? '' : pythonJson(result.body);
    } catch (error) {
      status = error instanceof ApiError ? error.status : 500;
      body = pythonJson({ error_message: error instanceof Error ? error.message : String(error) });
    }
    if (body) headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
    // nginx's auth_request sub-request reaches CherryPy as HTTP/1.0 in every kasm_connect line the guide shows.
    const protocol = url.pathname.startsWith('/api/kasm_connect') ? 'HTTP/1.0' : `HTTP/${req.httpVersion}`;
    this.options.log.write(
      cherrypyAccessLine({
        remoteAddr: this.options.proxyContainerIp,
        method: req.method ?? 'GET',
        uri: url.pathname + url.search,
        protocol,
        status,
        bytes: Buffer.byteLength(body),
        referer: String(req.headers.referer ?? ''),
        userAgent: String(req.headers['user-agent'] ?? ''),
      }),
    );
  }

  async #route(req: http.IncomingMessage, url: URL, headers: Record<string, string | string[]>): Promise<{ status: number; body?: unknown }> {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/api/__healthcheck') {
      this.#info('client_api_server', `Unauthenticated user made authorized API call to (healthcheck) from IP address (${this.options.proxyContainerIp}).`, 'DEBUG');
      return { status: 200, body: { ok: true } };
    }
    if (req.method === 'GET' && path === '/api/kasm_connect/') return this.#kasmConnect(req, headers);
    if (req.method === 'GET' && path === '/api/internal_auth/') return this.#internalAuth(req, headers);
    if (req.method !== 'POST') throw new ApiError(405, 'Method not allowed');
    const body = await readJson(req);
    const admin = ADMIN.exec(path);
    if (admin) {
      this.#authorizeApiKey(req, body);
      return { status: 200, body: await this.#admin(admin[1]!, body) };
    }
    const name = PUBLIC.exec(path)?.[1];
    if (name === 'authenticate') return { status: 200, body: this.#authenticate(body, headers) };
    if (name === 'get_user_kasm') return { status: 200, body: this.#userKasm(req, body) };
    if (name === 'get_user_images') return { status: 200, body: this.#userImages(req, body) };
    if (name === 'request_kasm' && !carriesApiKey(req, body)) return { status: 200, body: this.#userRequestKasm(req, body) };
    if (name === undefined) throw new ApiError(404, `Unknown API call ${path}`);
    this.#authorizeApiKey(req, body);
    return { status: 200, body: await this.#developer(name, body) };
  }

  #authorizeApiKey(req: http.IncomingMessage, body: Record<string, unknown>): void {
    let key = typeof body.api_key === 'string' ? body.api_key : undefined;
    let secret = typeof body.api_key_secret === 'string' ? body.api_key_secret : undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString();
      const colon = decoded.indexOf(':');
      key = decoded.slice(0, colon);
      secret = decoded.slice(colon + 1);
    }
    if (key === undefined || secret === undefined) throw new ApiError(401, 'Missing API key or secret');
    if (!sameSecret(key, this.options.apiKey) || !sameSecret(secret, this.options.apiSecret)) {
      this.#info('client_api_server', `Invalid API key (${key}) from (${this.options.proxyContainerIp})`, 'WARNING');
      throw new ApiError(403, 'Access Denied');
    }
  }

  #user(target: Record<string, unknown> | undefined): LabUser {
    const id = typeof target?.user_id === 'string' ? target.user_id.replaceAll('-', '') : undefined;
    const name = typeof target?.username === 'string' ? target.username : undefined;
    const user = this.options.users.find((u) => u.userId === id || (name !== undefined && u.username === name));
    if (!user) throw new ApiError(200, 'User does not exist');
    return user;
  }

  #session(body: Record<string, unknown>): LabSession {
    const session = this.sessions.get(String(body.kasm_id ?? ''));
    if (!session || session.status === 'stopped') throw new ApiError(200, 'Kasm not found');
    return session;
  }

  async #developer(name: string, body: Record<string, unknown>): Promise<unknown> {
    switch (name) {
      case 'request_kasm':
        return this.#requestKasm(body);
      case 'get_kasm_status':
        return this.#kasmStatus(this.#session(body));
      case 'destroy_kasm': {
        const session = this.#session(body);
        await this.#destroy(session);
        return {};
      }
      case 'get_kasms':
        return { kasms: [...this.sessions.values()].filter((s) => s.status !== 'stopped').map((s) => this.#kasmSummary(s)) };
      case 'get_images':
        return { images: this.options.images };
      case 'get_zones':
        return { zones: this.options.zones };
      case 'get_user':
        return { user: this.#userView(this.#user(body.target_user as Record<string, unknown> | undefined)) };
      case 'update_image':
        if (this.#offers('public')) return this.#updateImage(body.workspace);
        break;
    }
    throw new ApiError(404, `Unknown API call ${name}`);
  }

  async #admin(name: string, body: Record<string, unknown>): Promise<unknown> {
    switch (name) {
      case 'get_agents': {
        // Kasm's public clients show no `port` on agents, so the suite's KASM_AGENT_PORT is what it uses; the lab
        // sends one only where its agents listen on different ports (one loopback address for all, not Linux).
        const differ = new Set(this.options.agents.map((a) => a.port)).size > 1;
        return { agents: this.options.agents.map(({ hostId: _hostId, port, ...agent }) => ({ ...agent, ...(differ ? { port } : {}), status: 'running', cores: 4, memory: 8_589_934_592, gpus: 0 })) };
      }
      case 'get_servers':
        return { servers: [] };
      case 'get_images':
        return { images: this.options.images };
      case 'update_image':
        if (this.#offers('admin')) return this.#updateImage(body.target_image);
        break;
    }
    throw new ApiError(404, `Unknown admin API call ${name}`);
  }

  #offers(form: UpdateImageForm): boolean {
    return (this.options.updateImageForms ?? ['admin', 'public']).includes(form);
  }

  /** Both forms carry the same fields; a config sent as an object is kept as the JSON text Kasm would store. */
  /**
   * How this Kasm's update_image treats a record (the suite's tests set it): `resetsUnsent`, a version that resets the
   * fields a save leaves out (KASM-FACTS: unknown whether any does); `alsoChanges`, fields every save sets besides.
   */
  updateImageBehaviour: { resetsUnsent?: boolean; alsoChanges?: Partial<LabImage> } = {};

  #updateImage(fields: unknown): { image: LabImage } {
    const target = fields as Record<string, unknown> | undefined;
    const image = this.options.images.find((i) => i.image_id === target?.image_id);
    if (!image) throw new ApiError(200, 'Image not found');
    const record = image as unknown as Record<string, unknown>;
    for (const key of Object.keys(image)) {
      if (key === 'image_id') continue;
      const value = target?.[key];
      if (value === undefined) {
        if (this.updateImageBehaviour.resetsUnsent) record[key] = IMAGE_DEFAULTS[key as keyof LabImage] ?? null;
        continue;
      }
      record[key] = (key === 'run_config' || key === 'exec_config') && typeof value !== 'string' ? JSON.stringify(value) : value;
    }
    Object.assign(image, this.updateImageBehaviour.alsoChanges ?? {});
    return { image };
  }

  #requestKasm(body: Record<string, unknown>): unknown {
    const session = this.#launch(this.#user({ user_id: body.user_id }), body.image_id);
    const token = this.#linkToken(session);
    return {
      kasm_id: session.kasmId,
      status: 'starting',
      user_id: session.user.userId,
      username: session.user.username,
      session_token: token,
      kasm_url: `/#/connect/kasm/${session.kasmId}/${session.user.userId}/${token}`,
    };
  }

  /** The web app's launch: the browser is already signed in, so no one-time link comes back. */
  #userRequestKasm(req: http.IncomingMessage, body: Record<string, unknown>): unknown {
    const session = this.#launch(this.#appUser(req, body), body.image_id);
    return { kasm_id: session.kasmId, status: 'starting', user_id: session.user.userId, username: session.user.username, image_id: session.image.image_id };
  }

  #launch(user: LabUser, imageId: unknown): LabSession {
    const image = this.options.images.find((i) => i.image_id === imageId && i.enabled);
    if (!image) throw new ApiError(200, 'Image not found or disabled');
    const agent = this.#leastLoaded();
    const zone = this.options.zones.find((z) => z.zone_id === agent.zone_id) ?? this.options.zones[0]!;
    const session: LabSession = { kasmId: randomUUID(), user, image, agent, zone, status: 'starting', created: new Date() };
    this.sessions.set(session.kasmId, session);
    session.ready = this.options.launcher.launch(session, image, agent).then(
      (container) => {
        session.container = container;
        this.issued.add(container.vncPassword);
        this.issued.add(Buffer.from(`kasm_user:${container.vncPassword}`).toString('base64'));
        if (session.status === 'starting') session.status = 'running';
      },
      (error: unknown) => {
        session.status = 'stopped';
        this.#info('client_api_server', `Error provisioning kasm (${session.kasmId}): ${String(error)}`, 'ERROR');
      },
    );
    this.#info('client_api_server', `Created kasm (${session.kasmId}) for user (${user.username}) on agent (${agent.hostname})`);
    return session;
  }

  #leastLoaded(): LabAgent {
    const enabled = this.options.agents.filter((a) => a.enabled);
    if (!enabled.length || this.options.faults.has('no-resources')) throw new ApiError(200, 'No resources are available');
    const load = (agent: LabAgent) => [...this.sessions.values()].filter((s) => s.agent === agent && s.status !== 'stopped').length;
    return enabled.reduce((best, agent) => (load(agent) < load(best) ? agent : best));
  }

  /** A fresh one-time link token; the previous link for this kasm stops working, as get_kasm_status documents. */
  #linkToken(session: LabSession): string {
    const token = randomUUID();
    this.issued.add(token);
    session.user.linkTokens.set(session.kasmId, token);
    return token;
  }

  #kasmStatus(session: LabSession): unknown {
    const token = this.#linkToken(session);
    const top = {
      current_time: new Date().toISOString().replace('T', ' ').replace('Z', ''),
      kasm_url: `/#/connect/kasm/${session.kasmId}/${session.user.userId}/${token}`,
      operational_status: session.status,
      operational_message: session.status === 'running' ? 'Session is running' : session.status === 'destroying' ? 'Destroying session' : 'Provisioning session',
      operational_progress: session.status === 'running' ? 100 : 40,
    };
    if (session.status !== 'running' || !session.container) return top;
    return { ...top, kasm: { ...this.#kasmSummary(session), token } };
  }

  #kasmSummary(session: LabSession): Record<string, unknown> {
    const { image, container, agent } = session;
    const iso = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');
    return {
      kasm_id: session.kasmId,
      user_id: session.user.userId,
      username: session.user.username,
      image_id: image.image_id,
      image: { image_id: image.image_id, name: image.name, friendly_name: image.friendly_name, image_src: image.image_src },
      operational_status: session.status,
      container_ip: container?.containerIp ?? null,
      container_id: container?.containerId ?? null,
      hostname: agent.hostname,
      host: agent.hostname,
      port: agent.port,
      server_id: agent.server_id,
      port_map: { vnc: { port: container?.vncPort ?? 6901, path: `vnc` } },
      share_id: null,
      created_date: iso(session.created),
      start_date: iso(session.created),
      keepalive_date: iso(new Date()),
      expiration_date: iso(new Date(session.created.getTime() + 3_600_000)),
    };
  }

  #userView(user: LabUser): unknown {
    return {
      user_id: user.userId,
      username: user.username,
      first_name: 'Synthetic',
      last_name: 'Monitor',
      realm: 'local',
      groups: [{ name: 'All Users', group_id: '68d557ac4cac42cca9f31c7c853de0f3' }],
      kasms: [...this.sessions.values()]
        .filter((s) => s.user === user && s.status !== 'stopped')
        .map((s) => ({ kasm_id: s.kasmId, start_date: s.created.toISOString(), server: { server_id: s.agent.server_id, hostname: s.agent.hostname, port: s.agent.port } })),
      disabled: false,
      locked: false,
    };
  }

  /** The session is gone (a status call finds nothing) only once its container is; a destroy that fails leaves it as it was. */
  #destroy(session: LabSession): Promise<void> {
    if (session.status === 'destroying' && session.destroyed) return session.destroyed;
    const before = session.status;
    session.status = 'destroying';
    session.destroyed = (async () => {
      await session.ready;
      try {
        await this.options.launcher.destroy(session);
      } catch (error) {
        session.status = before === 'starting' && session.container ? 'running' : before;
        session.destroyed = undefined;
        this.#info('client_api_server', `Error destroying kasm (${session.kasmId}): ${String(error)}`, 'ERROR');
        throw error;
      }
      session.status = 'stopped';
      session.user.linkTokens.delete(session.kasmId);
      this.#info('client_api_server', `Destroyed kasm (${session.kasmId}) for user (${session.user.username})`);
    })();
    return session.destroyed;
  }

  async destroyAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].filter((s) => s.status !== 'stopped').map((s) => this.#destroy(s)));
  }

  #authenticate(body: Record<string, unknown>, headers: Record<string, string | string[]>): unknown {
    let user: LabUser | undefined;
    if (typeof body.token === 'string' && typeof body.user_id === 'string') {
      user = this.options.users.find((u) => u.userId === String(body.user_id).replaceAll('-', ''));
      const kasmId = [...(user?.linkTokens.entries() ?? [])].find(([, token]) => token === body.token)?.[0];
      if (!user || kasmId === undefined) throw new ApiError(403, 'Invalid or expired link');
      user.linkTokens.delete(kasmId);
    } else {
      user = this.options.users.find((u) => u.username === body.username);
      if (!user || typeof body.password !== 'string' || !sameSecret(body.password, user.password)) {
        throw new ApiError(403, 'Invalid username or password');
      }
    }
    const token = randomUUID();
    this.issued.add(token);
    user.tokens.add(token);
    headers['Set-Cookie'] = this.#loginCookies(user, token);
    this.#info('client_api_server', `Successful authentication attempt for user: (${user.username})`);
    return { user_id: user.userId, username: user.username, token };
  }

  #loginCookies(user: LabUser, token: string): string[] {
    const { faults } = this.options;
    const tokenAttributes = faults.has('cookie-blocked') ? 'SameSite=None' : 'Secure; SameSite=Lax';
    const cookies = [`username=${encodeURIComponent(user.username)}; Path=/; Secure; SameSite=Lax`, `session_token=${token}; Path=/; ${tokenAttributes}`];
    // A token never issued stands for one left behind by an earlier install or app under /desktop.
    if (faults.has('duplicate-cookies')) {
      const stale = randomUUID();
      this.issued.add(stale);
      cookies.push(`session_token=${stale}; Path=/desktop; Secure; SameSite=Lax`);
    }
    return cookies;
  }

  /** Which user the browser's cookies speak for, or why not. */
  #cookieUser(req: http.IncomingMessage): LabUser {
    const cookies = parseCookies(req.headers.cookie);
    const username = cookies.get('username')?.[0];
    const token = cookies.get('session_token')?.[0];
    if (!username || !token) {
      this.#info('client_api_server', `Authenticated request missing required username or token values from (${this.options.proxyContainerIp})`, 'WARNING');
      throw new ApiError(401, 'Missing required username or token');
    }
    const user = this.options.users.find((u) => u.username === decodeURIComponent(username));
    if (!user || !user.tokens.has(token)) {
      this.#info('client_api_server', `Invalid token (${token.slice(0, 8)}…) for user (${username}) at (${this.options.proxyContainerIp})`, 'WARNING');
      throw new ApiError(403, 'Invalid token');
    }
    return user;
  }

  /**
   * The web app's own API calls carry the token it keeps in localStorage in the JSON body (KASM-FACTS §2); only the
   * session path relies on the cookies. Cookies are accepted too, for clients that send nothing else.
   */
  #appUser(req: http.IncomingMessage, body: Record<string, unknown>): LabUser {
    if (typeof body.token !== 'string' || typeof body.username !== 'string') return this.#cookieUser(req);
    const user = this.options.users.find((u) => u.username === body.username);
    if (!user || !user.tokens.has(body.token)) {
      this.#info('client_api_server', `Invalid token for user (${String(body.username)}) at (${this.options.proxyContainerIp})`, 'WARNING');
      throw new ApiError(403, 'Invalid token');
    }
    return user;
  }

  #userImages(req: http.IncomingMessage, body: Record<string, unknown>): unknown {
    this.#appUser(req, body);
    return { images: this.options.images.filter((i) => i.enabled).map(({ image_id, name, friendly_name }) => ({ image_id, name, friendly_name })) };
  }

  #userKasm(req: http.IncomingMessage, body: Record<string, unknown>): unknown {
    const user = this.#appUser(req, body);
    const session = this.#session(body);
    if (session.user !== user) throw new ApiError(403, 'Kasm belongs to another user');
    const { zone } = session;
    return {
      kasm_id: session.kasmId,
      operational_status: session.status,
      proxy_hostname: zone.proxy_hostname,
      proxy_port: zone.proxy_port,
      proxy_path: zone.proxy_path,
    };
  }

  #sessionForUri(req: http.IncomingMessage, user: LabUser): LabSession {
    const uri = String(req.headers['x-original-uri'] ?? '');
    const kasmId = /^\/[^/]+\/([0-9a-f-]{36})\//.exec(uri)?.[1];
    const session = kasmId ? this.sessions.get(kasmId) : undefined;
    if (!session || session.status !== 'running' || !session.container || session.user !== user) {
      throw new ApiError(403, `No running kasm for ${uri}`);
    }
    return session;
  }

  /** Both nginx auth sub-requests end here when the session is fine but the API refuses it anyway. */
  #deny(request: 'kasm_connect' | 'internal_auth', session: LabSession, user: LabUser): never {
    this.#info('client_api_server', `Unauthorized access attempt to kasm (${session.kasmId}) for user (${user.username}) at (${this.options.proxyContainerIp}) for request (${request})`, 'WARNING');
    throw new ApiError(403, 'Unauthorized access');
  }

  #kasmConnect(req: http.IncomingMessage, headers: Record<string, string | string[]>): { status: number } {
    const user = this.#cookieUser(req);
    const session = this.#sessionForUri(req, user);
    if (this.options.faults.has('kasm-connect-denied')) this.#deny('kasm_connect', session, user);
    const uri = String(req.headers['x-original-uri']);
    Object.assign(headers, {
      'Connect-Hostname': session.agent.hostname,
      'Connect-Port': String(session.agent.port),
      'Connect-Path': uri.replace(/^\//, ''),
      'Connect-Auth': this.#connectAuth(session),
      'Connect-Kasm-Id': session.kasmId,
      'Connect-Schema': 'https',
    });
    this.#info('client_api_server', `Authenticated kasm_connect request for (${uri.split('?')[0]}) for user (${user.username})`);
    return { status: 202 };
  }

  #internalAuth(req: http.IncomingMessage, headers: Record<string, string | string[]>): { status: number } {
    const user = this.#cookieUser(req);
    const session = this.#sessionForUri(req, user);
    if (this.options.faults.has('internal-auth-denied')) this.#deny('internal_auth', session, user);
    headers['Connect-Auth'] = this.#connectAuth(session);
    headers['Connect-Kasm-Id'] = session.kasmId;
    return { status: 202 };
  }

  /** The Basic credentials the proxies inject towards the session's KasmVNC: its VNC password, as Kasm stored it. */
  #connectAuth(session: LabSession): string {
    const password = this.options.faults.has('vnc-password-stale') ? `stale-${session.kasmId.slice(0, 8)}` : session.container!.vncPassword;
    return `Basic ${Buffer.from(`kasm_user:${password}`).toString('base64')}`;
  }

  #info(logger: string, message: string, level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' = 'INFO'): void {
    this.options.log.write(kasmApiLine(level, logger, message));
  }
}

/** Python's json.dumps layout (`{"ok": true}`, 12 bytes), which is what kasm_api sends. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: Kasm answers malformed bodies with an error_message too
  }
  throw new ApiError(400, 'Request body must be a JSON object');
}

/** The lab's one workspace, as get_images lists it (a Kasm core image; run_config is a JSON string, as in 1.16). */
export function newImage(version: string): LabImage {
  return {
    image_id: hex32(),
    name: `kasmweb/ubuntu-jammy-desktop:${version}`,
    friendly_name: 'Ubuntu Jammy',
    description: 'Ubuntu Jammy desktop',
    enabled: true,
    cores: 2,
    memory: 2_768_000_000,
    image_src: 'img/thumbnails/ubuntu.png',
    run_config: '{"hostname":"kasm"}',
    exec_config: '{}',
    volume_mappings: {},
    restrict_to_zone: false,
    zone_id: null,
    server_id: null,
    categories: ['Desktop'],
  };
}

export function newUser(username: string, password = randomBytes(12).toString('base64url')): LabUser {
  return { userId: hex32(), username, password, tokens: new Set(), linkTokens: new Map() };
}
