// What a host command knows: which lab and host it runs on (from the SSH session's environment) and that host's
// state as the lab's servers last wrote it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants as fsConstants, existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { Readable, Transform, Writable } from 'node:stream';
import { paths, readJson, type ContainerState, type HostState } from '../state.ts';
import type { StoredContainer } from './docker-format.ts';

/** A command's failure as the real tool reports it: the text for stderr and the exit code. */
export class CommandFailure extends Error {
  readonly code = 'LAB_HOST_COMMAND';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Where a command reads and writes and what it sees of its environment: the process's own when a shim starts it
 * (bash on an SSH exec with pipes or expansions, `docker exec` in a container), an SSH channel's when the lab runs a
 * plain command line in its own process (lab/host/plain-command.ts).
 */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** The working directory bash would have given the command: the host's folder. */
  cwd: string;
  /** Aborted when whoever ran the command has gone: nothing the command waits for may outlive it. */
  signal: AbortSignal;
  /**
   * The command runs inside the lab's process rather than a process of its own, so a program it starts gets a
   * process group of its own, which an abort kills as the lab kills bash's group (SIGTERM, then SIGKILL).
   */
  hosted: boolean;
}

export function processIo(): Io {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: new AbortController().signal, hosted: false };
}

export interface Container {
  state: StoredContainer;
  dir: string;
  fullId: string;
  /** When container.json last changed: the best guess for when a stopped container stopped. */
  changedAt: Date;
}

export class HostContext {
  constructor(
    readonly root: string,
    readonly hostId: string,
    readonly io: Io,
    readonly now = new Date(),
  ) {}

  static of(io: Io): HostContext {
    const root = io.env.LAB_ROOT;
    const hostId = io.env.LAB_HOST_ID;
    if (!root || !hostId) throw new CommandFailure('lab: LAB_ROOT and LAB_HOST_ID are not set; run this command through the lab SSH hosts', 2);
    return new HostContext(root, hostId, io);
  }

  host(): HostState {
    return readJson<HostState>(paths.hostFile(this.root, this.hostId));
  }

