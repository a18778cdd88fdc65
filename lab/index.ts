// The embedded Kasm lab: one process, one temp folder, every server on 127.0.0.0/8.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { Faults } from './faults.ts';
import { writeHistory } from './history.ts';
import { installHostCommands } from './host/install.ts';
import { hex32, KasmApi, newImage, newStore, newUser, type LabAgent, type LabImage, type LabSession, type LabZone, type LaunchedContainer, type SessionLauncher } from './kasm-api.ts';
import { DEFAULT_VERSION, startKasmVnc, type KasmVncHandle } from './kasmvnc.ts';
import { startAgentProxy, startEntry, startWebappProxy, type Listening, type SessionRoute, type Tls } from './proxy.ts';
import { startSshHosts, type SshHostsHandle } from './ssh.ts';
import { ContainerLog, createContainer, paths, readJson, updateContainer, writeJson, writeLabEnvironment, type ContainerState, type HostState, type Role } from './state.ts';

export interface LabOptions {
  webapps?: number;
  agents?: number;
  /** Zones; agents are spread over them in turn. */
  zones?: number;
  faults?: string | string[];
  /** Keep the temp folder after stop (for inspecting logs). */
  keep?: boolean;
  /** How long the websocket-idle-cut fault lets a tunnel live after its 101; default KASM_LAB_IDLE_CUT_MS, else 600. */
  idleCutMs?: number;
  /** Fixed credentials instead of random ones, so a test can plant canaries and look for them afterwards. */
  credentials?: { apiSecret?: string; userPassword?: string };
  /** KasmVNC's log level in new sessions: 100 (KasmVNC up to 1.5.0, the default) or 30 (1.5.1 on). */
  kasmvncLogLevel?: number;
  /** Which update_image forms kasm_api offers (KASM-FACTS Unknowns 8); both unless a test narrows it. */
  updateImageForms?: ReadonlyArray<'admin' | 'public'>;
  /** Bytes of older history in every kasm_api and kasm_proxy log (the lab's own lines follow it); none by default. */
  logHistoryBytes?: number;
}

export interface Lab {
  root: string;
  url: string;
  /** KASM_* variables that point the suite at this lab (secrets included: never print them). */
  env: Record<string, string>;
  envFile: string;
  faults: Faults;
  hosts: HostState[];
  api: KasmApi;
  /** The one workspace, as kasm_api holds it: its run_config is what the debug override changes. */
  workspace: LabImage;
  ssh: SshHostsHandle;
  stop(): Promise<void>;
}

/**
 * The environment a run of the suite against this lab gets, as a user would set it: the lab's variables, its
 * reports and results under `dir`, no colour codes in the output.
 */
export function suiteEnv(lab: Pick<Lab, 'env'>, dir: string, extraEnv: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...lab.env, KASM_ENV: 'lab', KASM_REPORTS_DIR: join(dir, 'reports'), KASM_OUTPUT_DIR: join(dir, 'test-results'), FORCE_COLOR: '0', ...extraEnv };
}

const PRIMARY_HOST = 'kasm.localhost';
/** Another site than PRIMARY_HOST (not a sub-domain of it) that still resolves to loopback in Chromium. */
export const FOREIGN_ZONE_HOST = 'kasm-zone.localhost';
/**
 * upstream-auth-unresolvable's Upstream Auth Address. Its first label is longer than DNS allows (63), so glibc and
 * Node refuse it before any query leaves the machine (curl exit 6 within milliseconds, ENOTFOUND).
 */
export const UNRESOLVABLE_AUTH_HOST = `kasm-internal-lb-${'x'.repeat(60)}.lab`;
export const KASM_VERSION = '1.16.0';
const XVNC_BANNER = `Xvnc ${DEFAULT_VERSION}`;

async function bindable(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, ip, () => probe.close(() => resolve(true)));
  });
}

/** A port on `host` that was free a moment ago and that no lab server takes. */
export async function unusedPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function idleCutMs(option: number | undefined): number {
  const given = option ?? process.env.KASM_LAB_IDLE_CUT_MS ?? '';
  const value = given === '' ? 600 : Number(given);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`idleCutMs (KASM_LAB_IDLE_CUT_MS) must be a whole number of milliseconds above 0, got "${given}"`);
  return value;
}

