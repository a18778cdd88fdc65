// The lab keeps everything in one temp folder. This module is the contract between the parts that write
// that folder (the in-process servers) and the parts that read it (the SSH hosts' docker/ss/ip/ufw stand-ins).
//
// <root>/lab.json                                   LabDescription (written at start)
// <root>/faults.json                                string[] of active fault names (rewritten on change)
// <root>/ssh/                                       client key, known_hosts
// <root>/bin/                                       host command stand-ins put first on PATH in SSH shells
// <root>/hosts/<hostId>/host.json                   HostState
// <root>/hosts/<hostId>/containers/<name>/container.json   ContainerState
// <root>/hosts/<hostId>/containers/<name>/log       docker log: one entry a line, "<RFC3339Nano> <text>"
// <root>/hosts/<hostId>/containers/<name>/root/     the container's filesystem (HOME, ~/.vnc/<hostname>:1.log)
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_VARIABLES } from '../helpers/secret-variables.ts';

export type Role = 'webapp' | 'agent';

export interface HostState {
  id: string;
  role: Role;
  hostname: string;
  ip: string;
  /** The port kasm_proxy publishes on this host (host port -> container 443). */
  proxyPort: number;
  /** Whether the proxy currently accepts connections on proxyPort. */
  proxyListening: boolean;
  sshPort: number;
  /** Host firewall as ufw/iptables would report it. Reported, never enforced by the stand-ins themselves. */
  firewall: { ufw: 'active' | 'inactive'; blockedPorts: number[] };
}

export interface ContainerState {
  id: string;
  name: string;
  image: string;
  command: string;
  created: string;
  state: 'running' | 'restarting' | 'exited';
  health: 'healthy' | 'unhealthy' | 'starting' | null;
  startedAt: string;
  /** docker ps PORTS column, e.g. "80/tcp, 0.0.0.0:8443->443/tcp" */
  ports: string;
  hostname: string;
  /** Environment as docker would pass it to `docker exec` (merged with the image's). */
  env: Record<string, string>;
  /** Xvnc -version banner for session containers. */
  xvncVersion?: string;
}

export interface LabDescription {
  root: string;
  url: string;
  hosts: HostState[];
}

export const paths = {
  lab: (root: string) => join(root, 'lab.json'),
  faults: (root: string) => join(root, 'faults.json'),
  ssh: (root: string) => join(root, 'ssh'),
  bin: (root: string) => join(root, 'bin'),
  host: (root: string, hostId: string) => join(root, 'hosts', hostId),
  hostFile: (root: string, hostId: string) => join(root, 'hosts', hostId, 'host.json'),
  container: (root: string, hostId: string, name: string) => join(root, 'hosts', hostId, 'containers', name),
  containers: (root: string, hostId: string) => join(root, 'hosts', hostId, 'containers'),
};

export function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, file);
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** RFC 3339 with nanoseconds, as docker stores log timestamps. */
export function dockerTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Where a component writes its log lines: a stand-in container's log file, or a real container's stdout. */
export interface LogSink {
  write(line: string): void;
}

/** A container's stdout/stderr as `docker logs` keeps it. */
export class ContainerLog implements LogSink {
  constructor(readonly file: string) {}

  write(line: string, at = new Date()): void {
    appendFileSync(this.file, `${dockerTimestamp(at)} ${line}\n`);
  }
}

export function createContainer(root: string, hostId: string, container: ContainerState): ContainerLog {
  const dir = paths.container(root, hostId, container.name);
  mkdirSync(join(dir, 'root'), { recursive: true });
  writeJson(join(dir, 'container.json'), container);
  const log = new ContainerLog(join(dir, 'log'));
  appendFileSync(log.file, '');
  return log;
}

export function updateContainer(root: string, hostId: string, name: string, change: Partial<ContainerState>): void {
  const file = join(paths.container(root, hostId, name), 'container.json');
  writeJson(file, { ...readJson<ContainerState>(file), ...change });
}

/**
 * A lab's env file: each value single-quoted, so `set -a; . lab.env` in a shell and dotenv read the same values
 * (`KASM_WORKSPACE='Ubuntu Jammy'`, not a command named Jammy).
 */
export function envFileText(env: Record<string, string>): string {
  return `${Object.entries(env).map(([k, v]) => `${k}='${v.replaceAll("'", `'\\''`)}'`).join('\n')}\n`;
}

export interface LabEnvironment {
  root: string;
  url: string;
  apiKey: string;
  apiSecret: string;
  user: { username: string; password: string };
  workspace: string;
  ssh: { webapp: string[]; agents: string[]; jump?: string; keyFile: string; knownHostsFile: string };
  ports: { webapp?: number; agent?: number };
}

/**
 * The KASM_* variables that point the suite at a lab, the same for both kinds, and its env file beside them
 * (its secrets in lab.local.env beside it: never printed).
 */
export function writeLabEnvironment(lab: LabEnvironment): { env: Record<string, string>; envFile: string } {
  const env: Record<string, string> = {
    KASM_URL: lab.url,
    KASM_API_KEY: lab.apiKey,
    KASM_API_SECRET: lab.apiSecret,
    KASM_USER: lab.user.username,
    KASM_USER_PASSWORD: lab.user.password,
    KASM_WORKSPACE: lab.workspace,
    KASM_INSECURE_TLS: 'true',
    KASM_SSH_WEBAPP: lab.ssh.webapp.join(','),
    KASM_SSH_AGENTS: lab.ssh.agents.join(','),
    ...(lab.ssh.jump ? { KASM_SSH_JUMP: lab.ssh.jump } : {}),
    KASM_SSH_KEY_FILE: lab.ssh.keyFile,
    KASM_SSH_KNOWN_HOSTS: lab.ssh.knownHostsFile,
    KASM_SSH_SUDO: 'true',
    ...(lab.ports.webapp ? { KASM_WEBAPP_PORT: String(lab.ports.webapp) } : {}),
    ...(lab.ports.agent ? { KASM_AGENT_PORT: String(lab.ports.agent) } : {}),
    KASM_LAB_ROOT: lab.root,
    // For the project's tests, which start labs of their own: restore files and baselines belong with the lab. A run
    // that starts the lab itself (helpers/global-setup.ts) keeps the user's KASM_STATE_DIR instead.
    KASM_STATE_DIR: join(lab.root, 'state'),
  };
  // The secrets go beside it in lab.local.env, as the suite's own environment files keep them: so KASM_ENV_FILE can
  // name lab.env (which reads lab.local.env with it) and a shell can read both.
  const secret = (key: string) => (SECRET_VARIABLES as readonly string[]).includes(key);
  const envFile = join(lab.root, 'lab.env');
  writeFileSync(envFile, envFileText(Object.fromEntries(Object.entries(env).filter(([k]) => !secret(k)))), { mode: 0o600 });
  writeFileSync(join(lab.root, 'lab.local.env'), envFileText(Object.fromEntries(Object.entries(env).filter(([k]) => secret(k)))), { mode: 0o600 });
  return { env, envFile };
}
