// What the real-parts lab needs from the machine, and the one-line reason when it cannot have it: Linux, root, the
// kernel's namespaces, and Debian's packages of the parts a Kasm host runs (installed with apt when missing).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { platform } from 'node:os';
import { executable } from '../../helpers/browser.ts';
import { postgresBin } from './images.ts';
import { run } from './run.ts';

/** Each program the lab starts or calls, with the Debian package that ships it. */
const PROGRAMS: ReadonlyArray<[path: string, pkg: string]> = [
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/bin/nsenter', 'util-linux'],
  ['/usr/bin/unshare', 'util-linux'],
  ['/usr/bin/setpriv', 'util-linux'],
  ['/usr/sbin/nft', 'nftables'],
  ['/usr/sbin/iptables', 'iptables'],
  ['/usr/sbin/ufw', 'ufw'],
  ['/usr/sbin/dockerd', 'docker.io'],
  ['/usr/bin/docker', 'docker.io'],
  ['/usr/sbin/docker-proxy', 'docker.io'],
  ['/usr/sbin/nginx', 'nginx'],
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/bin/ssh-keygen', 'openssh-client'],
  ['/usr/bin/ssh', 'openssh-client'],
  ['/usr/bin/sudo', 'sudo'],
  ['/usr/sbin/visudo', 'sudo'],
  ['/usr/bin/curl', 'curl'],
  // kasm_redis: the server program is redis-check-rdb started by another name (lab/real/images.ts).
  ['/usr/bin/redis-check-rdb', 'redis-tools'],
  ['/usr/bin/redis-cli', 'redis-tools'],
];

export type Support = { ok: true } | { ok: false; reason: string };

export const missingPackages = (): string[] => [...new Set([...PROGRAMS.filter(([path]) => !executable(path)).map(([, pkg]) => pkg), ...(postgresBin() ? [] : ['postgresql'])])];

function namespacesWork(): boolean {
  try {
    execFileSync('/usr/bin/unshare', ['--net', '--mount', '--pid', '--fork', '--uts', 'true'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether the real-parts lab can run here as things are; `install` lets it add the missing Debian packages first. */
export async function realLabSupport(options: { install: boolean }): Promise<Support> {
  if (platform() !== 'linux') return { ok: false, reason: `not Linux (${platform()}): network namespaces, dockerd and sshd hosts need Linux` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: making network namespaces and starting dockerd and sshd needs root' };
  let missing = missingPackages();
  if (missing.length && options.install && executable('/usr/bin/apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    console.log(`The real-parts lab installs ${missing.join(', ')} with apt-get`);
    // Packages such as nginx, openssh-server and postgresql start their service on the machine when installed; the
    // lab wants their programs only, so Debian's policy-rc.d denies every start while apt runs (and is removed after).
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# kasm-synthetics: no service starts while the real-parts lab installs its packages\nexit 101\n', { mode: 0o755 });
    try {
      await run('/usr/bin/apt-get', ['update', '-qq'], { timeoutMs: 300_000, env }).catch(() => undefined);
      await run('/usr/bin/apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { timeoutMs: 900_000, env }).catch(() => undefined);
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
    missing = missingPackages();
  }
  if (missing.length) return { ok: false, reason: `missing ${missing.join(', ')} (Debian packages; apt-get install -y ${missing.join(' ')})` };
  if (!namespacesWork()) return { ok: false, reason: 'the kernel refuses new network, mount or pid namespaces here (inside an unprivileged container?)' };
  return { ok: true };
}
