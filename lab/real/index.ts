// The real-parts lab: Kasm's hosts as network namespaces on this machine, with real OpenSSH, sudo, Docker engines,
// nginx and firewalls, and the lab's programs only for what Kasm alone makes (kasm_api, kasm_agent, KasmVNC), each in
// its container. Linux and root only (lab/real/prereqs.ts); everything it makes is gone when it stops.
import { writeLabEnvironment } from '../state.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { projectRoot } from '../../helpers/config.ts';
import { parseFaults, type FaultName } from '../faults.ts';
import { FOREIGN_ZONE_HOST, UNRESOLVABLE_AUTH_HOST, unusedPort } from '../index.ts';
import { hex32, newImage, newUser, type LabAgent, type LabImage, type LabZone } from '../kasm-api.ts';
import { bundleServices } from './bundle.ts';
import { startColleague } from './colleague.ts';
import { clusterWorkDir, IMAGES, KASM_VERSION, makeDatabaseCluster } from './images.ts';
import { kasmDir, startAgent, startWebapp, writeFaults, type Pem } from './kasm.ts';
import { blipWatcher, type Blip } from './blip.ts';
import { lbConf } from './nginx.ts';
import { startRealHosts, type RealHosts } from './hosts.ts';
import { RealLabError } from './run.ts';

export const PRIMARY_HOST = 'kasm.localhost';

/** The faults this lab makes as misconfigurations of its real parts; the others are the in-process lab's still. */
export const REAL_FAULTS: ReadonlySet<FaultName> = new Set<FaultName>([
  'websocket-blocked',
  'websocket-upgrade-stripped',
  'websocket-idle-cut',
  'websocket-malformed',
  'cookie-stripped',
  'no-resources',
  'kasm-connect-denied',
  'internal-auth-denied',
  'cookie-blocked',
  'duplicate-cookies',
  'vnc-password-stale',
  'container-unhealthy',
  'kasmvnc-crash',
  'port-mismatch',
  'zone-domain-not-subdomain',
  'upstream-auth-unresolvable',
  'upstream-auth-unreachable',
  'api-down',
  'proxy-stale-dns',
  'proxy-not-listening',
  'agent-unreachable',
  'host-firewall',
  'tls-inspecting-proxy',
  'network-blip',
]);

/**
 * host-firewall: a hardened agent whose INPUT policy drops what no rule accepts, with SSH and loopback allowed but
 * the usual `ESTABLISHED,RELATED` rule missing. Docker's DNAT sends other hosts' connections to kasm_proxy through
 * FORWARD, so the WebApp servers still reach it; the answers to the host's own curl come back through INPUT, and are
 * dropped: the guide's "if that command hung ... your local system likely has a firewall running".
 */
