// `npm test`'s reporter: a line per test file with the running count, each failure in full, a last line
// `N passed, N failed`, everything in reports/self-test.log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../helpers/config.ts';
import { failureText, summaryLine } from '../../helpers/cli/test-progress.ts';

/** The environment of a fresh `node --test`: node:test marks its child processes, and refuses to run files inside one. */
function outsideThisTest(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

describe('npm test progress', () => {
  it('words the summary and keeps a failure\'s own message (node:test wraps it)', () => {
    assert.equal(summaryLine({ passed: 3, failed: 1, skipped: 0 }, 61_400), '3 passed, 1 failed in 61 s');
    assert.equal(summaryLine({ passed: 3, failed: 0, skipped: 2 }, 900), '3 passed, 0 failed, 2 skipped in 1 s');
    assert.equal(summaryLine({ passed: 3, failed: 0, skipped: 0, todo: 4 }, 900), '3 passed, 0 failed, 4 todo in 1 s');
    const wrapped = Object.assign(new Error('test failed'), { cause: new Error('2 !== 3') });
    assert.equal(failureText(wrapped), '2 !== 3');
    assert.match(failureText({ message: Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') }), /\.\.\. \(10 more lines in reports\/self-test\.log\)$/);
  });

  it('prints a running count per file, the failure where it happens, and ends on "N passed, N failed"', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kasm-test-progress-'));
    try {
      writeFileSync(join(dir, 'a.test.ts'), "import { it } from 'node:test';\nit('one', () => {});\nit('two', () => {});\n");
      writeFileSync(join(dir, 'b.test.ts'), "import assert from 'node:assert/strict';\nimport { it } from 'node:test';\nit('adds', () => { assert.equal(1 + 1, 3, 'arithmetic'); });\nit.skip('later', () => {});\n");
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${join(projectRoot, 'helpers/cli/test-progress.mjs')}`, join(dir, 'a.test.ts'), join(dir, 'b.test.ts')], { cwd: projectRoot, encoding: 'utf8', env: { ...outsideThisTest(), KASM_TEST_LOG: join(dir, 'self-test.log') } });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.match(run.stdout, /^\[1\/2\] ok {3}a\.test\.ts +2 passed, 0 failed \(\d+\.\d s\) · so far 2 passed, 0 failed$/m);
      assert.match(run.stdout, /^\[2\/2\] FAIL b\.test\.ts +0 passed, 1 failed, 1 skipped \(\d+\.\d s\) · so far 2 passed, 1 failed$/m);
      assert.match(run.stdout, /^FAIL b\.test\.ts › adds \(\d+\.\d s\)\n {5}arithmetic\n/m);
      assert.match(lines.at(-1)!, /^2 passed, 1 failed, 1 skipped in \d+ s$/);
      const log = readFileSync(join(dir, 'self-test.log'), 'utf8');
      assert.match(log, /not ok adds/);
      assert.match(log, /ok later # skipped/);
      // A file that does not even load is one failure, said as such.
      writeFileSync(join(dir, 'c.test.ts'), "throw new Error('this file cannot load');\n");
      const broken = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${join(projectRoot, 'helpers/cli/test-progress.mjs')}`, join(dir, 'c.test.ts')], { cwd: projectRoot, encoding: 'utf8', env: { ...outsideThisTest(), KASM_TEST_LOG: join(dir, 'self-test.log') } });
      assert.equal(broken.status, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout, /^FAIL c\.test\.ts \(the file itself\)$/m);
      assert.match(broken.stdout, /^\[1\/1\] FAIL c\.test\.ts +0 passed, 1 failed/m);
      assert.match(broken.stdout.trimEnd().split('\n').at(-1)!, /^0 passed, 1 failed in \d+ s$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
