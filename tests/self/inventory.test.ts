// Which SSH host is which Kasm agent (helpers/inventory.ts): by the address Kasm lists, or by one of the host's own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KasmConfig, SshTarget } from '../../helpers/config.ts';
import { isHostAddress, readInventory, type AddressesOf } from '../../helpers/inventory.ts';
import type { KasmApiClient } from '../../helpers/kasm-api.ts';

const target = (host: string, port = 22): SshTarget => ({ host, port }) as SshTarget;
const config = (agents: SshTarget[]) => ({ ssh: { webapp: [], agents }, agentPort: 443, url: new URL('https://kasm.example.com'), upstreamAuthAddress: undefined }) as unknown as KasmConfig;
const api = (agents: Array<{ agent_id: string; hostname: string }>) =>
  ({
    call: async (name: string) => ({ body: name === 'get_agents' ? { agents } : { zones: [] } }),
  }) as unknown as KasmApiClient;

describe('readInventory', () => {
  it('matches an agent reached as 127.0.0.1 (a tunnel) by the addresses of its own interfaces', async () => {
    const asked: string[] = [];
    const addressesOf: AddressesOf = async (host) => {
      asked.push(host.name);
      return ['127.0.0.1', '10.0.0.7', 'fe80::1'];
    };
    const inventory = await readInventory(api([{ agent_id: 'a1', hostname: '10.0.0.7' }]), config([target('127.0.0.1', 2201)]), addressesOf);
    assert.equal(inventory.kasmAgents[0]!.ssh?.name, '127.0.0.1:2201');
    assert.deepEqual(asked, ['127.0.0.1:2201']);
    assert.ok(inventory.notes.some((n) => /agent 10\.0\.0\.7 is reached over SSH as 127\.0\.0\.1:2201/.test(n)), inventory.notes.join('\n'));
  });

  it('asks no host when every agent matches by its listed address, and leaves a host that is not the agent unmatched', async () => {
    let asked = 0;
    const count: AddressesOf = async () => (asked++, ['192.168.1.5']);
    const direct = await readInventory(api([{ agent_id: 'a1', hostname: '10.0.0.7' }]), config([target('10.0.0.7')]), count);
    assert.equal(direct.kasmAgents[0]!.ssh?.name, '10.0.0.7');
    assert.equal(asked, 0);
    const other = await readInventory(api([{ agent_id: 'a1', hostname: '10.0.0.7' }]), config([target('127.0.0.1', 2201)]), count);
    assert.equal(other.kasmAgents[0]!.ssh, undefined);
    assert.equal(asked, 1);
  });

  it('a host that cannot be asked stays unmatched, without failing the inventory', async () => {
    const failing: AddressesOf = async () => undefined;
    const inventory = await readInventory(api([{ agent_id: 'a1', hostname: '10.0.0.7' }]), config([target('127.0.0.1', 2201)]), failing);
    assert.equal(inventory.kasmAgents[0]!.ssh, undefined);
  });
});

describe('readInventory at the boundary: what Kasm answers is checked before it is used', () => {
  const answering = (bodies: Record<string, unknown>) => ({ call: async (name: string) => ({ body: bodies[name] }) }) as unknown as KasmApiClient;

  it('turns an answer of the wrong shape into a note naming the call and the field, and falls back to the SSH agents', async () => {
    // `agents: {}` once threw "listed.map is not a function".
    const inventory = await readInventory(answering({ get_agents: { agents: {} }, get_zones: { zones: 'none' } }), config([target('10.0.0.7')]));
    assert.deepEqual(inventory.kasmAgents.map((a) => a.hostname), ['10.0.0.7']);
    assert.ok(inventory.notes.some((n) => /^get_agents not readable \(KASM_API_MALFORMED: get_agents answered a body the suite cannot read: agents: /.test(n)), inventory.notes.join('\n'));
    assert.ok(inventory.notes.some((n) => /^get_zones not readable \(KASM_API_MALFORMED: get_zones answered a body the suite cannot read: zones: /.test(n)), inventory.notes.join('\n'));
    const port = await readInventory(answering({ get_agents: { agents: [{ hostname: '10.0.0.7', port: 70000 }] }, get_zones: {} }), config([]));
    assert.ok(port.notes.some((n) => /agents\.0\.port: /.test(n)), port.notes.join('\n'));
  });

  it('keeps no agent or Upstream Auth Address that is not a host name or IP address (with a port)', async () => {
    const inventory = await readInventory(
      answering({
        get_agents: { agents: [{ agent_id: 'a1', hostname: '169.254.169.254/latest/meta-data/#' }, { agent_id: 'a2', hostname: '10.0.0.8', port: '8443' }] },
        get_zones: { zones: [{ zone_name: 'evil', upstream_auth_address: 'user:pw@10.0.0.9/x' }, { zone_name: 'default', upstream_auth_address: 'proxy' }] },
      }),
      config([]),
    );
    assert.deepEqual(inventory.kasmAgents.map((a) => `${a.hostname}:${a.port}`), ['10.0.0.8:8443']);
    assert.deepEqual(inventory.upstreamAuth.map((u) => u.address), ['proxy']);
    assert.ok(inventory.notes.some((n) => n === 'get_agents: agent "169.254.169.254/latest/meta-data/#" is not a host name or IP address: not checked'), inventory.notes.join('\n'));
    assert.ok(inventory.notes.some((n) => /^get_zones: zone "evil" has Upstream Auth Address "user:pw@10\.0\.0\.9\/x", not a host name/.test(n)), inventory.notes.join('\n'));
  });

  it('isHostAddress takes names, IPv4 and bracketed IPv6 with a port, and nothing that carries a path, a query or credentials', () => {
    for (const ok of ['proxy', 'kasm.example.com', 'kasm.example.com.', '10.0.0.7', '10.0.0.7:443', '[fd00::7]', '[fd00::7]:8443', 'kasm_api', `${'a'.repeat(70)}.invalid`]) assert.ok(isHostAddress(ok), ok);
    for (const bad of ['', '169.254.169.254/latest/meta-data/#', 'a b', 'a?x', 'u:p@h', '[nope]', 'h:0', 'h:65536', 'h:', '..', 'a..b', '$(id)', `${'a'.repeat(300)}`]) assert.ok(!isHostAddress(bad), bad);
  });
});
