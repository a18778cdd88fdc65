// The verdicts of Validate Session Authorization's reachability half: a WebApp server's health curl to each agent
// (webapp.agent-reachable), and each agent's to the zone's Upstream Auth Address (agent.upstream-auth-reachable),
// from what the spec ran on the hosts. Evidence in, each host's outcome out.
import { isIP } from 'node:net';
import type { TargetOutcome } from '../fixtures/check.ts';
import type { NetworkNames } from '../logs/docker-ps.ts';
import { classifyCurl, type CurlClass, type PresentedCertificate } from '../logs/curl.ts';
import { judgeTlsInterception, withInterception } from './tls-interception.ts';

/** A command's result as the host gave it. */
export interface CurlRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const ADVICE: Partial<Record<CurlClass['code'], string>> = {
  DNS: 'the name does not resolve from this server: add it to the internal DNS (or /etc/hosts), or use an address this server can resolve',
  REFUSED_OR_NO_ROUTE: 'nothing answers there from this server: check routing, security groups and firewalls between the servers, and that kasm_proxy listens on that port',
  TIMEOUT: 'the connection hangs: a firewall or security group drops the traffic between the servers',
  TLS: 'the TLS handshake failed: a forward proxy or TLS-inspecting device sits between the servers; exempt this traffic from inspection',
};

/** A health curl: {"ok": true} passes; anything else fails with what it means and what to do. */
export function judgeHealthCurl(url: string, run: CurlRun, remediation: string): TargetOutcome {
  const curl = classifyCurl(run);
  const evidence = { url, exitCode: run.exitCode, code: curl.code, httpStatus: curl.httpStatus, body: curl.body, meaning: curl.meaning };
  if (curl.ok) return { status: 'pass', summary: `${url} answered {"ok": true}`, evidence };
  return {
    status: 'fail',
    // A hang or a cut connection may not happen twice; a refusal, a name that does not resolve or a TLS error will.
    transient: curl.code === 'TIMEOUT' || run.exitCode === 52 || run.exitCode === 56,
    summary: `${url}: ${curl.meaning}${run.exitCode ? ` (curl exit ${run.exitCode})` : ''}`,
    remediation: `${ADVICE[curl.code] ? `${ADVICE[curl.code]}. ` : ''}${remediation}`,
    evidence,
  };
}

export const AGENT_ADDRESS_FIX = 'Use the address in Admin > Infrastructure > Docker Agents; it must resolve and be reachable from every WebApp server.';

export interface AgentReachEvidence {
  /** Each WebApp server's outcome per agent (`webapp-1 -> 10.0.1.20:443`), or its SSH failure (`webapp-1`). */
  results: Array<{ target: string; outcome: TargetOutcome }>;
  /** Agents Kasm lists (Infrastructure > Docker Agents) that KASM_SSH_AGENTS does not name. */
  agentsWithoutSsh: string[];
}

/** webapp.agent-reachable: each pair's outcome; when no WebApp server reaches any agent, that is why no session starts. */
export function judgeAgentReachability(e: AgentReachEvidence): Array<{ target: string; outcome: TargetOutcome }> {
  const noneReached = e.results.length > 0 && e.results.every((r) => r.outcome.status === 'fail');
  return [
    ...e.results.map((r) => ({ target: r.target, outcome: noneReached ? { ...r.outcome, explains: ['api.session-create' as const] } : r.outcome })),
    ...e.agentsWithoutSsh.map((agent) => ({
      target: `${agent} (SSH)`,
      outcome: { status: 'warn' as const, summary: `agent ${agent} is in Kasm (Infrastructure > Docker Agents) but not in KASM_SSH_AGENTS: its host checks did not run`, remediation: 'Add it to KASM_SSH_AGENTS so every agent is checked.' },
    })),
  ];
}

/**
 * How the agent's kasm_proxy reaches the Upstream Auth Address's host: one of kasm_proxy's own names on its Docker
 * network (Kasm's default, `proxy`, is its alias on kasm_default_network) is reached there, not through the host's
 * resolver; `unknown` for a single label when kasm_proxy's networks could not be read or list none (other containers'
 * names on the network are not read: a single label that is one of them and does not resolve on the host fails).
 */
export type UpstreamRoute =
  | { via: 'host' }
  | { via: 'docker'; container: string; network: string; address: string }
  | { via: 'unknown'; container: string; why: string };

