// Runs the suite against one lab per row of the fault matrix and compares reports/diagnosis.json with the row.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pendingRestores } from '../../helpers/workspace-override.ts';
import { FAULTS, REAL_ONLY_FAULTS } from '../../lab/faults.ts';
import { startLab } from '../../lab/index.ts';
import { FAULT_MATRIX } from './fault-matrix.ts';
import { failureContext, filesUnder, labForSuite, runSuite } from './suite-run.ts';

describe('fault matrix', { concurrency: false }, () => {
  // The idle cut comes 2 s after a 101 here (600 ms by default), so the browser's own stream surely gets its first
  // frame before the cut while both workers start; the idle-cut row holds for 3 s to see it.
  const suite = labForSuite('kasm-matrix-', { idleCutMs: 2000 });

  it('has a row for every lab fault', () => {
    assert.deepEqual([...new Set(FAULT_MATRIX.map((r) => r.fault).filter(Boolean))].sort(), Object.keys(FAULTS).sort());
  });

  for (const row of FAULT_MATRIX) {
    const skip = row.fault && REAL_ONLY_FAULTS.has(row.fault) ? 'only the real-parts lab has a form of it (tests/self/real-lab.test.ts runs it)' : false;
    it(`${row.title ?? row.fault ?? 'healthy lab'}: ${row.failing.length ? `${row.failing.join(', ')} fail, faulty hop ${row.faultyHop}` : 'nothing fails'}`, { timeout: 180_000, skip }, async () => {
      suite.lab.faults.set(row.fault ? [row.fault] : []);
      const dir = join(suite.work, `${row.fault ?? 'healthy'}-${FAULT_MATRIX.indexOf(row)}`);
      const overrideBefore = suite.lab.workspace.run_config;
      const run = await runSuite(suite.lab, dir, row.env);
      const context = failureContext(run, 6000);
      assert.ok(run.diagnosis, `no diagnosis.json written${context}`);
      const failing = run.diagnosis.findings.filter((f) => f.status === 'fail');
      assert.deepEqual(failing.map((f) => f.check).sort(), [...row.failing].sort(), context);
      assert.equal(run.diagnosis.faultyHop, row.faultyHop, context);
      assert.equal(run.diagnosis.verdict, row.failing.length ? 'broken' : 'healthy', context);
      assert.equal(run.code, row.failing.length ? 1 : 0, context);
      if (row.message) assert.match(failing[0]!.summary, row.message, context);
      for (const finding of failing) {
        assert.ok(finding.summary.length > 20, `${finding.check}: the summary must say what failed`);
        assert.ok(finding.remediation.length > 20, `${finding.check}: the finding must say what to do`);
        assert.ok(Object.keys(finding.evidence).length > 0, `${finding.check}: the finding must carry its evidence`);
      }
      if (row.fault === 'proxy-stale-dns') assert.match(failing[0]!.remediation, /Stop and start Kasm's services in order/, context);
      if (row.fault === 'host-firewall') {
        const warning = run.diagnosis.findings.find((f) => f.check === 'agent.firewall');
        assert.equal(warning?.status, 'warn', 'the firewall rule is reported');
        assert.match(warning!.remediation, /disruptive/);
      }
      if (!row.fault) assert.deepEqual(run.diagnosis.findings.filter((f) => f.status === 'warn').map((f) => f.check), [], 'a healthy lab has no warnings');
      const flaky = run.diagnosis.findings.filter((f) => f.flaky);
      assert.deepEqual(flaky.map((f) => f.check), row.flaky ?? [], `flaky checks${context}`);
      for (const finding of flaky) {
        assert.equal(finding.status, 'warn');
        assert.match(finding.summary, /^passed on attempt 2 after a transient failure: .*(?:ECONNRESET|UND_ERR_SOCKET)/, context);
      }
      const blocked = run.diagnosis.findings.filter((f) => f.status === 'skip' && f.blockedBy);
      for (const finding of blocked) assert.match(finding.summary, /^blocked by /);
      const secrets = [suite.lab.env.KASM_API_SECRET!, suite.lab.env.KASM_USER_PASSWORD!, ...suite.lab.api.issued];
      for (const file of filesUnder(dir)) {
        const text = readFileSync(file, 'latin1');
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into ${file}`);
      }
      assert.equal([...suite.lab.api.sessions.values()].filter((s) => s.status !== 'stopped').length, 0, 'the suite left sessions behind');
      if (row.env?.KASM_ALLOW_MUTATIONS === 'true') {
        assert.deepEqual(run.diagnosis.changes.map((c) => c.state), ['applied', 'restored'], context);
        assert.equal(suite.lab.workspace.run_config, overrideBefore, 'the override is restored byte for byte after a failing run');
        assert.deepEqual(pendingRestores(suite.lab.env.KASM_STATE_DIR!), [], 'no restore file is left');
      } else {
        assert.deepEqual(run.diagnosis.changes.map((c) => c.state), ['skipped'], context);
      }
    });
  }
});

describe('topology', () => {
  it('a lab of 1 WebApp server and 3 agents is checked on every host, healthy', { timeout: 180_000 }, async () => {
    const lab = await startLab({ agents: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-topology-'));
    try {
      const run = await runSuite(lab, dir);
      const context = failureContext(run, 6000);
      assert.equal(run.diagnosis?.verdict, 'healthy', context);
      for (const check of ['agent.containers', 'agent.listening', 'agent.local-connectivity', 'agent.firewall', 'agent.upstream-auth-reachable']) {
        assert.equal(run.diagnosis!.findings.filter((f) => f.check === check && f.status === 'pass').length, 3, `${check} on every agent${context}`);
      }
      assert.equal(run.diagnosis!.findings.filter((f) => f.check === 'webapp.agent-reachable' && f.status === 'pass').length, 3, context);
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
