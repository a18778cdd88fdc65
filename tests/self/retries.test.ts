// Retries by cause: a transient reset is retried with backoff and reported flaky; a refused API key is not retried
// (one attempt, whose finding says why); every attempt's evidence stays in the report.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labForSuite, runSuite } from './suite-run.ts';

interface JsonResult {
  status: string;
  duration: number;
  retry: number;
  attachments: Array<{ name: string }>;
  errors: Array<{ message?: string }>;
}

interface JsonTest {
  status: string;
  results: JsonResult[];
}

interface JsonSpec {
  title: string;
  tests: JsonTest[];
}

interface JsonSuite {
  specs: JsonSpec[];
  suites?: JsonSuite[];
}

function specs(suites: JsonSuite[]): JsonSpec[] {
  return suites.flatMap((s) => [...s.specs, ...specs(s.suites ?? [])]);
}

describe('retries by cause', { concurrency: false }, () => {
  const suite = labForSuite('kasm-retries-');

  async function run(name: string, env: Record<string, string>, grep: string): Promise<{ code: number | null; output: string; specs: JsonSpec[]; diagnosis: NonNullable<Awaited<ReturnType<typeof runSuite>>['diagnosis']> }> {
    const dir = join(suite.work, name);
    const json = join(dir, 'results.json');
    const result = await runSuite(suite.lab, dir, { PLAYWRIGHT_JSON_OUTPUT_NAME: json, ...env }, ['--project', 'checks', '--grep', grep, '--reporter', `json,${join(process.cwd(), 'helpers/diagnosis/reporter.ts')}`]);
    assert.ok(result.diagnosis, result.output.slice(-3000));
    return { code: result.code, output: result.output, specs: specs((JSON.parse(readFileSync(json, 'utf8')) as { suites: JsonSuite[] }).suites), diagnosis: result.diagnosis };
  }

  it('retries a reset with backoff, keeps both attempts, and reports the pass as flaky', { timeout: 120_000 }, async () => {
    suite.lab.faults.set(['network-blip']);
    try {
      const { code, specs: found, diagnosis } = await run('blip', { KASM_RETRIES: '2', KASM_RETRY_BACKOFF_MS: '1500' }, '@api');
      assert.equal(code, 0, 'a flaky pass does not fail the run');
      const health = found.find((s) => s.title.startsWith('kasm_api answers its health check'))!.tests[0]!;
      assert.equal(health.status, 'flaky');
      assert.deepEqual(health.results.map((r) => [r.retry, r.status]), [[0, 'failed'], [1, 'passed']]);
      assert.match(health.results[0]!.errors[0]!.message ?? '', /ECONNRESET|UND_ERR_SOCKET/);
      assert.ok(health.results[1]!.duration >= 1_500, `the retry waited for its backoff (${health.results[1]!.duration} ms)`);
      for (const result of health.results) assert.ok(result.attachments.some((a) => a.name === 'kasm-finding'), 'every attempt keeps its finding');
      const finding = diagnosis.findings.find((f) => f.check === 'api.health')!;
      assert.equal(finding.status, 'warn');
      assert.deepEqual(finding.flaky?.attempts, 2);
      assert.match(finding.summary, /^passed on attempt 2 after a transient failure: .*(?:ECONNRESET|UND_ERR_SOCKET)/);
      assert.equal(diagnosis.verdict, 'healthy');
    } finally {
      suite.lab.faults.set([]);
    }
  });

  it('does not retry a refused API key: one attempt, and the finding says why', { timeout: 120_000 }, async () => {
    const { code, specs: found, diagnosis } = await run('auth', { KASM_API_SECRET: 'not-the-secret', KASM_RETRIES: '2', KASM_RETRY_BACKOFF_MS: '5000' }, 'Developer API creates');
    assert.equal(code, 1);
    const create = found.find((s) => s.title.startsWith('the Developer API creates a session'))!.tests[0]!;
    assert.equal(create.status, 'unexpected');
    assert.deepEqual(create.results.map((r) => [r.retry, r.status]), [[0, 'failed']], 'no retry, no second worker');
    assert.match(create.results[0]!.errors[0]!.message ?? '', /^Error: \[api\] api\.session-create: .*the Developer API refused the key/);
    const finding = diagnosis.findings.find((f) => f.check === 'api.session-create')!;
    assert.equal(finding.status, 'fail');
    assert.match(finding.summary, /the Developer API refused the key: /);
    assert.equal(finding.notRetried, "not retried: a retry does not change a failure of configuration, credentials, or Kasm's state");
    assert.equal(finding.flaky, undefined);
  });
});
