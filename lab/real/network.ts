// The lab's network: one namespace per host, each with an `eth0` on a bridge that lives in a namespace of its own
// (the lab's switch), so hosts talk as servers on one LAN do and the machine's own network is never touched: every
// interface is made inside the lab's namespaces, and deleting them removes everything.
import { run } from './run.ts';

/** The benchmarking range (RFC 2544): never routed, and nothing outside the lab's namespaces is addressed. */
export const LAB_SUBNET = '198.18.0';
/** The switch's own address: where the relay from this machine's loopback enters the LAN. */
export const SWITCH_IP = `${LAB_SUBNET}.1`;
export const NS_PREFIX = 'kasmlab-';

export const netnsPath = (name: string) => `/run/netns/${name}`;

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('/usr/sbin/ip', ['netns', 'list']);
  return stdout.split('\n').map((line) => line.split(/\s+/)[0] ?? '').filter((name) => name.startsWith(NS_PREFIX));
}

/** Kills every process in the namespace (its pid-namespace init first, which takes the rest with it), then deletes it. */
export async function deleteNamespace(name: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const { stdout } = await run('/usr/sbin/ip', ['netns', 'pids', name], { okCodes: [1, 255] });
    const pids = stdout.split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 1);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await run('/usr/sbin/ip', ['netns', 'delete', name], { okCodes: [1, 255] });
}

export class LabNetwork {
  readonly switchNs: string;
  readonly #hosts: string[] = [];

  constructor(readonly id: string) {
    this.switchNs = `${NS_PREFIX}${id}-net`;
  }

  nsOf(host: string): string {
    return `${NS_PREFIX}${this.id}-${host}`;
  }

  get namespaces(): string[] {
    return [this.switchNs, ...this.#hosts];
  }

  async create(): Promise<void> {
    const ip = (...args: string[]) => run('/usr/sbin/ip', ['-n', this.switchNs, ...args]);
    await run('/usr/sbin/ip', ['netns', 'add', this.switchNs]);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'br0', 'type', 'bridge');
    await ip('addr', 'add', `${SWITCH_IP}/24`, 'dev', 'br0');
    await ip('link', 'set', 'br0', 'up');
  }

  /** A host: its namespace, `eth0` with `address`/24 on the switch, loopback up, and no route beyond the LAN. */
  async addHost(host: string, index: number, address: string): Promise<string> {
    const ns = this.nsOf(host);
    await run('/usr/sbin/ip', ['netns', 'add', ns]);
    this.#hosts.push(ns);
    const port = `p${index}`;
    // Both ends are made inside the switch's namespace and one is moved to the host: no interface ever appears on
    // the machine itself, not even for a moment.
    await run('/usr/sbin/ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('/usr/sbin/ip', ['-n', this.switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
    await run('/usr/sbin/ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await run('/usr/sbin/ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await run('/usr/sbin/ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** nftables in the switch: what a network firewall between the hosts does (the hosts' own firewalls stay clean). */
  async setSwitchRules(rules: string[]): Promise<void> {
    const table = `table bridge lab_switch {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;
    await run('/usr/sbin/ip', ['netns', 'exec', this.switchNs, '/usr/sbin/nft', 'delete', 'table', 'bridge', 'lab_switch'], { okCodes: [1] });
    if (rules.length) await run('/usr/sbin/ip', ['netns', 'exec', this.switchNs, '/usr/sbin/nft', '-f', '-'], { input: table });
  }

  async delete(): Promise<void> {
    await Promise.all(this.namespaces.map((ns) => deleteNamespace(ns)));
  }
}
