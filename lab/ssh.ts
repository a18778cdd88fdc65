// One SSH server per simulated host, so the suite reaches lab hosts exactly as it reaches real ones: public-key login
// as kasm-admin, host keys pinned through known_hosts, exec requests only. Commands run in bash with the host command
// stand-ins (<root>/bin) first on PATH, except plain command lines of a stand-in, which run in this process
// (lab/host/plain-command.ts).
import { spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel } from 'ssh2';
import { isHostCommand, main as runHostCommand } from './host/commands.ts';
import { KILL_GRACE_MS, killGroup, type Io } from './host/context.ts';
import { plainCommand, type PlainCommand } from './host/plain-command.ts';
import { paths, readJson, writeJson, type HostState } from './state.ts';

const { Server, utils } = ssh2;

export interface SshHostsHandle {
  /** <root>/ssh/id_ed25519, mode 0600, OpenSSH private key. */
  clientKeyFile: string;
  /** <root>/ssh/known_hosts, lines `[ip]:port ssh-ed25519 AAAA...`. */
  knownHostsFile: string;
  /** The login name the servers accept. */
  user: string;
  /** `fingerprint` is `SHA256:...` as `ssh-keygen -lf` prints it. */
  hosts: { id: string; host: string; port: number; fingerprint: string }[];
  /** How many commands are still running, in bash or in this process: an abandoned one must end. */
  running(): number;
  /** How many exec requests ran in this process (plain stand-in lines) and how many in bash. */
  ran(): { inProcess: number; bash: number };
  /** Stops the servers and kills the commands still running. */
  close(): Promise<void>;
}

export class SshHostError extends Error {
  readonly code = 'LAB_SSH_HOST';
}

const USER = 'kasm-admin';

/**
 * An ed25519 pair, made by ssh2. Its generator drops a leading zero byte of the public key once in 256 keys
 * (mscdex/ssh2#1513), leaving a 31-byte key that nothing can parse; such a pair is made again (a bounded number of
 * times) rather than handed out. The lab's keys and every test key come from here.
 */
export function generateKey(options: { comment?: string; passphrase?: string; cipher?: string; rounds?: number } = {}): { private: string; public: string; key: ParsedKey } {
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', options);
    const parsed = utils.parseKey(pair.public);
    if (!(parsed instanceof Error) && !(utils.parseKey(pair.private, options.passphrase) instanceof Error)) return { ...pair, key: parsed };
  }
  throw new SshHostError('lab ssh: ssh2 produced no parseable ed25519 key in 10 attempts');
}

