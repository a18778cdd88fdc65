// The KasmVNC checks as a new user would try them on the lab: with KASM_ALLOW_MUTATIONS=true they run on a session
// launched with KASM_DEBUG=1 and the workspace's override ends byte-for-byte as it was; a run killed after the
// change is undone by `npm run restore` or by the next run; without the opt-in nothing changes; on KasmVNC 1.5.1+
// (log level 30) they warn instead of guessing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { pendingRestores } from '../../helpers/workspace-override.ts';
import { startLab } from '../../lab/index.ts';
import { failureContext, filesUnder, labForSuite, runCli, runSuite, startSuite } from './suite-run.ts';
import { waitFor } from './wait.ts';

// With the opt-in the KasmVNC checks are a project of their own (after the override); read-only, they are tagged.
const KASMVNC_ONLY = ['--project', 'kasmvnc'];
const KASMVNC_READ_ONLY = ['--grep', '@kasmvnc'];
const MUTATIONS = { KASM_ALLOW_MUTATIONS: 'true' };

describe('the KASM_DEBUG override, end to end', { concurrency: false }, () => {
  const suite = labForSuite('kasm-override-');
  let original: string;
  let runs = 0;
  const dir = () => join(suite.work, `run-${++runs}`);
  const pending = () => pendingRestores(suite.lab.env.KASM_STATE_DIR!, suite.lab.url);
  const live = () => [...suite.lab.api.sessions.values()].filter((s) => s.status !== 'stopped').length;

  before(() => {
    original = suite.lab.workspace.run_config;
  });

  /** Starts a mutating run and kills it (-9) as soon as the workspace carries the change. */
  async function killAfterChange(): Promise<void> {
    const started = startSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    try {
      await waitFor('the override to be changed', () => pending().length === 1 && suite.lab.workspace.run_config.includes('"KASM_DEBUG":1'), 60_000);
    } finally {
      started.kill();
    }
    const run = await started.finished;
    assert.equal(run.signal, 'SIGKILL', failureContext(run));
  }

  it('runs the KasmVNC checks on a session launched with KASM_DEBUG=1 and restores the override byte for byte', { timeout: 120_000 }, async () => {
    const run = await runSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    const changes = run.diagnosis!.changes;
    assert.deepEqual(changes.map((c) => [c.state, c.change]), [['applied', 'environment.KASM_DEBUG: absent -> 1'], ['restored', 'environment.KASM_DEBUG: absent -> 1']]);
    assert.match(changes[1]!.detail, /get_images shows the original override \(\d+ bytes\), byte-for-byte/);
    const handshake = run.diagnosis!.findings.find((f) => f.check === 'session.websocket-handshake')!;
    assert.match(handshake.summary, /using protocol HyBi\/IETF 6455 13 .*KASM_DEBUG override applied \(reached the container\)/);
    const reading = handshake.evidence['KasmVNC log, grouped by request'] as Record<string, unknown>;
    assert.deepEqual(reading.debugOverride, { state: 'applied', change: 'environment.KASM_DEBUG: absent -> 1' });
    assert.deepEqual(reading.containerEnvironment, { KASM_DEBUG: '1', variables: 5 });
    assert.equal(suite.lab.workspace.run_config, original);
    assert.deepEqual(pending(), []);
    assert.equal(live(), 0, 'the suite left sessions behind');
    // docker inspect shows every variable of the container, VNC_PW (the session's Basic auth password) among them.
    const passwords = [...suite.lab.api.sessions.values()].map((s) => s.container?.vncPassword).filter((p): p is string => Boolean(p));
    assert.ok(passwords.length >= 1, 'the run launched its session');
    for (const file of filesUnder(run.dir)) {
      const text = readFileSync(file, 'latin1');
      for (const password of passwords) assert.ok(!text.includes(password), `a session's VNC_PW leaked into ${file}`);
    }
    assert.match(run.output, /Kasm settings this run touched \(KASM_ALLOW_MUTATIONS=true\):\n.*\[applied\].*\n.*\[restored\] restored: .*byte-for-byte/);
  });

  it('leaves a restore file when killed after the change, and npm run restore puts the original back', { timeout: 120_000 }, async () => {
    await killAfterChange();
    assert.notEqual(suite.lab.workspace.run_config, original);
    const restore = await runCli(suite.lab, dir(), 'restore');
    assert.equal(restore.code, 0, restore.output);
    assert.match(restore.output, /^Restored: workspace "Ubuntu Jammy" Docker Run Config Override \(environment\.KASM_DEBUG: absent -> 1, changed .* by pid \d+\); get_images shows the original, byte-for-byte \(\d+ bytes\)\.$/m);
    assert.equal(suite.lab.workspace.run_config, original);
    assert.deepEqual(pending(), []);
  });

  it('restores what a killed run left changed at the start of the next run, which then passes', { timeout: 150_000 }, async () => {
    await killAfterChange();
    const run = await runSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    assert.match(run.output, /Restore: workspace "Ubuntu Jammy" Docker Run Config Override, left changed by an interrupted run \(pid \d+, .*\): restored, byte-for-byte the original/);
    assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['applied', 'restored']);
    assert.equal(suite.lab.workspace.run_config, original);
    assert.equal(live(), 0, 'no session is left, the killed run\'s included');
  });

  it('changes nothing without the opt-in, and the checks say the override was skipped', { timeout: 120_000 }, async () => {
    const run = await runSuite(suite.lab, dir(), {}, KASMVNC_READ_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['skipped']);
    for (const check of ['session.websocket-handshake', 'session.auth']) {
      assert.match(run.diagnosis!.findings.find((f) => f.check === check)!.summary, /debug override skipped/);
    }
    assert.match(run.output, /Kasm settings: none changed \(Docker Run Config Override: KASM_ALLOW_MUTATIONS is not true/);
    assert.equal(suite.lab.workspace.run_config, original);
  });
});