async function makeTls(ips: string[]): Promise<Tls> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: PRIMARY_HOST }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: PRIMARY_HOST },
          { type: 2, value: `*.${PRIMARY_HOST}` },
          // Valid for the foreign zone host too, so zone-domain-not-subdomain breaks the cookies and nothing else.
          { type: 2, value: FOREIGN_ZONE_HOST },
          { type: 2, value: 'localhost' },
          ...[...new Set(['127.0.0.1', ...ips])].map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

const shortId = () => randomBytes(6).toString('hex');

/** docker-py takes `environment` as a mapping or as `NAME=value` strings; values become strings either way. */
function runConfigOf(text: string): { environment: Record<string, string>; hostname?: unknown } {
  const parsed = JSON.parse(text || '{}') as { environment?: unknown; hostname?: unknown };
  const env = parsed.environment;
  const pairs: Array<[string, unknown]> = Array.isArray(env)
    ? env.map((entry) => String(entry)).map((entry) => [entry.split('=')[0] ?? '', entry.slice(entry.indexOf('=') + 1)])
    : Object.entries(typeof env === 'object' && env !== null ? env : {});
  return { environment: Object.fromEntries(pairs.map(([k, v]) => [k, String(v)])), hostname: parsed.hostname };
}
const since = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function baseContainer(name: string, image: string, command: string, ports: string, health: ContainerState['health'], createdMinutesAgo: number): ContainerState {
  const id = shortId();
  return { id, name, image, command, created: since(createdMinutesAgo), state: 'running', health, startedAt: since(createdMinutesAgo), ports, hostname: id, env: {} };
}

function roleContainers(role: Role, proxyPort: number): ContainerState[] {
  const proxy = baseContainer('kasm_proxy', `kasmweb/proxy:${KASM_VERSION}`, '/docker-entrypoint.sh nginx -g "daemon off;"', `80/tcp, 0.0.0.0:${proxyPort}->443/tcp, :::${proxyPort}->443/tcp`, null, 8_640);
  if (role === 'agent') {
    return [proxy, baseContainer('kasm_agent', `kasmweb/agent:${KASM_VERSION}`, "/bin/sh -c '/usr/bin/kasm_agent'", '4444/tcp', 'healthy', 8_640)];
  }
  return [
    proxy,
    baseContainer('kasm_api', `kasmweb/api:${KASM_VERSION}`, "/bin/sh -c 'python3 /src/api_server/api_server.py'", '8080/tcp', null, 8_640),
    baseContainer('kasm_manager', `kasmweb/manager:${KASM_VERSION}`, "/bin/sh -c '/usr/bin/kasm_server.so --enable-manager-api'", '8181/tcp', 'healthy', 8_640),
    baseContainer('kasm_share', `kasmweb/share:${KASM_VERSION}`, "/bin/sh -c '/usr/bin/kasm_share.so'", '8182/tcp', 'healthy', 8_640),
  ];
}

interface HostRuntime {
  state: HostState;
  logs: Map<string, ContainerLog>;
}

