// What a real-parts lab leaves when its process is killed (kill -9, a cancelled CI job): its processes end with it
// (lab/real/host.ts), but its network namespaces, its containers' cgroup folders and its temp folder stay. Each lab
// registers itself here at start; the next start reaps every lab whose process is gone, and any lab namespace no
// living lab claims.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNamespace, listNamespaces, NS_PREFIX } from './network.ts';

interface Registration {
  id: string;
  pid: number;
  /** The owner's start time (/proc/<pid>/stat field 22), so a recycled pid is not taken for the owner. */
  started: string;
  root: string;
}

const registry = () => join(tmpdir(), 'kasm-synthetics-labs');

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const alive = (r: Registration) => startTime(r.pid) === r.started;

export function register(id: string, root: string): () => void {
  mkdirSync(registry(), { recursive: true, mode: 0o700 });
  const file = join(registry(), `${id}.json`);
  const entry: Registration = { id, pid: process.pid, started: startTime(process.pid) ?? '', root };
  writeFileSync(file, JSON.stringify(entry), { mode: 0o600 });
  return () => {
    rmSync(file, { force: true });
    // The folder goes with the last lab; another lab's registration keeps it.
    try {
      rmdirSync(registry());
    } catch {
      // Not empty, or gone already.
    }
  };
}

function registrations(): Registration[] {
  if (!existsSync(registry())) return [];
  return readdirSync(registry())
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => {
      try {
        return [JSON.parse(readFileSync(join(registry(), name), 'utf8')) as Registration];
      } catch {
        return [];
      }
    });
}

/** Removes the empty cgroup folders dockerd made under `/kasmlab-<id>-*` in every hierarchy, deepest first. */
export function removeCgroups(id: string): void {
  const base = '/sys/fs/cgroup';
  const hierarchies = [base, ...(existsSync(base) ? readdirSync(base).map((n) => join(base, n)) : [])];
  const removeTree = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeTree(join(dir, entry.name));
    try {
      rmdirSync(dir);
    } catch {
      // Still in use, or a kernel file: left alone.
    }
  };
  for (const hierarchy of hierarchies) {
    let names: string[];
    try {
      names = readdirSync(hierarchy);
    } catch {
      continue;
    }
    for (const name of names) if (name.startsWith(`kasmlab-${id}-`)) removeTree(join(hierarchy, name));
  }
}

export async function reapLab(id: string, root: string | undefined): Promise<void> {
  const mine = (await listNamespaces()).filter((ns) => ns.startsWith(`${NS_PREFIX}${id}-`));
  await Promise.all(mine.map((ns) => deleteNamespace(ns)));
  removeCgroups(id);
  // The lab's folder, and where kasm_db's cluster was being made beside it (lab/real/images.ts).
  for (const dir of root ? [root, `${root}.db`] : []) rmSync(dir, { recursive: true, force: true });
  rmSync(join(registry(), `${id}.json`), { force: true });
}

/** Reaps every lab whose owner is gone; returns their ids. */
export async function reapDeadLabs(): Promise<string[]> {
  const entries = registrations();
  const living = new Set(entries.filter(alive).map((r) => r.id));
  const dead = entries.filter((r) => !living.has(r.id));
  for (const r of dead) await reapLab(r.id, r.root);
  const orphans = new Set(
    (await listNamespaces())
      .map((ns) => ns.slice(NS_PREFIX.length).split('-')[0] ?? '')
      .filter((id) => id && !living.has(id)),
  );
  for (const id of orphans) await reapLab(id, undefined);
  return [...new Set([...dead.map((r) => r.id), ...orphans])];
}
