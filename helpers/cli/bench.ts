// `npm run bench [-- --reps N] [--only a,b] [--lab in-process|real]`: the suite's speed and scale on an embedded lab
// (the in-process one by default; `--lab real` the real-parts one, which has no log history, so no log_size), as ratios each
// measured in this one run (median of N >= 3 repetitions, with min and max), printed as a table and written to
// reports/bench.json. Exit 0 when every figure meets its target, 1 when one does not, 2 when the bench could not run.
//
//   suite_vs_floor   the whole non-mutating suite, healthy lab / the floor script (helpers/bench/floor.ts)
//   agents_scaling   the server-hop checks (@webapp, @agent) with 10 agents / with 1 agent
//   log_size         the log-reading checks (@logs) with 1 GiB of kasm_api and kasm_proxy history / with 1 MiB;
//                    the runner's Node processes also stay under 300 MiB in both
//   fault_fail_fast  the whole suite with websocket-blocked (the path hop broken) / the healthy run
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLab, suiteEnv, type LabOptions } from '../../lab/index.ts';
import { realLabSupport } from '../../lab/real/prereqs.ts';
import { startRealLab } from '../../lab/real/index.ts';
import { projectRoot } from '../config.ts';
import type { Diagnosis } from '../diagnosis/finding.ts';
import { figure, seconds, table, type Figure, type FigureSpec, type Pair } from '../bench/figures.ts';
import { measure, type Measured } from '../bench/measure.ts';

const MIB = 1024 * 1024;
const FIGURES: FigureSpec[] = [
  { name: 'suite_vs_floor', what: 'whole non-mutating suite on the healthy lab / floor script', target: 2.0 },
  { name: 'agents_scaling', what: 'server-hop checks (@webapp|@agent), 10 agents / 1 agent', target: 1.5 },
  { name: 'log_size', what: 'log-reading checks (@logs), 1 GiB of history / 1 MiB', target: 1.1, memoryLimitMb: 300 },
  { name: 'fault_fail_fast', what: 'whole suite with websocket-blocked / healthy', target: 1.2 },
];
const EARLY_FAULT = 'websocket-blocked';

class BenchError extends Error {}

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: process.env.KASM_BENCH_REPS ?? '3' },
    only: { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
    lab: { type: 'string', default: 'in-process' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run bench -- [--reps N (>= 3)] [--only suite_vs_floor,agents_scaling,log_size,fault_fail_fast] [--lab in-process|real] [--keep]');
  process.exit(0);
}
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 3 || reps > 50) {
  console.error(`bench: --reps must be a whole number from 3 to 50 (a median needs at least 3), got "${values.reps}"`);
  process.exit(2);
}
if (values.lab !== 'in-process' && values.lab !== 'real') {
  console.error(`bench: --lab must be in-process or real, got "${values.lab}"`);
  process.exit(2);
}
const real = values.lab === 'real';
// The real-parts lab writes no made-up history into its containers' logs, so log_size is the in-process lab's figure.
const only = values.only ? values.only.split(',').map((s) => s.trim()) : FIGURES.map((f) => f.name).filter((name) => !(real && name === 'log_size'));
const unknown = only.filter((name) => !FIGURES.some((f) => f.name === name));
if (unknown.length) {
  console.error(`bench: unknown figure(s) ${unknown.join(', ')}; known: ${FIGURES.map((f) => f.name).join(', ')}`);
  process.exit(2);
}
const wanted = (name: string) => only.includes(name);
if (real && wanted('log_size')) {
  console.error('bench: log_size needs log history, which only the in-process lab writes (--lab in-process)');
  process.exit(2);
}
if (real) {
  const support = await realLabSupport({ install: true });
  if (!support.ok) {
    console.error(`bench: --lab real: the real-parts lab cannot run here: ${support.reason}`);
    process.exit(2);
  }
}

/** What the bench asks of a lab of either kind. */
interface BenchLab {
  env: Record<string, string>;
  faults: { set(list: string[]): unknown };
  stop(): Promise<void>;
}

const bin = (name: string) => join(projectRoot, 'node_modules', '.bin', name);
const browser = spawnSync(bin('tsx'), [join(projectRoot, 'helpers/cli/ensure-browser.ts')], { stdio: 'inherit', timeout: 15 * 60_000 });
if (browser.status !== 0) process.exit(browser.status ?? 2);

const work = mkdtempSync(join(tmpdir(), 'kasm-bench-'));
let runs = 0;

interface Run extends Measured {
  label: string;
  diagnosis: Diagnosis | undefined;
}

/** The non-mutating suite, whatever the caller's environment says. */
const environment = (lab: BenchLab, dir: string) => suiteEnv(lab, dir, { KASM_ALLOW_MUTATIONS: 'false' });

async function suite(lab: BenchLab, label: string, args: string[], expect: { code: number; faultyHop?: string }): Promise<Run> {
  const dir = join(work, `${String(++runs).padStart(3, '0')}-${label}`);
  mkdirSync(dir, { recursive: true });
  const measured = await measure(bin('playwright'), ['test', ...args], { cwd: projectRoot, env: environment(lab, dir), timeoutMs: 300_000 });
  const file = join(dir, 'reports', 'diagnosis.json');
  const diagnosis = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Diagnosis) : undefined;
  const run: Run = { ...measured, label, diagnosis };
  const failing = diagnosis?.findings.filter((f) => f.status === 'fail').map((f) => `${f.check}: ${f.summary}`) ?? [];
  if (run.code !== expect.code || (expect.faultyHop && diagnosis?.faultyHop !== expect.faultyHop)) {
    throw new BenchError(
      `the ${label} run ended with exit ${run.code ?? run.signal}${diagnosis ? `, faulty hop ${diagnosis.faultyHop ?? 'none'}` : ''}; expected exit ${expect.code}${expect.faultyHop ? ` and faulty hop ${expect.faultyHop}` : ''}, ` +
        `so its time says nothing about speed.\n${failing.slice(0, 8).join('\n') || run.output.slice(-3000)}\n(its reports: ${dir})`,
    );
  }
  return run;
}

