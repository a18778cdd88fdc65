// Which SSH host is which Kasm agent (helpers/inventory.ts): by the address Kasm lists, or by one of the host's own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KasmConfig, SshTarget } from '../../helpers/config.ts';
import { readInventory, type AddressesOf } from '../../helpers/inventory.ts';
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