/** `networks` is kasm_proxy's `docker inspect` (parseNetworkNames), or why it could not be read. */
export function upstreamRoute(host: string, container: string, networks: NetworkNames[] | { unread: string }): UpstreamRoute {
  if (isIP(host.replace(/^\[|\]$/g, ''))) return { via: 'host' };
  const name = host.toLowerCase();
  if (!Array.isArray(networks)) return name.includes('.') ? { via: 'host' } : { via: 'unknown', container, why: networks.unread };
  if (networks.length === 0) return name.includes('.') ? { via: 'host' } : { via: 'unknown', container, why: 'docker inspect listed no IPv4 network for it' };
  const on = networks.find((n) => n.names.some((alias) => alias.toLowerCase() === name)) ?? (name === container.toLowerCase() ? networks[0] : undefined);
  return on ? { via: 'docker', container, network: on.network, address: on.address } : { via: 'host' };
}

export interface UpstreamAuthEvidence {
  /** The zone the address is from; undefined for a pasted curl (analyze), which names none and ran no inspect. */
  zone?: string;
  url: string;
  route: UpstreamRoute;
  curl: CurlRun;
  /** What the agent and each WebApp server were shown for the URL (read only for an address outside Docker). */
  agentCertificate?: PresentedCertificate;
  webappCertificates: Array<{ name: string; certificate: PresentedCertificate }>;
}

export const upstreamAuthFix = (zone: string | undefined) =>
  `${zone ? `Zone "${zone}": set` : 'Set'} Admin > Infrastructure > Zones > Upstream Auth Address to an internal load balancer in front of the WebApp servers, or an internal DNS name for them, that every agent can resolve and reach without TLS inspection; then destroy existing sessions.`;

/** agent.upstream-auth-reachable, for one agent and one zone's address. */
export function judgeUpstreamAuth(e: UpstreamAuthEvidence): TargetOutcome {
  const host = new URL(e.url).hostname;
  const { route } = e;
  if (route.via === 'docker') {
    const where = `${host} is ${route.container}'s name on Docker network ${route.network} (${route.address}), where the agent's kasm_proxy resolves it`;
    const outcome = judgeHealthCurl(e.url, e.curl, upstreamAuthFix(e.zone));
    const evidence = { ...outcome.evidence, resolvedIn: { container: route.container, network: route.network, address: route.address } };
    if (outcome.status === 'pass') return { ...outcome, summary: `${outcome.summary}; ${where}`, evidence };
    return {
      ...outcome,
      summary: `${outcome.summary}; ${where}`,
      remediation: `The agent's internal_auth goes to ${route.container} on the agent itself, which must pass /api/ on to the WebApp servers: read \`sudo docker logs --tail 50 ${route.container}\` on the agent. ${outcome.remediation ?? ''}`.trim(),
      evidence,
    };
  }
  const outcome = judgeHealthCurl(e.url, e.curl, upstreamAuthFix(e.zone));
  if (route.via === 'unknown' && outcome.evidence?.code === 'DNS') {
    return {
      status: 'warn',
      summary: `not judged: ${host} does not resolve on the agent host, and ${route.container}'s Docker networks could not be read (${route.why}) to see whether ${host} is one of its container names there (Kasm's default Upstream Auth Address, \`proxy\`, is kasm_proxy's alias on kasm_default_network, which only the containers resolve)`,
      remediation: `${e.zone === undefined ? 'Check' : 'Let the suite run `docker inspect` on the agents (the sudoers rule in the README), or check'} by hand on the agent: \`sudo docker exec ${route.container} getent hosts ${host}\` (and \`sudo docker exec ${route.container} curl -sk https://${host}/api/__healthcheck\` where the image has curl).`,
      evidence: { ...outcome.evidence, networksUnread: route.why },
    };
  }
  return withInterception(outcome, judgeTlsInterception({ url: e.url, agent: e.agentCertificate, webapps: e.webappCertificates }));
}

/** Several addresses' outcomes for one agent: the first failure, else the first warning, else every pass together. */
export function worstOutcome(outcomes: TargetOutcome[]): TargetOutcome {
  return (
    outcomes.find((o) => o.status === 'fail') ??
    outcomes.find((o) => o.status === 'warn') ?? { status: 'pass', summary: outcomes.map((o) => o.summary).join('; '), evidence: { checked: outcomes.map((o) => o.evidence) } }
  );
}
