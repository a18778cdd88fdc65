// The benchmark's parts: its arithmetic, how it measures a process, the floor script against a lab, the lab's log
// history and the docker logs costs it models, the CLI's refusals, and which runs observe their session early. The
// full `npm run bench` takes minutes and is run by hand (README, Benchmark); these keep its parts honest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { figure, median, table } from '../../helpers/bench/figures.ts';
import { measure } from '../../helpers/bench/measure.ts';
import { projectRoot } from '../../helpers/config.ts';
import { parseKasmApiLog } from '../../helpers/logs/kasm-api.ts';
import { parseNginxAccessLog } from '../../helpers/logs/nginx.ts';
import { writeHistory } from '../../lab/history.ts';
import { lineStamp, streamLog } from '../../lab/host/log-file.ts';
import { startLab, type Lab } from '../../lab/index.ts';
import { dockerTimestamp } from '../../lab/state.ts';
import { selectsEveryTest } from '../../helpers/run-selection.ts';

describe('bench figures', () => {
  it('takes the median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), RangeError);
  });

  it('judges the median ratio against the target, with min and max, and memory where the figure has a limit', () => {
    const pairs = [1.8, 2.2, 1.9].map((ratio) => ({ numeratorMs: ratio * 1000, denominatorMs: 1000, peakMb: [120, 110] as [number, number] }));
    const met = figure({ name: 'f', what: 'a / b', target: 2 }, pairs);
    assert.deepEqual([met.median, met.min, met.max, met.met], [1.9, 1.8, 2.2, true]);
    const missed = figure({ name: 'f', what: 'a / b', target: 1.5 }, pairs);
    assert.equal(missed.met, false);
    assert.match(missed.missed!, /median 1\.9 is above the target 1\.5/);
    const heavy = figure({ name: 'm', what: 'a / b', target: 2, memoryLimitMb: 100 }, pairs);
    assert.equal(heavy.peakMb, 120);
    assert.match(heavy.missed!, /peak memory 120 MiB is not under 100 MiB/);
    const unreadable = figure({ name: 'm', what: 'a / b', target: 2, memoryLimitMb: 300 }, [{ numeratorMs: 1, denominatorMs: 1, peakMb: [null, null] }]);
    assert.equal(unreadable.met, false, 'a memory limit nobody could read is not met');
  });

  it('prints every figure with its target and whether it is met', () => {
    const text = table([figure({ name: 'suite_vs_floor', what: '', target: 2 }, [{ numeratorMs: 3000, denominatorMs: 2000 }]), figure({ name: 'log_size', what: '', target: 1.1, memoryLimitMb: 300 }, [{ numeratorMs: 2000, denominatorMs: 1000, peakMb: [50, 40] }])]);
    assert.match(text, /^suite_vs_floor +1\.50 +1\.50 +1\.50 +<= 2 +yes +3\.0 s \/ 2\.0 s$/m);
    assert.match(text, /^log_size +2\.00 .* <= 1\.1 +NO +2\.0 s \/ 1\.0 s; peak 50 MiB \(< 300\)$/m);
  });
});

