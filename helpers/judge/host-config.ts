// The verdicts of the Server Configuration checks on one host (containers, listening port, local health curl, host
// firewall): what the spec read in, the host's outcome out. Pure, so the unit tests and `analyze` can use them.
import type { TargetOutcome } from '../fixtures/check.ts';
import type { CheckId } from '../diagnosis/catalog.ts';
import type { Role } from '../inventory.ts';
import type { CurlClass } from '../logs/curl.ts';
import { justRestarted, type DockerContainer } from '../logs/docker-ps.ts';
import { blockingRules, type IptablesRules, type UfwStatus } from '../logs/firewall.ts';
import { listensOn, type ListeningSocket } from '../logs/ss.ts';
import type { StaleProxyVerdict } from './stale-proxy.ts';

const REQUIRED: Record<Role, string[]> = {
  webapp: ['kasm_proxy', 'kasm_api', 'kasm_manager', 'kasm_share'],
  agent: ['kasm_proxy', 'kasm_agent'],
};

/** What fails when a host's kasm_proxy is not running. */
const PROXY_SERVES: Record<Role, CheckId[]> = {
  webapp: ['webapp.listening', 'webapp.local-connectivity', 'api.health'],
  agent: ['agent.listening', 'agent.local-connectivity', 'webapp.agent-reachable'],
};

const describeContainer = (c: DockerContainer) => `${c.names || c.id} ${c.status}`;

export interface ContainersEvidence {
  /** The host's role: what its kasm_proxy serves, when it is down. Unknown in a paste. */
  role?: Role;
  /** Every role the host has (a single-server install runs both roles' containers). */
  roles: Role[];
  containers: DockerContainer[];
  unparsed: number;
  /** The port kasm_proxy must publish here; unknown in a paste. */
  port?: number;
  /** `docker ps -a` itself failed on the host: nothing to judge the containers by. */
  failed?: { exitCode: number | null; stderr: string };
  /**
   * The rows are what an engineer pasted (`docker ps | grep kasm`, a trimmed table): a container it does not show is
   * not missing, and every row shown is judged, not only Kasm's own.
   */
  excerpt?: boolean;
}

/** The roles a set of containers shows: kasm_api and its neighbours are a WebApp server's, kasm_agent an agent's. */
export function rolesShown(containers: DockerContainer[]): Role[] {
  const names = new Set(containers.map((c) => c.names));
  return (['webapp', 'agent'] as const).filter((role) => REQUIRED[role].some((name) => name !== 'kasm_proxy' && names.has(name)));
}

/** `evidence.involved` names the containers the outcome is about (analyze quotes their rows). */
export function judgeContainers(e: ContainersEvidence): TargetOutcome {
  if (e.failed) return { status: 'fail', summary: `docker ps -a failed (exit ${e.failed.exitCode}): ${e.failed.stderr.trim().slice(0, 200)}` };
  const required = e.excerpt ? [] : [...new Set(e.roles.flatMap((r) => REQUIRED[r]))];
  const byName = new Map(e.containers.map((c) => [c.names, c]));
  const missing = required.filter((name) => !byName.has(name));
  const judged = e.excerpt ? e.containers : e.containers.filter((c) => c.names.startsWith('kasm_'));
  const down = judged.filter((c) => c.state !== 'up');
  const unhealthy = judged.filter((c) => c.state === 'up' && c.health === 'unhealthy');
  const proxy = byName.get('kasm_proxy');
  const published = proxy?.portMappings.map((m) => m.hostPort) ?? [];
  const evidence = (involved: DockerContainer[]) => ({ containers: judged.map((c) => ({ name: c.names, image: c.image, created: c.created, status: c.status, ports: c.ports })), unparsedLines: e.unparsed, involved: involved.map((c) => c.names || c.id) });
  const wrongPort = proxy && e.port !== undefined && !published.includes(e.port);
  const problems = [
    ...missing.map((name) => `${name} is missing`),
    ...down.map((c) => `${describeContainer(c)}${c.state === 'restarting' ? ' (a restart loop)' : ''}`),
    ...unhealthy.map(describeContainer),
    ...(wrongPort ? [`kasm_proxy publishes ${published.join(', ') || 'no port'}, expected ${e.port}`] : []),
  ];
  if (problems.length) {
    const sick = [...down, ...unhealthy];
    const apiOnly = e.role === 'webapp' && sick.length > 0 && sick.every((c) => c.names === 'kasm_api') && !missing.length;
    // A stopped container is why what it serves fails, however that shows (kasm_api: a 502, or no answer while the
    // kernel waits for the stopped container's address; kasm_proxy: nothing listens): one finding. kasm_api alone
    // is the api hop's.
    const proxyDown = !proxy || proxy.state !== 'up';
    const explains: CheckId[] = [...(apiOnly ? ['api.health' as const] : []), ...(proxyDown && e.role ? PROXY_SERVES[e.role] : [])];
    return { status: 'fail', summary: problems.join('; '), evidence: evidence(wrongPort && proxy ? [...sick, proxy] : sick), ...(apiOnly ? { hop: 'api' as const } : {}), ...(explains.length ? { explains } : {}) };
  }
  // Up a few seconds in a container created long ago: it has just restarted, which Kasm's staff read as a loop.
  const restarted = judged.filter((c) => justRestarted(c));
  if (restarted.length) {
    const together = restarted.length > 1 && restarted.length === judged.length;
    return {
      status: 'warn',
      summary: together
        ? `every container (${restarted.length}) was created ${restarted[0]!.created} but is Up less than a minute: all were just restarted together (Docker, the host or Kasm restarted), or the host's clock jumped`
        : `${restarted.map((c) => `${c.names} (created ${c.created}, ${c.status})`).join('; ')}: just restarted`,
      remediation: 'Run `sudo docker ps -a` again: a container whose Up time stays short restarts in a loop; read `sudo docker logs --tail 100 <name>` for why it exits.',
      evidence: evidence(restarted),
    };
  }
  const starting = judged.filter((c) => c.health === 'starting');
  if (starting.length) return { status: 'warn', summary: `${starting.map(describeContainer).join('; ')}: health checks still starting`, evidence: evidence(starting) };
  const where = e.port !== undefined ? `, kasm_proxy on ${e.port}` : '';
  return { status: 'pass', summary: `${judged.length} ${e.excerpt ? 'containers' : 'Kasm containers'} up${judged.some((c) => c.health) ? ' and healthy' : ''}${where}`, evidence: evidence([]) };
}