  containers(): Container[] {
    const dir = paths.containers(this.root, this.hostId);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => join(dir, name))
      .filter((containerDir) => existsSync(join(containerDir, 'container.json')))
      .map((containerDir) => loadContainer(containerDir));
  }

  /** Docker resolves a reference as a full ID, a name (with or without the leading `/`), then a unique ID prefix. */
  findContainer(reference: string): Container | undefined {
    const all = this.containers();
    const name = reference.replace(/^\//, '');
    const exact = all.find((c) => c.fullId === reference || c.state.name === name);
    if (exact) return exact;
    const prefixed = all.filter((c) => reference.length > 0 && c.fullId.startsWith(reference));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  requireContainer(reference: string): Container {
    const container = this.findContainer(reference);
    if (!container) throw new CommandFailure(`Error response from daemon: No such container: ${reference}`);
    return container;
  }

  faults(): Set<string> {
    const file = paths.faults(this.root);
    return new Set(existsSync(file) ? readJson<string[]>(file) : []);
  }
}

/** Addresses on kasm_default_network (172.18.0.0/16), in creation order as docker hands them out. */
export function containerAddresses(context: HostContext): Map<string, string> {
  const ordered = context
    .containers()
    .sort((a, b) => new Date(a.state.created).getTime() - new Date(b.state.created).getTime() || a.state.name.localeCompare(b.state.name));
  return new Map(ordered.map((c, i) => [c.state.name, `172.18.0.${2 + i}`]));
}

/** Docker IDs are 64 hex digits; the lab may store the 12-digit short form, which the full one must start with. */
export function fullId(container: Pick<ContainerState, 'id' | 'name'>): string {
  if (container.id.length >= 64) return container.id;
  const tail = createHash('sha256').update(`${container.name}/${container.id}`).digest('hex');
  return (container.id + tail).slice(0, 64);
}

export function loadContainer(dir: string): Container {
  const file = join(dir, 'container.json');
  const state = readJson<StoredContainer>(file);
  return { state, dir, fullId: fullId(state), changedAt: statSync(file).mtime };
}

/**
 * Writes with backpressure: large outputs (docker logs of a big file) wait for the reader instead of buffering, and
 * stop waiting (AbortError) when the reader has gone.
 */
export async function write(stream: Writable, data: string | Buffer, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  if (!stream.write(data)) await once(stream, 'drain', signal ? { signal } : {});
}

export interface ChildPlan {
  file: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** Whether the program reads the command's stdin (`docker exec -i`, sudo); otherwise it gets none. */
  stdin: boolean;
  /** The failure to report when the program does not exist, or exists but may not be run. */
  cannotRun: (why: 'missing' | 'denied') => CommandFailure;
}

/** How long an abandoned command's programs get between SIGTERM and SIGKILL, in bash's group or a hosted program's. */
export const KILL_GRACE_MS = 1000;

/** Signals a process group (its leader may have gone while its children live on); a group that is gone is left be. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** Whether bash would run `file` (a path as given, or the first executable of that name on PATH), and if not, why. */
function runnable(file: string, searchPath: string, cwd: string): 'ok' | 'missing' | 'denied' {
  const check = (path: string): 'ok' | 'missing' | 'denied' => {
    if (!existsSync(path) || !statSync(path).isFile()) return 'missing';
    try {
      accessSync(path, fsConstants.X_OK);
      return 'ok';
    } catch {
      return 'denied';
    }
  };
  if (file.includes('/')) return check(resolve(cwd, file));
  const found = searchPath.split(delimiter).flatMap((dir) => (dir === '' ? [] : [check(join(dir, file))]));
  return found.includes('ok') ? 'ok' : found.includes('denied') ? 'denied' : 'missing';
}

const CANNOT_RUN: Record<string, 'missing' | 'denied'> = { ENOENT: 'missing', EACCES: 'denied' };

/**
 * Runs a program for a command and waits for it. Its output reaches the command's own: inherited when that is this
 * process's, piped to the SSH channel when the command is hosted, or through `terminal` (a TTY's translation,
 * stdout and stderr joined). A hosted command's program is killed with its process group when the caller goes.
 */
export async function runChild(io: Io, plan: ChildPlan, terminal?: Transform): Promise<number> {
  io.signal.throwIfAborted();
  const cwd = plan.cwd ?? io.cwd;
  const inherit = !io.hosted && !terminal;
  // bash's 2>&1 hands the program one descriptor for both streams; two pipes read apart would reorder them.
  const joined = io.hosted && !terminal && io.stdout === io.stderr;
  if (joined) {
    // The shell would answer a program it cannot run in its own words; the check says it the way a spawn does.
    const found = runnable(plan.file, plan.env.PATH ?? '', cwd);
    if (found !== 'ok') throw plan.cannotRun(found);
  }
  const [file, args] = joined ? ['/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', plan.file, ...plan.args]] : [plan.file, plan.args];
  const input = !plan.stdin ? 'ignore' : inherit ? 'inherit' : 'pipe';
  const child = spawn(file, args, { cwd, env: plan.env, detached: io.hosted, stdio: [input, inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'] });
  const status = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const why = CANNOT_RUN[error.code ?? ''];
      reject(why ? plan.cannotRun(why) : error);
    });
    child.once('close', (...ended) => resolve(ended));
  });
  if (child.stdin) {
    child.stdin.on('error', () => undefined);
    io.stdin.pipe(child.stdin);
  }
  child.stdout?.pipe(terminal ?? io.stdout, { end: false });
  child.stderr?.pipe(terminal ?? io.stderr, { end: false });
  terminal?.pipe(io.stdout, { end: false });
  const kill = (signal: NodeJS.Signals) => (io.hosted ? killGroup(child, signal) : child.kill(signal));
  const abandon = () => {
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS).unref();
    // Nobody reads any more: without its pipes, a child still holding them cannot keep this waiting.
    child.stdout?.destroy();
    child.stderr?.destroy();
    terminal?.destroy();
  };
  io.signal.addEventListener('abort', abandon, { once: true });
  try {
    const [code, signal] = await status;
    if (terminal && !io.signal.aborted) {
      terminal.end();
      await once(terminal, 'end', { signal: io.signal }).catch(() => undefined);
    }
    return exitStatus(code, signal);
  } finally {
    io.signal.removeEventListener('abort', abandon);
    if (child.stdin) {
      io.stdin.unpipe(child.stdin);
      // What the program left unread is nobody's: a hosted command's input keeps flowing so the channel can close.
      if (io.hosted) io.stdin.resume();
    }
  }
}

/** A child's end as a shell reports it: its exit code, or 128 + the number of the signal that killed it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}
