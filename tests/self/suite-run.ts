// Runs the suite (`playwright test`) against a lab the test started, the way a user would, and collects what it
// wrote: the exit code, the output and reports/diagnosis.json. Also the lab a describe block's tests share.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { projectRoot } from '../../helpers/config.ts';
import type { Diagnosis } from '../../helpers/diagnosis/finding.ts';
import { startLab, suiteEnv, type Lab, type LabOptions } from '../../lab/index.ts';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  diagnosis: Diagnosis | undefined;
  dir: string;
}

export interface StartedSuite {
  child: ChildProcess;
  /** Kills the runner and everything it started (workers, browsers), as a crash or `kill -9` would. */
  kill(): void;
  finished: Promise<Run>;
}

export function startSuite(lab: Pick<Lab, 'env'>, dir: string, extraEnv: Record<string, string> = {}, args: string[] = []): StartedSuite {
  // Its own process group, so kill() reaches the workers too.
  const child = spawn(join(projectRoot, 'node_modules/.bin/playwright'), ['test', ...args], { cwd: projectRoot, env: suiteEnv(lab, dir, extraEnv), detached: true });
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (error) {
      // Already gone between the check and the kill.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const timer = setTimeout(kill, 170_000);
  const finished = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const file = join(dir, 'reports', 'diagnosis.json');
      resolve({ code, signal, output, dir, diagnosis: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Diagnosis) : undefined });
    });
  });
  return { child, kill, finished };
}

/** For an assertion message: the findings that did not pass (the why), then the tail of the output (the how). */
export function failureContext(run: Run, tail = 5000): string {
  const findings = (run.diagnosis?.findings ?? []).filter((f) => f.status !== 'pass').map((f) => `${f.status} ${f.check}${f.target ? ` (${f.target})` : ''}: ${f.summary}`);
  const header = run.diagnosis ? `exit ${run.code ?? run.signal}; findings that did not pass:\n${findings.join('\n') || '(none)'}` : `exit ${run.code ?? run.signal}; no diagnosis.json written`;
  return `\n--- ${header}\n--- suite output (last ${tail} characters) ---\n${run.output.slice(-tail)}`;
}

export const runSuite = (lab: Pick<Lab, 'env'>, dir: string, extraEnv: Record<string, string> = {}, args: string[] = []): Promise<Run> => startSuite(lab, dir, extraEnv, args).finished;

export interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Both streams, in the order they arrived. */
  output: string;
  ms: number;
}

/** Runs one of the project's CLIs (helpers/cli/<name>.ts) against the lab, as its npm script would, and collects what it printed. */
export function runCli(lab: Pick<Lab, 'env'>, dir: string, name: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<Cli> {
  const started = Date.now();
  const child = spawn(join(projectRoot, 'node_modules/.bin/tsx'), [`helpers/cli/${name}.ts`, ...args], { cwd: projectRoot, env: suiteEnv(lab, dir, extraEnv) });
  const printed = { stdout: '', stderr: '', output: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    printed.stdout += chunk;
    printed.output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    printed.stderr += chunk;
    printed.output += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, ...printed, ms: Date.now() - started })));
}

export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * For a describe block whose tests share one lab: a work folder now, the lab started before the tests, both gone
 * after them. `lab` is read inside the tests (before that it does not exist yet).
 */
export function labForSuite(prefix: string, options: LabOptions = {}): { readonly lab: Lab; work: string } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  let started: Lab | undefined;
  before(async () => {
    started = await startLab(options);
  });
  after(async () => {
    await started?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  return {
    get lab() {
      if (!started) throw new Error('the lab starts in the describe block\'s before hook: read it inside a test or hook');
      return started;
    },
    work,
  };
}