const HARDENED_INPUT = [['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'], ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'], ['-P', 'INPUT', 'DROP']];

/** kasm_api as the faults want it: running, stopped (`docker stop kasm_api`), or restarted at a new address. */
type ApiState = 'up' | 'down' | 'moved';
const apiStateFor = (active: ReadonlySet<FaultName>): ApiState => (active.has('api-down') ? 'down' : active.has('proxy-stale-dns') ? 'moved' : 'up');
/** Where kasm_api comes back for proxy-stale-dns: an address of kasm_default_network no container is given first. */
const MOVED_API_IP = '172.18.255.250';

/** The zone settings an administrator got wrong, one per fault; the others as installed. */
export function zoneEdit(active: ReadonlySet<FaultName>, installed: { upstreamAuthAddress: string; webappAddress: string; deadPort: number }): Pick<LabZone, 'proxy_port' | 'proxy_hostname' | 'upstream_auth_address'> {
  return {
    // A Proxy Port where clients reach another, as after an install on 8443 behind a proxy on 443 (KASM-FACTS, Zones);
    // a loopback port nothing serves, since the browser runs on this machine.
    proxy_port: active.has('port-mismatch') ? installed.deadPort : 0,
    proxy_hostname: active.has('zone-domain-not-subdomain') ? FOREIGN_ZONE_HOST : '$request_host$',
    upstream_auth_address: active.has('upstream-auth-unresolvable')
      ? UNRESOLVABLE_AUTH_HOST
      : active.has('upstream-auth-unreachable')
        ? `${installed.upstreamAuthAddress}:8443`
        : // An inspecting device sits on the way between servers: the agents call the WebApp server's address itself.
          active.has('tls-inspecting-proxy')
          ? installed.webappAddress
          : installed.upstreamAuthAddress,
  };
}

export interface RealLabOptions {
  webapps?: number;
  agents?: number;
  faults?: string | string[];
  keep?: boolean;
  credentials?: { apiSecret?: string; userPassword?: string };
  kasmvncLogLevel?: number;
  /** websocket-idle-cut: the load balancer's proxy_read_timeout, in seconds. */
  idleCutSeconds?: number;
  /** false: no other user's session beside the suite's (lab/real/colleague.ts). */
  colleague?: boolean;
}

export interface KasmState {
  sessions: Array<{ kasmId: string; status: string; username: string; agent: string; container?: string }>;
  issued: string[];
  images: LabImage[];
}

export interface RealLab {
  kind: 'real';
  root: string;
  url: string;
  env: Record<string, string>;
  envFile: string;
  hosts: RealHosts;
  faults: { readonly active: ReadonlySet<FaultName>; set(list: string | string[] | undefined): Promise<void> };
  /** What kasm_api holds (sessions, every token it handed out, the workspaces), through its control socket. */
  kasm(): Promise<KasmState>;
  startMs: number;
  /** The other user's session kept busy beside the suite's, when there is one. */
  colleagueKasmId: string | undefined;
  stop(): Promise<void>;
}

const altNames = (ips: string[]) => [...[PRIMARY_HOST, `*.${PRIMARY_HOST}`, 'localhost', FOREIGN_ZONE_HOST].map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))];

async function makePem(ips: string[]): Promise<Pem> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: PRIMARY_HOST }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: altNames(ips) }] });
  return { key: pems.private, cert: pems.cert };
}

/** tls-inspecting-proxy: the device's CA, and the certificate it mints with it for the hosts it intercepts. */
export const INSPECTOR_CA = 'Example Corp TLS Inspection CA';

async function makeInspectorPem(ips: string[]): Promise<Pem> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: INSPECTOR_CA }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true, critical: true }] });
  const leaf = await selfsigned.generate([{ name: 'commonName', value: PRIMARY_HOST }], { keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert }, extensions: [{ name: 'subjectAltName', altNames: altNames(ips) }] });
  return { key: leaf.private, cert: leaf.cert };
}

/** The device listens on the load balancer's host, on a port of its own. */
const INSPECTOR_PORT = 9443;

