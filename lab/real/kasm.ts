// Kasm on the real-parts lab's hosts: the containers a Kasm install runs, named and tagged as Kasm's, on each host's
// own Docker engine and `kasm_default_network`; kasm_proxy is nginx, the rest are the lab's programs for what only
// Kasm makes (lab/real/services/). Each host's Kasm files live in <host dir>/kasm/.
import { chownSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Service } from './bundle.ts';
import type { RealHost } from './host.ts';
import { IMAGES } from './images.ts';
import { agentProxyConf, webappProxyConf } from './nginx.ts';
import { run } from './run.ts';
import type { AgentSettings } from './services/agent.ts';
import type { ApiSettings } from './services/api.ts';

const WWW = fileURLToPath(new URL('../www/', import.meta.url));
const NETWORK = 'kasm_default_network';

export interface Pem {
  key: string;
  cert: string;
}

export const kasmDir = (host: RealHost, ...parts: string[]) => join(host.dir, 'kasm', ...parts);

const usr = ['-v', '/usr:/usr:ro', '-v', '/etc/ssl:/etc/ssl:ro'];

/** One of our programs in a Kasm container: plain node on its bundle (lab/real/bundle.ts), mounted read-only. */
function program(bundleDir: string, service: Service, args: string[] = []): { options: string[]; command: string[] } {
  return { options: ['-v', `${bundleDir}:/opt/kasm-lab:ro`], command: ['/usr/bin/node', `/opt/kasm-lab/${service}.mjs`, ...args] };
}

async function runContainer(host: RealHost, name: string, options: string[], image: string, run: { options?: string[]; command: string[] }): Promise<void> {
  await host.docker(['run', '-d', '--name', name, '--restart', 'unless-stopped', '--network', NETWORK, ...options, ...(run.options ?? []), image, ...run.command], { timeoutMs: 60_000 });
}

function writeProxyFiles(host: RealHost, conf: string, pem: Pem): void {
  mkdirSync(kasmDir(host, 'nginx', 'certs'), { recursive: true });
  mkdirSync(kasmDir(host, 'nginx', 'conf.d', 'containers.d'), { recursive: true });
  writeFileSync(kasmDir(host, 'nginx', 'nginx.conf'), conf);
  writeFileSync(kasmDir(host, 'nginx', 'certs', 'kasm_nginx.crt'), pem.cert);
  writeFileSync(kasmDir(host, 'nginx', 'certs', 'kasm_nginx.key'), pem.key, { mode: 0o600 });
}

const proxyContainer = (host: RealHost, extra: string[] = []) =>
  runContainer(host, 'kasm_proxy', [...usr, '-p', '443:443', '--network-alias', 'proxy', '-v', `${kasmDir(host, 'nginx')}:/etc/nginx:ro`, ...extra], IMAGES.proxy.tag, { command: ['/usr/sbin/nginx', '-g', 'daemon off;'] });

export interface WebappOptions {
  bundleDir: string;
  pem: Pem;
  api: ApiSettings;
  faults: string[];
  /** A cluster made for kasm_db (makeDatabaseCluster), copied as the server's database volume. */
  dbCluster?: string;
}

export async function startWebapp(host: RealHost, options: WebappOptions): Promise<void> {
  mkdirSync(kasmDir(host, 'api'), { recursive: true });
  // kasm_db's volume: the lab's cluster when it made one (lab/real/images.ts), else empty for the entrypoint's initdb.
  if (options.dbCluster) await run('/usr/bin/cp', ['-a', options.dbCluster, kasmDir(host, 'db')]);
  else {
    mkdirSync(kasmDir(host, 'db'), { mode: 0o700 });
    chownSync(kasmDir(host, 'db'), 70, 70);
  }
  writeFileSync(kasmDir(host, 'api', 'api.json'), JSON.stringify(options.api), { mode: 0o600 });
  writeFileSync(kasmDir(host, 'api', 'faults.json'), JSON.stringify(options.faults));
  writeProxyFiles(host, webappProxyConf(), options.pem);
  cpSync(WWW, kasmDir(host, 'www'), { recursive: true });
  // kasm_proxy's nginx resolves kasm_api when it starts, so it follows kasm_api, and the rest start beside them.
  await Promise.all([
    runContainer(host, 'kasm_api', [...usr, '--network-alias', 'kasm-api', '-v', `${kasmDir(host, 'api')}:/etc/kasm`], IMAGES.api.tag, program(options.bundleDir, 'api')).then(() => proxyContainer(host, ['-v', `${kasmDir(host, 'www')}:/srv/www:ro`])),
    runContainer(host, 'kasm_manager', usr, IMAGES.manager.tag, program(options.bundleDir, 'service', ['kasm_manager', '8181'])),
    runContainer(host, 'kasm_share', usr, IMAGES.share.tag, program(options.bundleDir, 'service', ['kasm_share', '8182'])),
    // Real PostgreSQL and Redis from this machine's packages, healthy by Kasm's own probes. The lab's kasm_api keeps its
    // database in memory still: these two are what `docker ps` and the container checks meet on a real WebApp server.
    runContainer(host, 'kasm_db', [...usr, '--shm-size', '64m', '-v', `${kasmDir(host, 'db')}:/var/lib/postgresql/data`], IMAGES.db.tag, { command: [] }),
    runContainer(host, 'kasm_redis', usr, IMAGES.redis.tag, { command: [] }),
  ]);
}

export interface AgentOptions {
  bundleDir: string;
  pem: Pem;
  token: string;
  kasmvncLogLevel: number;
  faults: string[];
  /** The WebApp server the agent was installed against (host:port): where its kasm_proxy passes /api/ on. */
  manager: string;
}

export async function startAgent(host: RealHost, options: AgentOptions): Promise<void> {
  mkdirSync(kasmDir(host, 'agent'), { recursive: true });
  mkdirSync(kasmDir(host, 'session'), { recursive: true });
  const settings: AgentSettings = { token: options.token, bundleDir: options.bundleDir, network: NETWORK, kasmvncLogLevel: options.kasmvncLogLevel, sessionEtc: kasmDir(host, 'session') };
  writeFileSync(kasmDir(host, 'agent', 'agent.json'), JSON.stringify(settings), { mode: 0o600 });
  for (const dir of ['agent', 'session']) writeFileSync(kasmDir(host, dir, 'faults.json'), JSON.stringify(options.faults));
  writeProxyFiles(host, agentProxyConf(options.manager), options.pem);
  await runContainer(
    host,
    'kasm_agent',
    [...usr, '-v', '/run/docker.sock:/var/run/docker.sock', '-v', `${kasmDir(host, 'nginx', 'conf.d', 'containers.d')}:/etc/nginx/conf.d/containers.d`, '-v', `${kasmDir(host, 'agent')}:/etc/kasm`],
    IMAGES.agent.tag,
    program(options.bundleDir, 'agent'),
  );
  await proxyContainer(host);
}

/** Rewrites the active faults where the containers read them. */
export function writeFaults(host: RealHost, role: 'webapp' | 'agent', faults: string[]): void {
  for (const dir of role === 'webapp' ? ['api'] : ['agent', 'session']) writeFileSync(kasmDir(host, dir, 'faults.json'), JSON.stringify(faults));
}
