// Which servers the server-hop checks look at: the SSH targets from the environment, matched with what Kasm itself
// says (get_agents, get_zones) so the agent address and Upstream Auth Address checked are the ones Kasm uses.
import type { KasmConfig, SshTarget } from './config.ts';
import { KasmApiError, type KasmApiClient } from './kasm-api.ts';

export type Role = 'webapp' | 'agent';

export interface ServerHost {
  role: Role;
  /** How the host appears in findings: the address from the environment. */
  name: string;
  target: SshTarget;
}

export interface KasmAgent {
  agentId: string;
  hostname: string;
  port: number;
  zoneId: string | undefined;
  enabled: boolean;
  /** The SSH target that is this agent, when the environment has one. */
  ssh: ServerHost | undefined;
}

export interface Inventory {
  webapps: ServerHost[];
  agents: ServerHost[];
  /** Agents as Kasm knows them (Infrastructure > Docker Agents), or the SSH agents when get_agents is not readable. */
  kasmAgents: KasmAgent[];
  /** Upstream Auth Addresses (host[:port]) of the zones, resolved for the client-facing URL where it is $request_host$. */
  upstreamAuth: Array<{ zone: string; address: string }>;
  notes: string[];
}

const hostOf = (address: string) => address.replace(/^\[|\](:\d+)?$/g, '').replace(/:\d+$/, '').toLowerCase();

function servers(config: KasmConfig, role: Role): ServerHost[] {
  return (role === 'webapp' ? config.ssh.webapp : config.ssh.agents).map((target) => ({ role, name: target.host + (target.port === 22 ? '' : `:${target.port}`), target }));
}

/**
 * The addresses a host has on its own interfaces (`ip addr`), asked over SSH only for the agents whose SSH address
 * is not one Kasm lists: an agent reached as `127.0.0.1` through a tunnel, or by its public address, while Kasm has
 * its private one. Undefined: the host could not be asked.
 */
export type AddressesOf = (host: ServerHost) => Promise<string[] | undefined>;

export async function readInventory(api: KasmApiClient, config: KasmConfig, addressesOf?: AddressesOf): Promise<Inventory> {
  const webapps = servers(config, 'webapp');
  const agents = servers(config, 'agent');
  const notes: string[] = [];
  const byTarget = (hostname: string) => agents.find((a) => a.target.host.toLowerCase() === hostOf(hostname));
  const own = new Map<ServerHost, string[]>();
  const match = (hostname: string) => byTarget(hostname) ?? agents.find((a) => own.get(a)?.includes(hostOf(hostname)));

  let kasmAgents: KasmAgent[];
  try {
    const { agents: listed = [] } = (await api.call<{ agents?: Array<{ agent_id: string; hostname: string; port?: number; zone_id?: string; enabled?: boolean }> }>('get_agents', {}, { admin: true })).body;
    const unmatched = agents.filter((a) => !listed.some((l) => byTarget(l.hostname) === a));
    if (addressesOf && unmatched.length && listed.some((l) => !byTarget(l.hostname))) {
      await Promise.all(unmatched.map(async (a) => own.set(a, ((await addressesOf(a).catch(() => undefined)) ?? []).map((x) => x.toLowerCase()))));
    }
    kasmAgents = listed.map((a) => ({ agentId: a.agent_id, hostname: a.hostname, port: a.port ?? config.agentPort, zoneId: a.zone_id, enabled: a.enabled !== false, ssh: match(a.hostname) }));
    for (const agent of kasmAgents.filter((k) => k.ssh && !byTarget(k.hostname))) notes.push(`agent ${agent.hostname} is reached over SSH as ${agent.ssh!.name} (an address of its own interfaces)`);
  } catch (error) {
    if (!(error instanceof KasmApiError)) throw error;
    notes.push(`get_agents not readable with this API key (${error.code}): agents are the SSH targets, port ${config.agentPort} (KASM_AGENT_PORT)`);
    kasmAgents = agents.map((a) => ({ agentId: '', hostname: a.target.host, port: config.agentPort, zoneId: undefined, enabled: true, ssh: a }));
  }

  let upstreamAuth: Inventory['upstreamAuth'] = [];
  try {
    const { zones = [] } = (await api.call<{ zones?: Array<{ zone_name: string; upstream_auth_address?: string }> }>('get_zones')).body;
    upstreamAuth = zones.map((z) => ({ zone: z.zone_name, address: resolveAddress(z.upstream_auth_address ?? '', config) }));
  } catch (error) {
    if (!(error instanceof KasmApiError)) throw error;
    notes.push(`get_zones not readable with this API key (${error.code})`);
  }
  if (config.upstreamAuthAddress) upstreamAuth = [{ zone: 'KASM_UPSTREAM_AUTH_ADDRESS', address: config.upstreamAuthAddress }, ...upstreamAuth.filter((u) => u.address !== config.upstreamAuthAddress)];
  return { webapps, agents, kasmAgents, upstreamAuth: dedupe(upstreamAuth), notes };
}

/** `$request_host$` is replaced at runtime by the host of the incoming request: the client-facing host. */
function resolveAddress(address: string, config: KasmConfig): string {
  const trimmed = address.trim();
  if (!trimmed || trimmed === '$request_host$') return config.url.host;
  return trimmed.replace('$request_host$', config.url.hostname);
}

function dedupe(list: Inventory['upstreamAuth']): Inventory['upstreamAuth'] {
  const seen = new Set<string>();
  return list.filter((u) => !seen.has(u.address) && seen.add(u.address));
}
