// One lab host: a network namespace (lab/real/network.ts) plus its own mount, UTS and pid namespaces, so `hostname`,
// `ps`, `/etc/passwd`, `/etc/sudoers.d`, `/etc/ufw`, `/etc/ssh`, `/home`, `/run` and `/var/lib/docker` are the host's
// own while the programs are the machine's: real sshd, sudo, dockerd, nginx, ufw and iptables. The files live in
// <root>/hosts/<id>/ and are bind-mounted over the machine's paths inside the host's mount namespace only.
//
// The host's init is the first process of its pid namespace. It runs under `setpriv --pdeathsig KILL` and
// `unshare --kill-child`, so when the lab's process dies, even by `kill -9`, the kernel ends the init and with it every
// process of the host (dockerd, containerd, the containers, sshd); what is left, the namespaces and files, the next
// lab start reaps (lab/real/reap.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netnsPath } from './network.ts';
import { RealLabError, run } from './run.ts';

export const LOGIN_USER = 'kasm-admin';
const LOGIN_UID = 1500;

export interface HostSpec {
  id: string;
  hostname: string;
  ip: string;
  /** Runs dockerd (WebApp and agent servers), with its containers' cgroups under this parent. */
  docker: boolean;
  /** Runs OpenSSH's sshd on port 22 (every host but the load balancer). */
  sshd: boolean;
  /** `/etc/hosts` lines beyond the host's own name, `address name...`. */
  hosts?: string[];
}

export interface HostKeys {
  /** OpenSSH public key line for ~kasm-admin/.ssh/authorized_keys. */
  clientPublic: string;
  sudoers: string;
}

/** Every cgroup mount the machine has, so dockerd in the host's fresh /sys sees the same hierarchies. */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => {
      const [left, right] = line.split(' - ');
      const mountPoint = left?.split(' ')[4];
      const [fstype, , superOptions] = (right ?? '').split(' ');
      return { mountPoint, fstype, superOptions };
    })
    .filter((m) => m.mountPoint?.startsWith('/sys/fs/cgroup') && (m.fstype === 'cgroup' || m.fstype === 'cgroup2' || m.fstype === 'tmpfs'))
    .map(({ mountPoint, fstype, superOptions }) => {
      if (fstype === 'tmpfs') return `mount -t tmpfs -o mode=755 tmpfs ${mountPoint}`;
      const options = (superOptions ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro');
      return `mkdir -p ${mountPoint} && mount -t ${fstype}${fstype === 'cgroup' && options.length ? ` -o ${options.join(',')}` : ''} ${fstype} ${mountPoint}`;
    });
}

const passwdLine = `${LOGIN_USER}:x:${LOGIN_UID}:${LOGIN_UID}:Kasm operator:/home/${LOGIN_USER}:/bin/bash`;

export class RealHost {
  readonly dir: string;
  readonly ns: string;
  #init: ChildProcess | undefined;
  #exited: Promise<void> | undefined;

  constructor(
    readonly root: string,
    readonly spec: HostSpec,
    ns: string,
    readonly labId: string,
  ) {
    this.dir = join(root, 'hosts', spec.id);
    this.ns = ns;
  }

  get dockerSocket(): string {
    return join(this.dir, 'run', 'docker.sock');
  }