async function floor(lab: BenchLab): Promise<Run> {
  const dir = join(work, `${String(++runs).padStart(3, '0')}-floor`);
  const measured = await measure(process.execPath, ['--import', 'tsx', join(projectRoot, 'helpers/bench/floor.ts')], { cwd: projectRoot, env: environment(lab, dir), timeoutMs: 120_000 });
  if (measured.code !== 0) throw new BenchError(`the floor script failed (exit ${measured.code ?? measured.signal}):\n${measured.output.slice(-3000)}`);
  return { ...measured, label: 'floor', diagnosis: undefined };
}

const pair = (numerator: Measured, denominator: Measured): Pair => ({ numeratorMs: numerator.wallMs, denominatorMs: denominator.wallMs, peakMb: [numerator.peakNodeMb, denominator.peakNodeMb] });

const SERVER_HOPS = ['--grep', '@webapp|@agent', '--project', 'checks'];
const LOG_CHECKS = ['--grep', '@logs', '--project', 'checks'];

async function main(): Promise<number> {
  const started = performance.now();
  const labs: BenchLab[] = [];
  const start = async (what: string, options: LabOptions) => {
    const from = performance.now();
    const lab: BenchLab = real ? await startRealLab({ agents: options.agents }) : await startLab(options);
    labs.push(lab);
    console.log(`bench: ${real ? 'real-parts' : 'in-process'} lab ${real ? what.replace(/, 1 MiB of log history/, '') : what} up in ${seconds(performance.now() - from)}`);
    return lab;
  };
  try {
    const base = await start('1 WebApp + 1 agent, 1 MiB of log history', { logHistoryBytes: MIB });
    const wide = wanted('agents_scaling') ? await start('1 WebApp + 10 agents, 1 MiB of log history', { agents: 10, logHistoryBytes: MIB }) : undefined;
    const big = wanted('log_size') ? await start('1 WebApp + 1 agent, 1 GiB of log history in every kasm_api and kasm_proxy', { logHistoryBytes: 1024 * MIB }) : undefined;
    // One warm-up run: the first start of Playwright and Chromium reads them from disk; the repetitions should not.
    await suite(base, 'warm-up', ['--grep', '@smoke'], { code: 0 });

    const pairs: Record<string, Pair[]> = Object.fromEntries(FIGURES.map((f) => [f.name, []]));
    for (let rep = 1; rep <= reps; rep++) {
      const line: string[] = [];
      if (wanted('suite_vs_floor') || wanted('fault_fail_fast')) {
        const healthy = await suite(base, 'healthy', [], { code: 0 });
        line.push(`healthy ${seconds(healthy.wallMs)}`);
        if (wanted('suite_vs_floor')) {
          const measured = await floor(base);
          pairs.suite_vs_floor!.push(pair(healthy, measured));
          line.push(`floor ${seconds(measured.wallMs)}`);
        }
        if (wanted('fault_fail_fast')) {
          await base.faults.set([EARLY_FAULT]);
          try {
            const faulty = await suite(base, EARLY_FAULT, [], { code: 1, faultyHop: 'path' });
            pairs.fault_fail_fast!.push(pair(faulty, healthy));
            line.push(`${EARLY_FAULT} ${seconds(faulty.wallMs)}`);
          } finally {
            await base.faults.set([]);
          }
        }
      }
      if (wide) {
        const one = await suite(base, 'server-hops-1-agent', SERVER_HOPS, { code: 0 });
        const ten = await suite(wide, 'server-hops-10-agents', SERVER_HOPS, { code: 0 });
        pairs.agents_scaling!.push(pair(ten, one));
        line.push(`server hops ${seconds(one.wallMs)} / 10 agents ${seconds(ten.wallMs)}`);
      }
      if (big) {
        const small = await suite(base, 'logs-1MiB', LOG_CHECKS, { code: 0 });
        const large = await suite(big, 'logs-1GiB', LOG_CHECKS, { code: 0 });
        pairs.log_size!.push(pair(large, small));
        line.push(`logs 1 MiB ${seconds(small.wallMs)} / 1 GiB ${seconds(large.wallMs)}`);
      }
      console.log(`bench: repetition ${rep}/${reps}: ${line.join(', ')}`);
    }

    const figures: Figure[] = FIGURES.filter((f) => wanted(f.name)).map((spec) => figure(spec, pairs[spec.name]!));
    console.log(`\n${table(figures)}\n`);
    for (const f of figures.filter((f) => !f.met)) console.log(`bench: ${f.name} NOT met: ${f.missed}`);
    const reportsDir = join(projectRoot, 'reports');
    mkdirSync(reportsDir, { recursive: true });
    const result = {
      date: new Date().toISOString(),
      lab: real ? 'real-parts' : 'in-process',
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
      repetitions: reps,
      wallMs: Math.round(performance.now() - started),
      figures,
    };
    writeFileSync(join(reportsDir, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`bench: ${figures.filter((f) => f.met).length} of ${figures.length} figures met, in ${(result.wallMs / 1000).toFixed(0)} s; reports/bench.json written`);
    return figures.every((f) => f.met) ? 0 : 1;
  } finally {
    for (const lab of labs) await lab.stop();
    if (!values.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`bench: the runs' reports are kept in ${work}`);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`bench: could not measure: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