export function judgeListening(port: number, sockets: ListeningSocket[]): TargetOutcome {
  const on = listensOn(sockets, port);
  const evidence = { port, listening: sockets.filter((s) => s.port === port) };
  if (!on.ipv4 && !on.ipv6) return { status: 'fail', summary: `nothing listens on port ${port} (ss -ltn)`, evidence };
  if (!on.ipv4) return { status: 'fail', summary: `port ${port} listens on IPv6 only`, evidence };
  if (!on.ipv6) return { status: 'warn', summary: `port ${port} listens on IPv4 but not IPv6`, remediation: 'Clients or agents reaching this server over IPv6 will fail; publish the port on [::] too, or make sure nothing uses IPv6 for it.', evidence };
  return { status: 'pass', summary: `port ${port} listens on IPv4 and IPv6`, evidence };
}

export function judgeFirewall(port: number, ufw: UfwStatus, iptables: IptablesRules): TargetOutcome {
  const blocking = blockingRules(ufw, iptables, port);
  const evidence = { port, ufw: { active: ufw.active, rules: ufw.rules }, iptablesPolicies: iptables.policies, blocking };
  if (blocking.length) {
    return {
      status: 'warn',
      summary: `port ${port} is blocked by ${blocking.map((b) => b.description).join('; ')}`,
      remediation: `Allow the port (\`sudo ufw allow ${port}/tcp\`) or remove the rule. The guide's recovery flushes iptables: it is disruptive (stop Kasm first, set INPUT to ACCEPT before \`iptables -F\`, restart docker to regenerate its rules); this suite never changes firewall rules.`,
      evidence,
    };
  }
  return { status: 'pass', summary: `ufw ${ufw.active === null ? 'not installed' : ufw.active ? 'active' : 'inactive'}; no ufw or iptables rule blocks port ${port}`, evidence };
}

export interface LocalConnectivityEvidence {
  /** The health URL at the server's first user-facing address; undefined when `ip addr` shows none. */
  url?: string;
  curl?: CurlClass;
  evidence: Record<string, unknown>;
  /** judgeStaleProxy's verdict, when kasm_proxy holds an address kasm_api no longer has. */
  stale?: StaleProxyVerdict;
}

export const STALE_PROXY_FIX = "Stop and start Kasm's services in order so kasm_proxy re-resolves the containers: `sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`.";

/** webapp/agent.local-connectivity on one host: the curl through its own user-facing IP, or the stale proxy behind it. */
export function judgeLocalConnectivity(e: LocalConnectivityEvidence): TargetOutcome {
  if (!e.url || !e.curl) return { status: 'warn', summary: 'no user-facing IPv4 address found in ip addr (loopback, docker and bridge interfaces are skipped)', evidence: e.evidence };
  if (e.stale) {
    return { status: 'fail', summary: e.stale.summary, remediation: STALE_PROXY_FIX, evidence: { ...e.evidence, ...(e.stale.evidence ? { proxyError: e.stale.evidence } : {}) }, explains: ['api.health', 'api.session-create'] };
  }
  return judgeLocalCurl(e.url, e.curl, e.evidence);
}

/** The local health curl when no stale proxy explains it: a pass, or what the failure means and where to look. */
export function judgeLocalCurl(url: string, curl: CurlClass, evidence: Record<string, unknown>): TargetOutcome {
  if (curl.ok) return { status: 'pass', summary: `curl ${url} answered {"ok": true}`, evidence };
  return {
    status: 'fail',
    summary: `curl ${url} from the server itself failed: ${curl.meaning}`,
    ...(curl.code === 'REFUSED_OR_NO_ROUTE' || curl.code === 'TIMEOUT' || curl.code === 'OTHER' ? { remediation: 'A refused or hanging local curl while the port listens means a host firewall is in the way: see Host Based Firewalls (ufw status, iptables -S).' } : {}),
    evidence,
  };
}