describe('the KASM_DEBUG override when Kasm refuses the change', () => {
  it('fails the setup with the fix, lists the KasmVNC checks as not run, and changes nothing', { timeout: 120_000 }, async () => {
    const lab = await startLab({ updateImageForms: [] });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-override-refused-'));
    try {
      const original = lab.workspace.run_config;
      const run = await runSuite(lab, dir, MUTATIONS, KASMVNC_ONLY);
      assert.equal(run.code, 1, run.output.slice(-4000));
      assert.match(run.output, /\[api\] the KASM_DEBUG override could not be applied \(OVERRIDE_SAVE_FAILED\): Kasm refused both ways of saving the Docker Run Config Override: admin update_image \(target_image\): .*; public update_image \(workspace\): .*\n.*Fix: Give the API key permission to edit workspaces/);
      assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['apply-failed']);
      const notRun = run.diagnosis!.findings.filter((f) => f.check.startsWith('session.'));
      assert.deepEqual(notRun.map((f) => [f.check, f.status]).sort(), [['session.auth', 'skip'], ['session.crash', 'skip'], ['session.websocket-handshake', 'skip']]);
      for (const finding of notRun) assert.match(finding.summary, /^not run: a setup project it depends on failed/);
      assert.equal(lab.workspace.run_config, original);
      assert.deepEqual(pendingRestores(lab.env.KASM_STATE_DIR!), [], 'a change Kasm refused leaves nothing to restore');
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the KasmVNC checks on KasmVNC 1.5.1 and later (log level 30)', () => {
  it('warn that the handshake and auth lines are not logged, and say how to raise the level; the crash check still judges', { timeout: 120_000 }, async () => {
    const lab = await startLab({ kasmvncLogLevel: 30 });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-level30-'));
    try {
      const run = await runSuite(lab, dir, {}, KASMVNC_READ_ONLY);
      assert.equal(run.code, 0, run.output.slice(-4000));
      assert.equal(run.diagnosis!.verdict, 'healthy');
      const by = (check: string) => run.diagnosis!.findings.find((f) => f.check === check)!;
      for (const check of ['session.websocket-handshake', 'session.auth']) {
        assert.equal(by(check).status, 'warn', check);
        assert.match(by(check).summary, /has no \[DEBUG\] lines, so the (websocket handshake|Basic auth result) cannot be seen \(KasmVNC logs below level 100\)/);
        assert.match(by(check).remediation, /From KasmVNC 1\.5\.1 the default is 30, and KASM_DEBUG does not change it: set `logging: \{ level: 100 \}`/);
      }
      assert.equal(by('session.crash').status, 'pass');
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