  /** The host's files: a copy of the machine's account and ufw files with the lab's login user added. */
  prepare(keys: HostKeys): void {
    const d = (...parts: string[]) => join(this.dir, ...parts);
    for (const sub of ['etc/sudoers.d', 'etc/ssh', 'etc/default', 'home', 'run', 'var-lib-docker', 'log', 'usr-local', 'nginx']) mkdirSync(d(sub), { recursive: true });
    const passwd = readFileSync('/etc/passwd', 'utf8').trimEnd();
    writeFileSync(d('etc/passwd'), `${passwd}\n${passwdLine}\n`);
    const group = readFileSync('/etc/group', 'utf8').trimEnd();
    writeFileSync(d('etc/group'), `${group}\n${LOGIN_USER}:x:${LOGIN_UID}:\n`);
    // No one's password hash is copied: every account is `*` (no password, key logins only), none is locked (`!`).
    const names = [...passwd.split('\n'), passwdLine].map((line) => line.split(':')[0]).filter(Boolean);
    writeFileSync(d('etc/shadow'), `${names.map((name) => `${name}:*:20000:0:99999:7:::`).join('\n')}\n`, { mode: 0o640 });
    writeFileSync(d('etc/hostname'), `${this.spec.hostname}\n`);
    writeFileSync(d('etc/hosts'), [`127.0.0.1 localhost`, `${this.spec.ip} ${this.spec.hostname}`, ...(this.spec.hosts ?? []), ''].join('\n'));
    // Nothing answers DNS on the LAN, and there is no route beyond it: a name not in /etc/hosts fails at once.
    writeFileSync(d('etc/resolv.conf'), `nameserver ${this.spec.ip}\noptions timeout:1 attempts:1\n`);
    cpSync('/etc/ufw', d('etc/ufw'), { recursive: true });
    cpSync('/etc/default/ufw', d('etc/default/ufw'));
    writeFileSync(d('etc/sudoers.d/kasm-synthetics'), keys.sudoers, { mode: 0o440 });
    const home = d('home', LOGIN_USER);
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'authorized_keys'), `${keys.clientPublic.trim()}\n`, { mode: 0o600 });
    for (const path of [home, join(home, '.ssh'), join(home, '.ssh', 'authorized_keys')]) chownSync(path, LOGIN_UID, LOGIN_UID);
    chmodSync(d('home'), 0o755);
    writeFileSync(d('etc/ssh/sshd_config'), this.#sshdConfig());
    writeFileSync(d('init.sh'), this.#initScript(), { mode: 0o700 });
  }

  async makeHostKey(): Promise<string> {
    const key = join(this.dir, 'etc/ssh/ssh_host_ed25519_key');
    await run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${this.spec.hostname}`, '-f', key]);
    return readFileSync(`${key}.pub`, 'utf8').trim();
  }

  #sshdConfig(): string {
    return [
      `ListenAddress ${this.spec.ip}:22`,
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      'PidFile /run/sshd.pid',
      'PermitRootLogin no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Key logins check the account against /etc/shadow without PAM; the host's shadow is its own file.
      'UsePAM no',
      `AllowUsers ${LOGIN_USER}`,
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'PrintMotd no',
      'AcceptEnv LANG LC_*',
      '',
    ].join('\n');
  }

  #initScript(): string {
    const dir = this.dir;
    const bind = (from: string, to: string) => `mount --bind ${dir}/${from} ${to}`;
    const lines = [
      '#!/bin/sh',
      '# The host\'s init, first process of its pid namespace: its own /sys, /run, accounts and configs, then its daemons.',
      'set -eu',
      'mount -t sysfs sysfs /sys',
      ...cgroupMounts(),
      bind('run', '/run'),
      'mkdir -p /run/sshd /run/lock /run/sudo',
      ...['passwd', 'group', 'shadow', 'hostname', 'hosts', 'resolv.conf'].map((f) => bind(`etc/${f}`, `/etc/${f}`)),
      bind('etc/sudoers.d', '/etc/sudoers.d'),
      bind('etc/ufw', '/etc/ufw'),
      bind('etc/default/ufw', '/etc/default/ufw'),
      bind('etc/ssh', '/etc/ssh'),
      bind('home', '/home'),
      // Debian's own docker client at /usr/bin, not whatever the machine put in /usr/local.
      bind('usr-local', '/usr/local'),
      'mkdir -p /var/lib/docker',
      bind('var-lib-docker', '/var/lib/docker'),
      bind('nginx', '/etc/nginx'),
      `hostname ${this.spec.hostname}`,
    ];
    if (this.spec.docker) {
      lines.push(
        // Docker's own iptables rules (NAT for the containers, DNAT for published ports), in the host's namespace as on
        // any Docker host; no default bridge: the Kasm network is made as Kasm's compose makes it.
        `/usr/sbin/dockerd -H unix:///run/docker.sock --bridge=none --cgroup-parent=/kasmlab-${this.labId}-${this.spec.id} --pidfile /run/docker.pid >${dir}/log/dockerd.log 2>&1 &`,
      );
    }
    if (this.spec.sshd) lines.push(`/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config >${dir}/log/sshd.log 2>&1 &`);
    // The init outlives its daemons (a stopped sshd or nginx is a fault, not the end of the host).
    lines.push('sleep infinity &', 'echo ready >/run/lab-init-ready', 'wait', '');
    return lines.join('\n');
  }

  /** Starts the host's init; resolves once its mounts are made (its daemons start behind it). */
  async start(): Promise<void> {
    const out = openSync(join(this.dir, 'log', 'init.log'), 'a');
    const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', '/usr/bin/nsenter', `--net=${netnsPath(this.ns)}`, '--', '/usr/bin/unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--mount-proc', '--', '/bin/sh', join(this.dir, 'init.sh')], { stdio: ['ignore', out, out] });
    this.#init = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const ready = join(this.dir, 'run', 'lab-init-ready');
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new RealLabError(`host ${this.spec.id}: its init ended (${child.exitCode ?? child.signalCode}): ${this.#log('init.log')}`);
      try {
        readFileSync(ready);
        return;
      } catch {
        if (Date.now() > deadline) throw new RealLabError(`host ${this.spec.id}: its init did not finish its mounts within 10 s: ${this.#log('init.log')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  #log(name: string): string {
    try {
      return readFileSync(join(this.dir, 'log', name), 'utf8').trim().split('\n').slice(-5).join(' | ') || '(nothing logged)';
    } catch {
      return '(no log)';
    }
  }

  /** Runs a program inside the host (its network, mounts and pids), as root there. */
  exec(args: readonly string[], options: { timeoutMs?: number; input?: string; okCodes?: number[] } = {}): ReturnType<typeof run> {
    const pid = this.#init?.pid;
    if (pid === undefined) throw new RealLabError(`host ${this.spec.id} is not started`);
    // The init is unshare's child: the first process of the host's pid namespace, whose namespaces every program joins.
    return run('/usr/bin/nsenter', ['--target', String(this.#initPid(pid)), '--net', '--mount', '--uts', '--pid', '--', ...args], options);
  }

  #initPid(unsharePid: number): number {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const pid = children[0];
    if (!pid) throw new RealLabError(`host ${this.spec.id}: its init process is gone`);
    return pid;
  }

  docker(args: readonly string[], options: { timeoutMs?: number; input?: string; okCodes?: number[] } = {}): ReturnType<typeof run> {
    return run('/usr/bin/docker', ['-H', `unix://${this.dockerSocket}`, ...args], options);
  }

  async waitForDocker(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await this.docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5_000 }).catch((error: unknown) => error as Error);
      if (!(answer instanceof Error)) return;
      if (Date.now() > deadline) throw new RealLabError(`host ${this.spec.id}: dockerd did not answer within ${timeoutMs} ms: ${this.#log('dockerd.log')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async waitForSshd(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { stdout } = await this.exec(['/usr/bin/ss', '-Hltn', 'sport = :22']);
      if (stdout.includes(':22')) return;
      if (Date.now() > deadline) throw new RealLabError(`host ${this.spec.id}: sshd did not listen within ${timeoutMs} ms: ${this.#log('sshd.log')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.#init;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // SIGKILL to unshare: --kill-child ends the init, and the kernel ends the rest of the pid namespace with it.
    child.kill('SIGKILL');
    await this.#exited;
  }
}