describe('measure', () => {
  it('times a process and reads the peak memory of its Node processes', async () => {
    const run = await measure(process.execPath, ['-e', 'const b = Buffer.alloc(96 * 1024 * 1024, 1); setTimeout(() => console.log(b.length), 400)'], { cwd: projectRoot, env: process.env, timeoutMs: 10_000 });
    assert.equal(run.code, 0);
    assert.equal(run.output.trim(), String(96 * 1024 * 1024));
    assert.ok(run.wallMs >= 400, `${run.wallMs} ms`);
    assert.ok(run.peakNodeMb !== null && run.peakNodeMb >= 96, `peak ${run.peakNodeMb} MiB`);
  });

  it('kills what outlives its limit, children included', async () => {
    const run = await measure(process.execPath, ['-e', "require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'inherit' }); setTimeout(() => {}, 60000)"], { cwd: projectRoot, env: process.env, timeoutMs: 500 });
    assert.equal(run.signal, 'SIGKILL');
    assert.match(run.output, /\[bench\] killed after 500 ms/);
    assert.ok(run.wallMs < 5_000);
  });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('lab log history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kasm-history-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the size asked for, in lines the suite parses, dated over the month before the lab started', () => {
    const now = new Date();
    for (const [container, parse] of [
      ['kasm_api', (text: string) => parseKasmApiLog(text)],
      ['kasm_proxy', (text: string) => parseNginxAccessLog(text)],
    ] as const) {
      const file = join(dir, container);
      writeHistory(file, container, 3 * 1024 * 1024, now);
      const size = statSync(file).size;
      assert.ok(Math.abs(size - 3 * 1024 * 1024) <= 1024 * 1024, `${size} bytes`);
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      const stamps = lines.map((line) => lineStamp(Buffer.from(line))!);
      assert.ok(stamps.every((stamp, i) => stamp !== null && (i === 0 || stamp >= stamps[i - 1]!)), 'docker timestamps only grow');
      assert.ok(stamps.at(-1)! < BigInt(now.getTime() - 3_000_000) * 1_000_000n, 'the history ends before the lab started');
      const parsed = parse(lines.slice(0, 400).map((line) => line.slice(line.indexOf(' ') + 1)).join('\n'));
      assert.equal(parsed.unparsed.length, 0, `${container}: ${parsed.unparsed[0]}`);
    }
  });

  it('costs what docker logs costs: --since alone reads from the first line, --tail with --since only the tail', async () => {
    const file = join(dir, 'mixed');
    const now = new Date();
    writeHistory(file, 'kasm_api', 2 * 1024 * 1024, now);
    const recent = [1, 2, 3].map((n) => `${dockerTimestamp(new Date(now.getTime() + n))} recent line ${n}\n`).join('');
    appendFileSync(file, recent);
    const since = BigInt(now.getTime()) * 1_000_000n;
    const read = async (query: Parameters<typeof streamLog>[1]) => {
      const out = new Collect();
      await streamLog(file, query, out);
      return out.text;
    };
    assert.equal(await read({ since, timestamps: false }), 'recent line 1\nrecent line 2\nrecent line 3\n');
    assert.equal(await read({ since, tail: 2, timestamps: false }), 'recent line 2\nrecent line 3\n');
    assert.equal(await read({ since, tail: 20_000, timestamps: false }), 'recent line 1\nrecent line 2\nrecent line 3\n', 'the tail\'s older lines are filtered by --since');
  });
});

describe('the floor script', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab();
  });
  after(() => lab?.stop());

  it('starts the browser, reaches a first frame, reads every host once, and leaves no session behind', { timeout: 60_000 }, async () => {
    const run = await measure(process.execPath, ['--import', 'tsx', join(projectRoot, 'helpers/bench/floor.ts')], { cwd: projectRoot, env: { ...process.env, ...lab.env, KASM_ENV: 'lab' }, timeoutMs: 45_000 });
    assert.equal(run.code, 0, run.output);
    const { phases } = JSON.parse(run.output.trim().split('\n').at(-1)!) as { phases: Record<string, number> };
    assert.deepEqual(Object.keys(phases).sort(), ['browserStart', 'firstFrame', 'hosts', 'sessionRunning', 'total']);
    assert.ok(phases.total! <= run.wallMs);
    assert.equal([...lab.api.sessions.values()].filter((s) => s.status !== 'stopped').length, 0);
  });
});

describe('npm run bench', () => {
  const bench = (args: string[]) => spawnSync(join(projectRoot, 'node_modules/.bin/tsx'), ['helpers/cli/bench.ts', ...args], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });

  it('refuses fewer than 3 repetitions and unknown figures before starting anything', () => {
    const few = bench(['--reps', '2']);
    assert.equal(few.status, 2);
    assert.match(few.stderr, /--reps must be a whole number from 3 to 50 \(a median needs at least 3\), got "2"/);
    const unknown = bench(['--only', 'nope']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown figure\(s\) nope; known: suite_vs_floor, agents_scaling, log_size, fault_fail_fast/);
  });
});

describe('which runs start observing the session early', () => {
  const argv = (...args: string[]) => ['/usr/bin/node', '/work/node_modules/.bin/playwright', 'test', ...args];

  it('a run of every check does, whatever its reporters, workers or retries', () => {
    assert.equal(selectsEveryTest(argv()), true);
    assert.equal(selectsEveryTest(argv('--reporter', 'list', '--workers', '2', '--retries=1', '-x')), true);
  });

  it('a run narrowed by grep, project, file, shard or last-failed does not, and neither does anything unclear', () => {
    for (const args of [['--grep', '@smoke'], ['-g', 'x'], ['--grep=@api'], ['--project', 'checks'], ['tests/api-health.spec.ts'], ['--shard', '1/2'], ['--last-failed'], ['--list']]) {
      assert.equal(selectsEveryTest(argv(...args)), false, args.join(' '));
    }
    assert.equal(selectsEveryTest(['/usr/bin/node', 'script.js']), false);
  });
});