function addHistory(host: HostRuntime, bytes: number | undefined): void {
  if (!bytes) return;
  for (const container of ['kasm_api', 'kasm_proxy'] as const) {
    const log = host.logs.get(container);
    if (log) writeHistory(log.file, container, bytes);
  }
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const root = mkdtempSync(join(tmpdir(), 'kasm-lab-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  };
  try {
    return await build(root, options, stops, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function build(root: string, options: LabOptions, stops: Array<() => Promise<void>>, stop: () => Promise<void>): Promise<Lab> {
  const faults = new Faults(root);
  faults.set(options.faults);
  const cutAfterMs = idleCutMs(options.idleCutMs);
  const history = options.logHistoryBytes;
  if (history !== undefined && (!Number.isInteger(history) || history < 0 || history > 16 * 1024 ** 3)) {
    throw new RangeError(`logHistoryBytes (--log-history) must be a whole number of bytes from 0 to 16 GiB, got "${history}"`);
  }
  const level = options.kasmvncLogLevel;
  if (level !== undefined && (!Number.isInteger(level) || level < 0 || level > 100)) {
    throw new RangeError(`kasmvncLogLevel (--kasmvnc-log-level, KASM_LAB_KASMVNC_LOG_LEVEL) must be a whole number from 0 to 100, got "${level}"`);
  }
  const separateIps = await bindable('127.0.10.1');
  const ipFor = (role: Role, n: number) => (separateIps ? `127.0.${role === 'webapp' ? 10 : 20}.${n}` : '127.0.0.1');
  const roles: Array<[Role, number]> = [
    ...Array.from({ length: options.webapps ?? 1 }, (_, i) => ['webapp', i + 1] as [Role, number]),
    ...Array.from({ length: options.agents ?? 1 }, (_, i) => ['agent', i + 1] as [Role, number]),
  ];
  const tls = await makeTls(roles.map(([role, n]) => ipFor(role, n)));
  await installHostCommands(root);

  const hosts: HostRuntime[] = roles.map(([role, n]) => ({
    state: { id: `${role}-${n}`, role, hostname: `kasm-${role}-${n}`, ip: ipFor(role, n), proxyPort: 0, proxyListening: true, sshPort: 0, firewall: { ufw: 'inactive', blockedPorts: [] } },
    logs: new Map(),
  }));
  const webapps = hosts.filter((h) => h.state.role === 'webapp');
  const agentHosts = hosts.filter((h) => h.state.role === 'agent');

  const apiKey = randomBytes(6).toString('hex');
  const apiSecret = options.credentials?.apiSecret ?? randomBytes(24).toString('base64url');
  const user = newUser('synthetic@kasm.local', options.credentials?.userPassword);
  const image = newImage(KASM_VERSION);
  const zones: LabZone[] = Array.from({ length: options.zones ?? 1 }, (_, i) => ({
    zone_id: hex32(),
    zone_name: i === 0 ? 'default' : `zone-${i + 1}`,
    allow_origin_domain: '$request_host$',
    upstream_auth_address: '',
    load_balancing_strategy: 'least_load',
    search_alternate_zones: true,
    prioritize_static_agents: true,
    proxy_connections: true,
    proxy_hostname: '$request_host$',
    proxy_path: 'desktop',
    proxy_port: 0,
  }));

  const routes = new Map<string, SessionRoute>();
  const vncs = new Map<string, KasmVncHandle>();
  const launcher: SessionLauncher = {
    async launch(session: LabSession, _image: LabImage, agent: LabAgent): Promise<LaunchedContainer> {
      const container = baseContainer(`${session.user.username.replace(/[^a-zA-Z0-9.]/g, '').slice(0, 12)}_${session.kasmId.slice(0, 8)}`, session.image.name, '/dockerstartup/kasm_default_profile.sh /dockerstartup/vnc_startup.sh /dockerstartup/kasm_startup.sh --wait', '4901/tcp, 5901/tcp, 6901/tcp', null, 0);
      const vncPassword = randomBytes(18).toString('base64url');
      // The agent hands the override to docker run as keyword arguments: environment and hostname are the ones that show.
      const runConfig = runConfigOf(session.image.run_config);
      container.env = { ...runConfig.environment, HOME: '/home/kasm-user', DISPLAY: ':1', VNC_PW: vncPassword, KASM_ID: session.kasmId };
      if (typeof runConfig.hostname === 'string' && runConfig.hostname) container.hostname = runConfig.hostname;
      container.xvncVersion = XVNC_BANNER;
      const log = createContainer(root, agent.hostId, container);
      const logFile = join(paths.container(root, agent.hostId, container.name), 'root', 'home', 'kasm-user', '.vnc', `${container.hostname}:1.log`);
      mkdirSync(join(logFile, '..'), { recursive: true });
      log.write(' ------------------ Xvnc started ------------------');
      const agentIp = hosts.find((h) => h.state.id === agent.hostId)!.state.ip;
      const vnc = await startKasmVnc({ host: agentIp, tls, password: vncPassword, logFile, faults: () => faults.active, version: XVNC_BANNER, logLevel: options.kasmvncLogLevel, desktop: { width: 1024, height: 640, label: session.image.friendly_name } });
      vncs.set(session.kasmId, vnc);
      routes.set(session.kasmId, { host: agentIp, port: vnc.port });
      return { containerName: container.name, containerId: container.id, hostname: container.hostname, containerIp: `172.18.0.${10 + routes.size}`, vncPort: vnc.port, vncPassword };
    },
    async destroy(session: LabSession): Promise<void> {
      routes.delete(session.kasmId);
      await vncs.get(session.kasmId)?.close();
      vncs.delete(session.kasmId);
      if (session.container) rmSync(paths.container(root, session.agent.hostId, session.container.containerName), { recursive: true, force: true });
    },
  };

  for (const host of hosts) {
    mkdirSync(paths.containers(root, host.state.id), { recursive: true });
    writeJson(paths.hostFile(root, host.state.id), host.state);
  }

  const apis: KasmApi[] = [];
  const store = newStore();
  const agents: LabAgent[] = [];
  const webappProxies: Listening[] = [];
  for (const host of webapps) {
    const containers = roleContainers('webapp', 0);
    for (const c of containers) host.logs.set(c.name, createContainer(root, host.state.id, c));
    addHistory(host, options.logHistoryBytes);
    const api = new KasmApi({ host: host.state.ip, store, apiKey, apiSecret, users: [user], images: [image], zones, agents, launcher, log: host.logs.get('kasm_api')!, faults, proxyContainerIp: '172.18.0.9', updateImageForms: options.updateImageForms });
    await api.listen();
    stops.push(() => api.stop());
    apis.push(api);
    const proxy = await startWebappProxy({ host: host.state.ip, port: separateIps ? webappProxies[0]?.port : undefined, tls, log: host.logs.get('kasm_proxy')!, apiUrl: () => new URL(`http://${host.state.ip}:${api.port}`), faults });
    stops.push(() => proxy.close());
    webappProxies.push(proxy);
    host.state.proxyPort = proxy.port;
  }
  const upstreamAuthAddress = `${webapps[0]!.state.ip}:${webapps[0]!.state.proxyPort}`;
  for (const zone of zones) zone.upstream_auth_address = upstreamAuthAddress;

  for (const [index, host] of agentHosts.entries()) {
    const zone = zones[index % zones.length]!;
    const containers = roleContainers('agent', 0);
    for (const c of containers) host.logs.set(c.name, createContainer(root, host.state.id, c));
    addHistory(host, options.logHistoryBytes);
    const proxy = await startAgentProxy({
      host: host.state.ip,
      port: separateIps ? agents[0]?.port : undefined,
      tls,
      log: host.logs.get('kasm_proxy')!,
      upstreamAuthAddress: () => zone.upstream_auth_address,
      route: (kasmId) => routes.get(kasmId),
      faults,
      webappAddresses: webapps.map((h) => h.state.ip),
    });
    stops.push(() => proxy.close());
    host.state.proxyPort = proxy.port;
    agents.push({ agent_id: hex32(), server_id: hex32(), hostname: host.state.ip, port: proxy.port, hostId: host.state.id, zone_id: zone.zone_id, enabled: true });
  }

  for (const host of hosts) {
    updateContainer(root, host.state.id, 'kasm_proxy', { ports: `80/tcp, 0.0.0.0:${host.state.proxyPort}->443/tcp, :::${host.state.proxyPort}->443/tcp` });
  }

  const entry = await startEntry({ host: '127.0.0.1', tls, webapps: () => webapps.map((h) => ({ host: h.state.ip, port: h.state.proxyPort })), faults, idleCutMs: cutAfterMs });
  stops.push(() => entry.close());
  stops.push(async () => {
    for (const api of apis) await api.destroyAll().catch(() => undefined);
  });

  for (const host of hosts) {
    writeJson(paths.hostFile(root, host.state.id), host.state);
    // The SSH shells' HOME is the host folder, and curl reads $HOME/.curlrc: the real curl then leaves from the host's
    // own address as a process on that host would, which is what agent-unreachable tells apart.
    writeFileSync(join(paths.host(root, host.state.id), '.curlrc'), `interface = ${host.state.ip}\n`);
  }
  const ssh = await startSshHosts({ root, hosts: hosts.map((h) => h.state) });
  stops.push(() => ssh.close());
  for (const host of hosts) host.state.sshPort = ssh.hosts.find((h) => h.id === host.state.id)!.port;
  // Taken after every lab server has its port, so none of them can land on it later.
  const deadPort = await unusedPort();
  const deadAuthPort = await unusedPort(webapps[0]!.state.ip);
  const saveHost = (host: HostRuntime) => writeJson(paths.hostFile(root, host.state.id), host.state);

  const applyFaults = async () => {
    const proxyDown = faults.has('proxy-not-listening');
    for (const [index, host] of webapps.entries()) {
      const proxy = webappProxies[index]!;
      if (proxyDown && proxy.listening) {
        host.state.proxyListening = false;
        saveHost(host);
        await proxy.close();
      } else if (!proxyDown && !proxy.listening) {
        await proxy.reopen();
        host.state.proxyListening = true;
        saveHost(host);
      }
    }
    const apiDown = faults.has('api-down');
    for (const [index, host] of webapps.entries()) {
      const api = apis[index]!;
      if (apiDown && api.listening) {
        await api.stop();
        updateContainer(root, host.state.id, 'kasm_api', { state: 'exited' });
      } else if (!apiDown && !api.listening) {
        await api.listen();
        updateContainer(root, host.state.id, 'kasm_api', { state: 'running', startedAt: new Date().toISOString() });
      }
    }
  };
  // The zone is read per request, so a fault that edits it must land before faults.set() returns.
  const applyZoneFaults = () => {
    for (const zone of zones) {
      zone.proxy_port = faults.has('port-mismatch') ? deadPort : 0;
      zone.proxy_hostname = faults.has('zone-domain-not-subdomain') ? FOREIGN_ZONE_HOST : '$request_host$';
      zone.upstream_auth_address = faults.has('upstream-auth-unresolvable')
        ? UNRESOLVABLE_AUTH_HOST
        : faults.has('upstream-auth-unreachable')
          ? `${webapps[0]!.state.ip}:${deadAuthPort}`
          : upstreamAuthAddress;
    }
  };
  // What the SSH stand-ins read is rewritten only when it changes: docker ps dates a container's last change by its file.
  const applyHostFaults = () => {
    const health = faults.has('container-unhealthy') ? 'unhealthy' : 'healthy';
    for (const host of agentHosts) {
      const file = join(paths.container(root, host.state.id, 'kasm_agent'), 'container.json');
      if (readJson<ContainerState>(file).health !== health) updateContainer(root, host.state.id, 'kasm_agent', { health });
      const firewall: HostState['firewall'] = faults.has('host-firewall') ? { ufw: 'active', blockedPorts: [host.state.proxyPort] } : { ufw: 'inactive', blockedPorts: [] };
      if (JSON.stringify(firewall) !== JSON.stringify(host.state.firewall)) {
        host.state.firewall = firewall;
        saveHost(host);
      }
    }
  };
  // Runs one at a time, each reading the set as it is then, so quick on/off switching ends in the last state.
  let applying = Promise.resolve();
  faults.on('change', () => {
    applyZoneFaults();
    applyHostFaults();
    applying = applying.then(applyFaults, applyFaults);
  });
  stops.push(() => applying);
  applyZoneFaults();
  applyHostFaults();
  await applyFaults();

  const url = `https://${PRIMARY_HOST}:${entry.port}`;
  const target = (role: Role) => ssh.hosts.filter((h) => hosts.find((x) => x.state.id === h.id)!.state.role === role).map((h) => `${ssh.user}@${h.host}:${h.port}`).join(',');
  const { env, envFile } = writeLabEnvironment({
    root,
    url,
    apiKey,
    apiSecret,
    user,
    workspace: image.friendly_name,
    ssh: { webapp: [target('webapp')].filter(Boolean), agents: [target('agent')].filter(Boolean), keyFile: ssh.clientKeyFile, knownHostsFile: ssh.knownHostsFile },
    ports: {
      webapp: new Set(webapps.map((h) => h.state.proxyPort)).size === 1 ? webapps[0]!.state.proxyPort : undefined,
      agent: new Set(agentHosts.map((h) => h.state.proxyPort)).size === 1 ? agentHosts[0]!.state.proxyPort : undefined,
    },
  });
  writeJson(paths.lab(root), { root, url, hosts: hosts.map((h) => h.state) });

  return { root, url, env, envFile, faults, hosts: hosts.map((h) => h.state), api: apis[0]!, workspace: image, ssh, stop };
}