/** `ssh-keygen -lf`: SHA256 of the public key blob, base64 without padding. */
function fingerprint(key: ParsedKey): string {
  return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/** The ssh2 README's check: right user, right key, and (when the client signs) a valid signature. */
function authenticate(context: AuthContext, allowed: ParsedKey): void {
  if (context.method !== 'publickey' || context.username !== USER) return context.reject(['publickey']);
  if (context.key.algo !== allowed.type || !sameBytes(context.key.data, allowed.getPublicSSH())) return context.reject(['publickey']);
  if (context.signature && context.blob && allowed.verify(context.blob, context.signature, context.hashAlgo) !== true) return context.reject(['publickey']);
  context.accept();
}

interface Running {
  /**
   * bash: signals its process group, so its children (docker logs, sudo, ...) go with it. In this process: aborts
   * the command, whose own programs runChild kills the same way.
   */
  kill(signal: NodeJS.Signals): void;
  exited: Promise<void>;
}

function stop(running: Running): Promise<void> {
  running.kill('SIGTERM');
  const hard = setTimeout(() => running.kill('SIGKILL'), KILL_GRACE_MS);
  return running.exited.finally(() => clearTimeout(hard));
}

async function drained(stream: Writable): Promise<void> {
  if (stream.writableLength > 0 && !stream.destroyed) await once(stream, 'drain');
}

/** exit-signal carries only the signal names RFC 4254 lists; others are reported the way a shell would, as 128+n. */
function sendExitSignal(channel: ServerChannel, signal: NodeJS.Signals): void {
  try {
    channel.exit(signal, false, '');
  } catch {
    channel.exit(128 + (constants.signals[signal] ?? 0));
  }
}

interface HostServerOptions {
  root: string;
  host: HostState;
  hostKey: string;
  clientKey: ParsedKey;
}

class HostServer {
  readonly server: InstanceType<typeof Server>;
  private readonly connections = new Set<Connection>();
  private readonly running = new Set<Running>();
  /** How the exec requests ran: plain stand-in lines in this process, the rest in bash. */
  readonly ran = { inProcess: 0, bash: 0 };
  private readonly closedChannels = new WeakSet<ServerChannel>();

  constructor(private readonly options: HostServerOptions) {
    this.server = new Server({ hostKeys: [options.hostKey] }, (client) => this.accept(client));
  }

  private accept(client: Connection): void {
    this.connections.add(client);
    const mine = new Set<Running>();
    client.on('authentication', (context) => authenticate(context, this.options.clientKey));
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => mine.add(this.exec(accept(), info.command, mine)));
        session.on('pty', (_accept, reject) => reject?.());
        session.on('env', (_accept, reject) => reject?.());
        session.on('shell', (_accept, reject) => reject());
        session.on('sftp', (_accept, reject) => reject());
        session.on('subsystem', (_accept, reject) => reject());
      });
    });
    // Probes drop connections mid-command (timeouts, a closed test worker); that must not take the lab down.
    client.on('error', () => undefined);
    client.on('close', () => {
      this.connections.delete(client);
      for (const running of mine) void stop(running);
    });
  }

  private environment(): NodeJS.ProcessEnv {
    const { root, host } = this.options;
    const env: NodeJS.ProcessEnv = { ...process.env };
    // The lab process may carry loaders (tsx) in NODE_OPTIONS; a host's shell would not, and the stand-ins must start fast.
    delete env.NODE_OPTIONS;
    return {
      ...env,
      PATH: `${paths.bin(root)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LAB_ROOT: root,
      LAB_HOST_ID: host.id,
      HOME: paths.host(root, host.id),
      USER,
      LOGNAME: USER,
    };
  }

  private exec(channel: ServerChannel, command: string, mine: Set<Running>): Running {
    channel.on('error', () => undefined);
    channel.stderr.on('error', () => undefined);
    channel.once('close', () => this.closedChannels.add(channel));
    const plain = plainCommand(command);
    if (plain && isHostCommand(plain.argv[0]!)) {
      this.ran.inProcess++;
      return this.runInProcess(channel, plain, mine);
    }
    this.ran.bash++;
    const child = spawn('bash', ['-c', command], { cwd: paths.host(this.options.root, this.options.host.id), env: this.environment(), detached: true, stdio: 'pipe' });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Once bash has gone, what it left in the background is no longer the command's: sshd would not kill it either.
    const running: Running = { kill: (signal) => child.exitCode === null && child.signalCode === null && killGroup(child, signal), exited };
    this.running.add(running);
    child.stdin.on('error', () => undefined);
    child.stdout.pipe(channel, { end: false });
    child.stderr.pipe(channel.stderr, { end: false });
    channel.pipe(child.stdin);
    channel.once('close', () => void stop(running));
    child.once('error', (error) => {
      channel.stderr.write(`lab ssh: cannot start bash: ${error.message}\n`);
      channel.exit(127);
      channel.end();
    });
    child.once('close', (code, signal) => {
      this.running.delete(running);
      mine.delete(running);
      void this.finish(channel, code, signal);
    });
    return running;
  }

  private runInProcess(channel: ServerChannel, plain: PlainCommand, mine: Set<Running>): Running {
    const caller = new AbortController();
    // ssh2 reports a channel closed only once its input has been consumed: input no program reads is thrown away
    // (runChild resumes it again after a program), so a client's close always ends the command.
    const stdin = new PassThrough();
    channel.pipe(stdin);
    stdin.resume();
    const cwd = paths.host(this.options.root, this.options.host.id);
    const io: Io = { stdin, stdout: channel, stderr: plain.stderrToStdout ? channel : channel.stderr, env: { ...this.environment(), PWD: cwd }, cwd, signal: caller.signal, hosted: true };
    const running: Running = {
      kill: () => caller.abort(),
      exited: runHostCommand(plain.argv, io).then((code) => {
        this.running.delete(running);
        mine.delete(running);
        void this.finish(channel, code, null);
      }),
    };
    this.running.add(running);
    channel.once('close', () => void stop(running));
    return running;
  }

  /** Exit status goes out only after the output, so the client sees every byte before the command's end. */
  private async finish(channel: ServerChannel, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // ssh2 never marks its channels destroyed; its 'close' says the client has gone.
    if (this.closedChannels.has(channel)) return;
    await Promise.race([Promise.all([drained(channel), drained(channel.stderr)]), once(channel, 'close')]).catch(() => undefined);
    if (this.closedChannels.has(channel)) return;
    if (signal) sendExitSignal(channel, signal);
    else channel.exit(code ?? 0);
    channel.end();
  }

  async listen(): Promise<{ host: string; port: number }> {
    const tryListen = (ip: string) =>
      new Promise<AddressInfo>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(0, ip, () => {
          this.server.off('error', reject);
          resolve(this.server.address() as AddressInfo);
        });
      });
    try {
      const address = await tryListen(this.options.host.ip);
      return { host: address.address, port: address.port };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
      const address = await tryListen('127.0.0.1');
      return { host: address.address, port: address.port };
    }
  }

  get runningCount(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const client of this.connections) client.end();
    await Promise.all([...this.running].map(stop));
    await closed;
  }
}

function writeClientKey(sshDir: string): { file: string; key: ParsedKey } {
  const pair = generateKey({ comment: `${USER}@kasm-lab` });
  const file = join(sshDir, 'id_ed25519');
  writeFileSync(file, pair.private, { mode: 0o600 });
  writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return { file, key: pair.key };
}

export async function startSshHosts(opts: { root: string; hosts: HostState[] }): Promise<SshHostsHandle> {
  const sshDir = paths.ssh(opts.root);
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const client = writeClientKey(sshDir);
  const servers: HostServer[] = [];
  const hosts: SshHostsHandle['hosts'] = [];
  const knownHosts: string[] = [];
  const close = async () => {
    await Promise.all(servers.map((server) => server.close()));
  };
  try {
    for (const host of opts.hosts) {
      mkdirSync(paths.host(opts.root, host.id), { recursive: true });
      const pair = generateKey();
      const hostKey = pair.key;
      const server = new HostServer({ root: opts.root, host, hostKey: pair.private, clientKey: client.key });
      servers.push(server);
      const address = await server.listen();
      const hostFile = paths.hostFile(opts.root, host.id);
      writeJson(hostFile, { ...(existsSync(hostFile) ? readJson<HostState>(hostFile) : host), sshPort: address.port });
      hosts.push({ id: host.id, host: address.host, port: address.port, fingerprint: fingerprint(hostKey) });
      knownHosts.push(`[${address.host}]:${address.port} ${hostKey.type} ${hostKey.getPublicSSH().toString('base64')}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const knownHostsFile = join(sshDir, 'known_hosts');
  writeFileSync(knownHostsFile, `${knownHosts.join('\n')}\n`, { mode: 0o644 });
  const running = () => servers.reduce((sum, server) => sum + server.runningCount, 0);
  const ran = () => ({ inProcess: servers.reduce((sum, s) => sum + s.ran.inProcess, 0), bash: servers.reduce((sum, s) => sum + s.ran.bash, 0) });
  return { clientKeyFile: client.file, knownHostsFile, user: USER, hosts, running, ran, close };
}