function control<T>(socketPath: string, path: string, method = 'GET', body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method, timeout: 60_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as T);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new RealLabError(`kasm_api's control socket did not answer ${path}`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Whether https://127.0.0.1:<port><path> answers 200 (the lab's own certificate). */
function answers(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path, servername: PRIMARY_HOST, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new RealLabError(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startRealLab(options: RealLabOptions = {}): Promise<RealLab> {
  const started = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'kasm-real-lab-'));
  let hosts: RealHosts | undefined;
  let blip: Blip | undefined;
  const stop = async () => {
    blip?.disarm();
    await hosts?.stop();
    if (!options.keep) rmSync(root, { recursive: true, force: true });
    rmSync(clusterWorkDir(join(root, 'kasm_db-cluster')), { recursive: true, force: true });
  };
  try {
    const webappCount = options.webapps ?? 1;
    if (webappCount !== 1) throw new RealLabError('the real-parts lab has one WebApp server for now (kasm_api keeps its database in memory)');
    const bundleDir = join(root, 'bundle');
    const bundling = bundleServices(bundleDir);
    const dbCluster = join(root, 'kasm_db-cluster');
    const clustering = makeDatabaseCluster(dbCluster);
    hosts = await startRealHosts({
      root,
      webapps: webappCount,
      agents: options.agents ?? 1,
      projectRoot,
      images: (role) => (role === 'webapp' ? [IMAGES.proxy, IMAGES.api, IMAGES.manager, IMAGES.share, IMAGES.db, IMAGES.redis] : [IMAGES.proxy, IMAGES.agent, IMAGES.desktop]),
    });
    const realFaults = (list: string | string[] | undefined) => {
      const names = parseFaults(list);
      const pending = names.filter((f) => !REAL_FAULTS.has(f));
      if (pending.length) throw new RealLabError(`the real-parts lab has no form of ${pending.join(', ')} yet (KASM_LAB_KIND=in-process has)`);
      return new Set(names);
    };
    let active = realFaults(options.faults);
    const webapps = hosts.hosts.filter((h) => h.role === 'webapp').map((h) => h.host);
    const agentHosts = hosts.hosts.filter((h) => h.role === 'agent').map((h) => h.host);
    const lb = hosts.byId('lb');
    const ips = hosts.hosts.map((h) => h.host.spec.ip);
    const [pem, inspectorPem] = await Promise.all([makePem(ips), makeInspectorPem(ips)]);
    await bundling;
    const clustered = await clustering;

    const apiKey = randomBytes(6).toString('hex');
    const apiSecret = options.credentials?.apiSecret ?? randomBytes(24).toString('base64url');
    const user = newUser('synthetic@kasm.local', options.credentials?.userPassword);
    const colleagueUser = newUser('colleague@kasm.local');
    const image: LabImage = { ...newImage(KASM_VERSION), name: IMAGES.desktop.tag };
    const webappIp = webapps[0]!.spec.ip;
    // Kasm's default Upstream Auth Address: `proxy`, kasm_proxy's alias on kasm_default_network, so each agent's
    // internal_auth goes to its own kasm_proxy, which passes /api/ on to the WebApp server (lab/real/nginx.ts).
    const installed = { upstreamAuthAddress: 'proxy', webappAddress: webappIp, deadPort: await unusedPort() };
    const zone: LabZone = { zone_id: hex32(), zone_name: 'default', allow_origin_domain: '$request_host$', load_balancing_strategy: 'least_load', search_alternate_zones: true, prioritize_static_agents: true, proxy_connections: true, proxy_path: 'desktop', ...zoneEdit(active, installed) };
    const agents: LabAgent[] = agentHosts.map((h) => ({ agent_id: hex32(), server_id: hex32(), hostname: h.spec.ip, port: 443, hostId: h.spec.id, zone_id: zone.zone_id, enabled: true }));
    const agentToken = randomBytes(24).toString('base64url');
    const faultList = () => [...active];

    await Promise.all([
      ...webapps.map((host) => startWebapp(host, { bundleDir, pem, dbCluster: clustered ? dbCluster : undefined, faults: faultList(), api: { apiKey, apiSecret, users: [user, colleagueUser], images: [image], zones: [zone], agents, agentToken, proxyContainerIp: '172.18.0.5' } })),
      ...agentHosts.map((host) => startAgent(host, { bundleDir, pem, token: agentToken, kasmvncLogLevel: options.kasmvncLogLevel ?? 100, faults: faultList(), manager: `${webappIp}:443` })),
    ]);

    const lbDir = join(lb.dir, 'nginx');
    mkdirSync(join(lbDir, 'certs'), { recursive: true });
    writeFileSync(join(lbDir, 'certs', 'kasm_nginx.crt'), pem.cert);
    writeFileSync(join(lbDir, 'certs', 'kasm_nginx.key'), pem.key, { mode: 0o600 });
    writeFileSync(join(lbDir, 'certs', 'inspector.crt'), inspectorPem.cert);
    writeFileSync(join(lbDir, 'certs', 'inspector.key'), inspectorPem.key, { mode: 0o600 });
    mkdirSync(join(lb.dir, 'log', 'nginx'), { recursive: true });
    const writeLb = () => writeFileSync(join(lbDir, 'nginx.conf'), lbConf({ listen: `${lb.spec.ip}:443`, webapps: webapps.map((w) => `${w.spec.ip}:443`), faults: active, idleCutSeconds: options.idleCutSeconds ?? 2, inspectorListen: `${lb.spec.ip}:${INSPECTOR_PORT}`, blipMarker: '/etc/nginx/blip-pending' }).replaceAll('/var/log/nginx/', `${join(lb.dir, 'log', 'nginx')}/`));
    writeLb();
    // network-blip: one cut each time the fault is switched on, as in the in-process lab.
    blip = blipWatcher(join(lbDir, 'blip-pending'), join(lb.dir, 'log', 'nginx', 'access.log'));
    if (active.has('network-blip')) blip.arm();
    await lb.exec(['/usr/sbin/nginx', '-c', '/etc/nginx/nginx.conf']);
    const published = await hosts.relay.publish(lb.spec.ip, 443);
    const url = `https://${PRIMARY_HOST}:${published.port}`;

    const controlSocket = join(kasmDir(webapps[0]!, 'api'), 'control.sock');
    await waitFor('kasm_api did not answer on its control socket', 60_000, async () => Boolean(await control<KasmState>(controlSocket, '/state')));

    // Other users' sessions are the normal state of a Kasm in use: one colleague's, busy the whole time. It starts as
    // soon as the WebApp server's kasm_proxy answers, while Docker's first health probes are still to come.
    const direct = await hosts.relay.publish(webappIp, 443);
    const newColleague = () => (options.colleague === false ? undefined : startColleague({ port: direct.port, apiKey, apiSecret, user: colleagueUser, image }));
    const colleagueStarting = waitFor("the WebApp server's kasm_proxy did not answer", 60_000, () => answers(direct.port, '/api/__healthcheck')).then(newColleague);
    colleagueStarting.catch(() => undefined);
    await waitFor('the Kasm containers did not all come up', 60_000, async () => {
      for (const host of [...webapps, ...agentHosts]) {
        const { stdout } = await host.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
        // Settled: every container up and its health decided (container-unhealthy makes kasm_agent's unhealthy).
        if (/starting|Exited|Restarting/.test(stdout) || !stdout.includes('kasm_proxy')) return false;
      }
      return true;
    });

    let colleague = await colleagueStarting;

    // kasm_api keeps its database in memory (the lab has no kasm_db yet): a restarted kasm_api has no sessions, so the
    // colleague's is ended before and begun again after, and nobody works while Kasm is down.
    const webapp = webapps[0]!;
    let apiState: ApiState = 'up';
    // proxy-not-listening: kasm_proxy stopped (nginx is its only process), so nothing listens on the WebApp port.
    let proxyDown = false;
    const setProxy = async (down: boolean) => {
      if (down === proxyDown) return;
      await webapp.docker([down ? 'stop' : 'start', 'kasm_proxy'], { timeoutMs: 30_000 });
      proxyDown = down;
    };
    const setApi = async (want: ApiState) => {
      if (want === apiState) return;
      colleague?.stop();
      colleague = undefined;
      if (apiState === 'up') await control(controlSocket, '/destroy-all', 'POST').catch(() => undefined);
      if (apiState !== 'down') await webapp.docker(['stop', 'kasm_api'], { timeoutMs: 30_000 });
      if (want === 'moved' || apiState === 'moved') {
        // The guide's story: kasm_api restarted on its own and came back at another address; kasm_proxy (nginx)
        // resolved kasm_api once, at its start, and still sends to the old one.
        await webapp.docker(['network', 'disconnect', 'kasm_default_network', 'kasm_api']);
        await webapp.docker(['network', 'connect', ...(want === 'moved' ? ['--ip', MOVED_API_IP] : []), '--alias', 'kasm-api', 'kasm_default_network', 'kasm_api']);
      }
      apiState = want;
      if (want === 'down') return;
      await webapp.docker(['start', 'kasm_api'], { timeoutMs: 30_000 });
      // Mended as the guide says, Kasm's services restarted in order: kasm_proxy resolves kasm_api again.
      if (want === 'up' && !proxyDown) await webapp.docker(['kill', '-s', 'HUP', 'kasm_proxy']);
      await waitFor('kasm_api did not answer on its control socket after its restart', 60_000, async () => Boolean(await control<KasmState>(controlSocket, '/state')));
      if (want === 'up') colleague = await newColleague();
    };
    await setApi(apiStateFor(active));
    await setProxy(active.has('proxy-not-listening'));
    let hardened = false;
    const setFirewalls = async () => {
      // agent-unreachable: a network firewall between the WebApp servers and the agents drops Kasm's port.
      await hosts!.network.setSwitchRules(active.has('agent-unreachable') ? webapps.flatMap((w) => agentHosts.map((a) => `ip saddr ${w.spec.ip} ip daddr ${a.spec.ip} tcp dport 443 drop`)) : []);
      const want = active.has('host-firewall');
      if (want === hardened) return;
      for (const host of agentHosts) {
        if (want) for (const rule of HARDENED_INPUT) await host.exec(['/usr/sbin/iptables', ...rule]);
        else for (const rule of [['-P', 'INPUT', 'ACCEPT'], ['-F', 'INPUT']]) await host.exec(['/usr/sbin/iptables', ...rule]);
      }
      hardened = want;
    };
    // tls-inspecting-proxy: the agents' connections to the WebApp servers' port go to the inspecting device instead,
    // as a transparent one on their way takes them: DNAT in each agent's namespace, for its containers (PREROUTING)
    // and for the host itself (OUTPUT). Only the nat table: the host's firewall (filter) stays as it was.
    let diverted = false;
    const setInspection = async () => {
      const want = active.has('tls-inspecting-proxy');
      if (want === diverted) return;
      for (const host of agentHosts) {
        for (const chain of ['PREROUTING', 'OUTPUT']) {
          for (const w of webapps) await host.exec(['/usr/sbin/iptables', '-t', 'nat', want ? '-I' : '-D', chain, '-p', 'tcp', '-d', w.spec.ip, '--dport', '443', '-j', 'DNAT', '--to-destination', `${lb.spec.ip}:${INSPECTOR_PORT}`]);
        }
      }
      diverted = want;
    };
    await setFirewalls();
    const { ssh } = hosts;
    const { env, envFile } = writeLabEnvironment({
      root,
      url,
      apiKey,
      apiSecret,
      user,
      workspace: image.friendly_name,
      ssh: { webapp: webapps.map((h) => `${ssh.user}@${h.spec.ip}`), agents: agentHosts.map((h) => `${ssh.user}@${h.spec.ip}`), jump: `${ssh.user}@${ssh.bastion.host}:${ssh.bastion.port}`, keyFile: ssh.keyFile, knownHostsFile: ssh.knownHostsFile },
      ports: { webapp: 443, agent: 443 },
    });

    const setFaults = async (list: string | string[] | undefined) => {
      const previous = active;
      active = realFaults(list);
      if (!active.has('proxy-not-listening')) await setProxy(false);
      await setApi(apiStateFor(active));
      await setProxy(active.has('proxy-not-listening'));
      await setFirewalls();
      // With kasm_api stopped its zone cannot be edited; it starts again with the one it was given.
      if (apiState !== 'down') await control(controlSocket, '/zone', 'POST', zoneEdit(active, installed));
      for (const host of webapps) writeFaults(host, 'webapp', faultList());
      for (const host of agentHosts) writeFaults(host, 'agent', faultList());
      if (!active.has('network-blip')) blip?.disarm();
      else if (!previous.has('network-blip')) blip?.arm();
      writeLb();
      await lb.exec(['/usr/sbin/nginx', '-s', 'reload']);
      await setInspection();
    };
    const kasm = () => control<KasmState>(controlSocket, '/state');
    const stopAll = async () => {
      colleague?.stop();
      await control(controlSocket, '/destroy-all', 'POST').catch(() => undefined);
      await stop();
    };
    return {
      kind: 'real',
      root,
      url,
      env,
      envFile,
      hosts,
      faults: { get active() { return active; }, set: setFaults },
      kasm,
      startMs: Date.now() - started,
      get colleagueKasmId() {
        return colleague?.kasmId;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
