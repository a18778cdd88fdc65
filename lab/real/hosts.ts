// The real-parts lab's machines: the network, every host started in parallel (sshd, dockerd, Kasm's images), the
// bastion and the loopback ports that reach them from this machine. Kasm's own containers are lab/real/kasm.ts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sudoersRule } from '../../helpers/probes/remote-commands.ts';
import { RealHost, LOGIN_USER, type HostSpec } from './host.ts';
import { importImages, makeRootfs, type ImageSpec } from './images.ts';
import { LAB_SUBNET, LabNetwork } from './network.ts';
import { reapDeadLabs, reapLab, register } from './reap.ts';
import { Relay } from './relay.ts';
import { run } from './run.ts';

export type HostRole = 'lb' | 'bastion' | 'webapp' | 'agent';

export interface LabHost {
  role: HostRole;
  host: RealHost;
}

export interface RealHosts {
  id: string;
  root: string;
  network: LabNetwork;
  relay: Relay;
  hosts: LabHost[];
  byId(id: string): RealHost;
  /** <root>/ssh: the suite's key and known_hosts, and an ssh_config for OpenSSH's client. */
  ssh: { user: string; keyFile: string; knownHostsFile: string; configFile: string; bastion: { host: string; port: number } };
  stop(): Promise<void>;
}

export const addressOf = (role: HostRole, n: number) => `${LAB_SUBNET}.${role === 'lb' ? 2 : role === 'bastion' ? 3 : role === 'webapp' ? 10 + n : 100 + n}`;

export interface HostsOptions {
  root: string;
  webapps: number;
  agents: number;
  /** Images every docker host imports, by role. */
  images: (role: 'webapp' | 'agent') => readonly ImageSpec[];
  /** The project's root, where the relay's `tsx` resolves. */
  projectRoot: string;
}

export async function startRealHosts(options: HostsOptions): Promise<RealHosts> {
  const reaped = await reapDeadLabs();
  if (reaped.length) console.log(`Real-parts lab: removed what ${reaped.length} earlier lab(s) left behind (${reaped.join(', ')})`);
  const id = randomBytes(3).toString('hex');
  const { root } = options;
  const unregister = register(id, root);
  const network = new LabNetwork(id);
  const relay = new Relay(network.switchNs, join(root, 'relay.sock'), LAB_SUBNET);
  const hosts: LabHost[] = [];
  const stop = async () => {
    await relay.stop().catch(() => undefined);
    await Promise.all(hosts.map((h) => h.host.stop().catch(() => undefined)));
    await reapLab(id, undefined);
    unregister();
  };
  try {
    await network.create();
    await relay.start(options.projectRoot);
    const specs: Array<[HostRole, HostSpec]> = [
      ['lb', { id: 'lb', hostname: 'kasm-lb', ip: addressOf('lb', 0), docker: false, sshd: false }],
      ['bastion', { id: 'bastion', hostname: 'kasm-bastion', ip: addressOf('bastion', 0), docker: false, sshd: true }],
      ...Array.from({ length: options.webapps }, (_, i): [HostRole, HostSpec] => ['webapp', { id: `webapp-${i + 1}`, hostname: `kasm-webapp-${i + 1}`, ip: addressOf('webapp', i + 1), docker: true, sshd: true }]),
      ...Array.from({ length: options.agents }, (_, i): [HostRole, HostSpec] => ['agent', { id: `agent-${i + 1}`, hostname: `kasm-agent-${i + 1}`, ip: addressOf('agent', i + 1), docker: true, sshd: true }]),
    ];
    const sshDir = join(root, 'ssh');
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const keyFile = join(sshDir, 'id_ed25519');
    await run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kasm-synthetics@lab', '-f', keyFile]);
    const clientPublic = readFileSync(`${keyFile}.pub`, 'utf8');
    const sudoers = sudoersRule(LOGIN_USER);
    const rootfs = join(root, 'rootfs');
    makeRootfs(rootfs);

    const started = await Promise.all(
      specs.map(async ([role, spec], index) => {
        const ns = await network.addHost(spec.id, index, spec.ip);
        const host = new RealHost(root, spec, ns, id);
        hosts.push({ role, host });
        host.prepare({ clientPublic, sudoers });
        const hostKey = spec.sshd ? await host.makeHostKey() : undefined;
        await host.start();
        if (spec.docker) {
          await host.waitForDocker();
          await host.docker(['network', 'create', '--subnet', '172.18.0.0/16', 'kasm_default_network']);
          await importImages(host, rootfs, options.images(role as 'webapp' | 'agent'));
        }
        if (spec.sshd) await host.waitForSshd();
        return { role, host, hostKey };
      }),
    );

    // Started in parallel; listed in the order of the specs (load balancer, bastion, WebApp servers, agents).
    hosts.sort((a, b) => specs.findIndex(([, s]) => s.id === a.host.spec.id) - specs.findIndex(([, s]) => s.id === b.host.spec.id));
    const bastion = started.find((h) => h.role === 'bastion')!;
    const published = await relay.publish(bastion.host.spec.ip, 22);
    const knownHosts = started.filter((h) => h.hostKey).map((h) => `${h.host.spec.ip} ${h.hostKey}`);
    knownHosts.push(`[127.0.0.1]:${published.port} ${bastion.hostKey}`);
    const knownHostsFile = join(sshDir, 'known_hosts');
    writeFileSync(knownHostsFile, `${knownHosts.join('\n')}\n`);
    const configFile = join(sshDir, 'ssh_config');
    writeFileSync(
      configFile,
      [
        `# ssh -F ${configFile} kasm-agent-1`,
        'Host kasm-bastion',
        '  HostName 127.0.0.1',
        `  Port ${published.port}`,
        ...started
          .filter((h) => h.hostKey && h.role !== 'bastion')
          .flatMap((h) => [`Host ${h.host.spec.hostname}`, `  HostName ${h.host.spec.ip}`, '  ProxyJump kasm-bastion']),
        'Host *',
        `  User ${LOGIN_USER}`,
        `  IdentityFile ${keyFile}`,
        `  UserKnownHostsFile ${knownHostsFile}`,
        '  StrictHostKeyChecking yes',
        '  IdentitiesOnly yes',
        '',
      ].join('\n'),
    );
    const byId = (hostId: string) => {
      const found = hosts.find((h) => h.host.spec.id === hostId);
      if (!found) throw new Error(`no lab host ${hostId}`);
      return found.host;
    };
    return { id, root, network, relay, hosts, byId, ssh: { user: LOGIN_USER, keyFile, knownHostsFile, configFile, bastion: { host: '127.0.0.1', port: published.port } }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
