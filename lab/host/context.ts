// What a host command knows: which lab and host it runs on (from the SSH session's environment) and that host's
// state as the lab's servers last wrote it.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
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
    readonly now = new Date(),
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): HostContext {
    const root = env.LAB_ROOT;
    const hostId = env.LAB_HOST_ID;
    if (!root || !hostId) throw new CommandFailure('lab: LAB_ROOT and LAB_HOST_ID are not set; run this command through the lab SSH hosts', 2);
    return new HostContext(root, hostId);
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

/** Writes with backpressure: large outputs (docker logs of a big file) wait for the reader instead of buffering. */
export async function write(stream: Writable, data: string | Buffer): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/** A child's end as a shell reports it: its exit code, or 128 + the number of the signal that killed it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}
