// Which servers the server-hop checks look at: the SSH targets from the environment, matched with what Kasm itself
// says (get_agents, get_zones) so the agent address and Upstream Auth Address checked are the ones Kasm uses.
import { isIPv6 } from 'node:net';
import { z } from 'zod';
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
    const answer = readAnswer('get_agents', AgentsAnswer, (await api.call('get_agents', {}, { admin: true })).body);
    const listed = (answer.agents ?? []).filter((a) => {
      if (isHostAddress(a.hostname)) return true;
      notes.push(`get_agents: agent ${JSON.stringify(a.hostname.slice(0, 100))} is not a host name or IP address: not checked`);
      return false;
    });
    const unmatched = agents.filter((a) => !listed.some((l) => byTarget(l.hostname) === a));
    if (addressesOf && unmatched.length && listed.some((l) => !byTarget(l.hostname))) {
      await Promise.all(unmatched.map(async (a) => own.set(a, ((await addressesOf(a).catch(() => undefined)) ?? []).map((x) => x.toLowerCase()))));
    }
    kasmAgents = listed.map((a) => ({ agentId: a.agent_id ?? '', hostname: a.hostname, port: a.port ?? config.agentPort, zoneId: a.zone_id ?? undefined, enabled: a.enabled !== false, ssh: match(a.hostname) }));
    for (const agent of kasmAgents.filter((k) => k.ssh && !byTarget(k.hostname))) notes.push(`agent ${agent.hostname} is reached over SSH as ${agent.ssh!.name} (an address of its own interfaces)`);
  } catch (error) {
    if (!(error instanceof KasmApiError)) throw error;
    notes.push(`get_agents not readable ${whyNot(error)}: agents are the SSH targets, port ${config.agentPort} (KASM_AGENT_PORT)`);
    kasmAgents = agents.map((a) => ({ agentId: '', hostname: a.target.host, port: config.agentPort, zoneId: undefined, enabled: true, ssh: a }));
  }

  let upstreamAuth: Inventory['upstreamAuth'] = [];
  try {
    const { zones = [] } = readAnswer('get_zones', ZonesAnswer, (await api.call('get_zones')).body);
    upstreamAuth = zones.flatMap((z) => {
      const address = resolveAddress(z.upstream_auth_address ?? '', config);
      if (isHostAddress(address)) return [{ zone: z.zone_name, address }];
      notes.push(`get_zones: zone "${z.zone_name.slice(0, 100)}" has Upstream Auth Address ${JSON.stringify(address.slice(0, 100))}, not a host name or IP address (with a port): not checked`);
      return [];
    });
  } catch (error) {
    if (!(error instanceof KasmApiError)) throw error;
    notes.push(`get_zones not readable ${whyNot(error)}`);
  }
  if (config.upstreamAuthAddress) upstreamAuth = [{ zone: 'KASM_UPSTREAM_AUTH_ADDRESS', address: config.upstreamAuthAddress }, ...upstreamAuth.filter((u) => u.address !== config.upstreamAuthAddress)];
  return { webapps, agents, kasmAgents, upstreamAuth: dedupe(upstreamAuth), notes };
}

/** A refusal is the key's permissions; anything else (a timeout, a 502, a body that is not Kasm's) says what it was. */
const whyNot = (error: KasmApiError) => (error.code === 'KASM_API_AUTH' ? `with this API key (${error.code})` : `(${error.code}: ${error.message})`);

// What the suite reads of get_agents and get_zones, checked at the boundary: anything else in the records is let be.
// Kasm's clients show no `port` on agents (the configured KASM_AGENT_PORT is the fallback); a port, when sent, may be
// a number or a numeric string.
const Port = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().min(1).max(65535));
const AgentsAnswer = z.object({
  agents: z.array(z.object({ agent_id: z.string().optional(), hostname: z.string(), port: Port.nullish(), zone_id: z.string().nullish(), enabled: z.boolean().optional() })).optional(),
});
const ZonesAnswer = z.object({ zones: z.array(z.object({ zone_name: z.string(), upstream_auth_address: z.string().nullish() })).optional() });

/** A Kasm answer in the shape the suite reads, or a KasmApiError that names the call and the field. */
function readAnswer<T>(call: string, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new KasmApiError('KASM_API_MALFORMED', call, `${call} answered a body the suite cannot read: ${issue.path.join('.') || '(the body)'}: ${issue.message}`);
}

/**
 * A host name (letters, digits, `-`, `_`, dots; label length is left to the resolver, which must be the one to
 * refuse a bad one), an IPv4 address or a bracketed IPv6 address, with an optional port: what may become the host
 * of a curl URL. Paths, queries, fragments, credentials and spaces may not.
 */
export function isHostAddress(value: string): boolean {
  if (value.length > 260) return false;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  if (m[1] !== undefined && !isIPv6(m[1])) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
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
