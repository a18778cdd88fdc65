// Runs a command the way a user would and measures it: wall time from spawn to exit, and the peak resident memory
// (VmHWM) of every Node process in its tree, sampled from /proc while it runs. Browsers are left out: they are not
// the runner, and what the suite reads never passes through them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measured {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** The highest VmHWM among the run's Node processes (runner and workers), in MiB; null where /proc is missing. */
  peakNodeMb: number | null;
  output: string;
}

const SAMPLE_MS = 50;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants, through /proc/<pid>/task/<tid>/children. */
function tree(root: number): number[] {
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    const pid = found[i]!;
    const tasks = read(`/proc/${pid}/task/${pid}/children`);
    if (tasks) found.push(...tasks.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return found;
}

/** VmHWM in KiB of the Node processes among `pids`. */
function nodePeaks(pids: number[]): Map<number, number> {
  const peaks = new Map<number, number>();
  for (const pid of pids) {
    const status = read(`/proc/${pid}/status`);
    if (!status || !/^Name:\s*(node|MainThread)\b/m.test(status)) continue;
    const hwm = /^VmHWM:\s*(\d+) kB/m.exec(status);
    if (hwm) peaks.set(pid, Number(hwm[1]));
  }
  return peaks;
}

export function measure(command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number }): Promise<Measured> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const peaks = new Map<number, number>();
  // Without /proc/<pid>/task/<pid>/children the workers cannot be found: no number beats a wrong one.
  const proc = read(`/proc/${process.pid}/task/${process.pid}/children`) !== undefined;
  const sample = () => {
    if (child.pid === undefined) return;
    for (const [pid, kb] of nodePeaks(tree(child.pid))) peaks.set(pid, Math.max(kb, peaks.get(pid) ?? 0));
  };
  const sampler = proc ? setInterval(sample, SAMPLE_MS) : undefined;
  const killer = setTimeout(() => {
    output += `\n[bench] killed after ${options.timeoutMs} ms\n`;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(killer);
      const peakKb = Math.max(0, ...peaks.values());
      resolve({ command: [command, ...args].join(' '), code, signal, wallMs: performance.now() - started, peakNodeMb: proc && peakKb ? peakKb / 1024 : null, output });
    });
  });
}
