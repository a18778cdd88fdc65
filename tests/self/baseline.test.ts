// Compare to last green: the facts a run keeps, what counts as a change, how a narrower run updates the baseline,
// and `npm run check -- --compare` after a firewall change on the lab.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareFacts, factsOf, formatComparison, labAliases, lastGreenFile, readBaseline, saveLastGreen, type Baseline } from '../../helpers/diagnosis/baseline.ts';
import type { Diagnosis, Finding } from '../../helpers/diagnosis/finding.ts';
import { startLab } from '../../lab/index.ts';
import { runCli, runSuite } from './suite-run.ts';

const finding = (check: Finding['check'], evidence: Record<string, unknown>, extra: Partial<Finding> = {}): Finding => ({
  check,
  hop: 'agent',
  status: 'pass',
  summary: 's',
  remediation: '',
  guideSection: 'g',
  evidence,
  ...extra,
});

const firewall = (active: boolean, blocking: string[]) => finding('agent.firewall', { port: 443, ufw: { active, rules: blocking.map(() => ({})) }, iptablesPolicies: { INPUT: 'ACCEPT' }, blocking: blocking.map((description) => ({ description })) }, { target: 'agent-1' });

describe('baseline facts', () => {
  it('keeps statuses, container states without their uptime, firewall summaries and timings', () => {
    const facts = factsOf({
      findings: [
        finding('agent.containers', { containers: [{ name: 'kasm_agent', image: 'kasmweb/agent:1.16.0', status: 'Up 3 minutes (healthy)', ports: '4444/tcp' }] }, { target: 'agent-1' }),
        firewall(false, []),
        finding('api.health', { healthcheck: { status: 200, ms: 40 } }, { hop: 'api' }),
        finding('client.cookies', { 'vnc.html-cookies': { sent: [{ name: 'session_token', domain: 'kasm.example.com', path: '/', secure: true, httpOnly: false, sameSite: 'Lax' }] } }, { hop: 'client' }),
        finding('session.stream', {}, { status: 'skip', blockedBy: 'path.websocket-upgrade', hop: 'session' }),
      ],
    });
    assert.deepEqual(facts, {
      'agent.containers [agent-1] › status': 'pass',
      'agent.containers [agent-1] › container kasm_agent': 'up (healthy) kasmweb/agent:1.16.0 4444/tcp',
      'agent.firewall [agent-1] › status': 'pass',
      'agent.firewall [agent-1] › ufw': 'inactive',
      'agent.firewall [agent-1] › ufwRules': 0,
      'agent.firewall [agent-1] › iptablesPolicies': '{"INPUT":"ACCEPT"}',
      'agent.firewall [agent-1] › blocking': 'none',
      'api.health › status': 200,
      'api.health › healthMs': 40,
      'client.cookies › status': 'pass',
      'client.cookies › session_token cookie': 'domain=kasm.example.com path=/ secure=true httpOnly=false sameSite=Lax',
      'session.stream › status': 'blocked',
    });
  });

  it('reports changed facts, ignores timing jitter, and sets aside facts this run did not look at', () => {
    const baseline: Baseline = {
      version: 1,
      kasmUrl: 'https://k',
      generatedAt: '2026-11-24T10:00:00.000Z',
      facts: { 'agent.firewall [agent-1] › ufw': 'inactive', 'agent.firewall [agent-1] › status': 'pass', 'api.health › healthMs': 40, 'api.session-create › runningAfterMs': 300, 'webapp.listening [w] › status': 'pass' },
    };
    const comparison = compareFacts(baseline, {
      'agent.firewall [agent-1] › ufw': 'active',
      'agent.firewall [agent-1] › status': 'warn',
      'api.health › healthMs': 90,
      'api.session-create › runningAfterMs': 2_000,
    });
    assert.deepEqual(comparison, {
      against: '2026-11-24T10:00:00.000Z',
      changes: [
        { fact: 'agent.firewall [agent-1] › status', before: 'pass', after: 'warn' },
        { fact: 'agent.firewall [agent-1] › ufw', before: 'inactive', after: 'active' },
        { fact: 'api.session-create › runningAfterMs', before: 300, after: 2_000 },
      ],
      notChecked: 1,
    });
    assert.equal(
      formatComparison(comparison),
      [
        'Changed since the last healthy run (2026-11-24T10:00:00.000Z): 3 facts',
        '  agent.firewall [agent-1] › status: pass -> warn',
        '  agent.firewall [agent-1] › ufw: inactive -> active',
        '  api.session-create › runningAfterMs: 300 -> 2000',
        '  (1 baseline fact not looked at by this run)',
      ].join('\n'),
    );
    assert.match(formatComparison(compareFacts(undefined, {})), /no healthy run of this Kasm recorded yet/);
  });

  it('a narrower healthy run updates only the facts it saw', () => {
    const state = mkdtempSync(join(tmpdir(), 'kasm-baseline-'));
    try {
      const file = lastGreenFile(state, 'https://kasm.example.com/');
      const full: Pick<Diagnosis, 'kasmUrl' | 'generatedAt' | 'findings'> = { kasmUrl: 'https://kasm.example.com', generatedAt: 'T1', findings: [firewall(false, []), finding('api.health', { healthcheck: { status: 200, ms: 40 } })] };
      const first = saveLastGreen(file, undefined, full);
      const second = saveLastGreen(file, first, { kasmUrl: 'https://kasm.example.com', generatedAt: 'T2', findings: [finding('api.health', { healthcheck: { status: 200, ms: 45 } })] });
      assert.equal(second.facts['agent.firewall [agent-1] › ufw'], 'inactive', 'kept from the full run');
      assert.equal(second.facts['api.health › healthMs'], 45);
      assert.deepEqual(readBaseline(file), second);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('baseline facts of the embedded lab', () => {
  const config = (client: number, ssh: number) => ({ clientPort: client, webappPort: 443, agentPort: 443, ssh: { webapp: [{ port: ssh }], agents: [{ port: ssh + 1 }] } });
  const run = (client: number, ssh: number) =>
    factsOf(
      {
        findings: [
          finding('client.session-port', { 'vnc-url': { port: client } }),
          finding('agent.listening', { port: 443, listening: [{ address: '0.0.0.0', port: 443 }] }, { target: `127.0.20.1:${ssh + 1}` }),
          finding('webapp.local-connectivity', { curl: { exit: 0, url: `https://127.0.10.1:${ssh}/`, httpStatus: 200 } }, { target: `127.0.10.1:${ssh}` }),
        ],
      },
      labAliases(config(client, ssh)),
    );

  it('names the ports the lab picks by their role, so two starts of the lab compare equal', () => {
    const first = run(41000, 52000);
    assert.deepEqual(compareFacts({ version: 1, kasmUrl: 'x', generatedAt: 'T', facts: first }, run(43000, 55000)).changes, []);
    assert.ok(Object.keys(first).some((k) => k.startsWith('agent.listening [127.0.20.1:<agent-1 ssh port>]')), Object.keys(first).join('\n'));
    assert.equal(first['agent.listening [127.0.20.1:<agent-1 ssh port>] › listening'], '0.0.0.0:<webapp port>');
  });

  it('still sees a change that is not a port the lab picked', () => {
    const before = run(41000, 52000);
    const after = { ...run(43000, 55000), 'agent.listening [127.0.20.1:<agent-1 ssh port>] › status': 'fail' };
    assert.deepEqual(compareFacts({ version: 1, kasmUrl: 'x', generatedAt: 'T', facts: before }, after).changes.map((c) => c.fact), ['agent.listening [127.0.20.1:<agent-1 ssh port>] › status']);
  });

  it('leaves a deployment of the user\'s as it is (no aliases)', () => {
    assert.ok(Object.keys(factsOf({ findings: [finding('agent.listening', { port: 443, listening: [] }, { target: 'agent-1.example.com:22' })] })).every((k) => k.includes('agent-1.example.com:22')));
  });
});

describe('npm run check against the embedded lab', () => {
  it('compares two healthy runs as "no change", keeps the baseline in KASM_STATE_DIR and leaves nothing in the temp folder', { timeout: 150_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'kasm-embedded-compare-'));
    const temp = join(work, 'tmp');
    mkdirSync(temp);
    // The lab starts inside the check (KASM_LAB=embedded, no KASM_URL); its temp folders go under `temp`.
    const env = { KASM_LAB_KIND: 'in-process', KASM_STATE_DIR: join(work, 'state'), TMPDIR: temp };
    // tsx's and Playwright's compile caches stay there on purpose; everything the suite and the lab make is kasm-*.
    const left = () => readdirSync(temp).filter((name) => !/^(tsx|playwright-transform-cache)-\d+$/.test(name));
    try {
      for (const name of ['first', 'second']) {
        const run = await runCli({ env: {} }, join(work, name), 'check', [], env);
        assert.equal(run.code, 0, `${name} healthy run: ${run.output.slice(-3000)}`);
        assert.deepEqual(left(), [], `${name} run left this in the temp folder`);
      }
      assert.equal(readdirSync(join(work, 'state', 'baseline')).length, 1, 'one baseline for the in-process lab, in KASM_STATE_DIR');
      const compared = await runCli({ env: {} }, join(work, 'compare'), 'check', ['--compare'], env);
      assert.equal(compared.code, 0, compared.output.slice(-3000));
      assert.match(compared.output, /Changed since the last healthy run \([^)]+\): no change/);
      assert.deepEqual(left(), [], 'the compare run left this in the temp folder');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses to overwrite a variable the user set, naming it', { timeout: 90_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'kasm-embedded-clash-'));
    try {
      const run = await runCli({ env: {} }, work, 'check', [], { KASM_LAB_KIND: 'in-process', KASM_STATE_DIR: join(work, 'state'), KASM_SSH_AGENTS: 'root@agent.example.com' });
      assert.equal(run.code, 2, run.output.slice(-3000));
      assert.match(run.output, /KASM_SSH_AGENTS is already set in the environment or an environment file to another value, and the lab does not overwrite what you set/);
      assert.doesNotMatch(run.output, /agent\.example\.com/, 'names the variable, never its value');
      assert.doesNotMatch(run.output, /Running \d+ tests/, 'no check ran');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('npm run check -- --compare', () => {
  it('after a healthy run, switching on a host firewall shows what changed', { timeout: 150_000 }, async () => {
    const lab = await startLab();
    const work = mkdtempSync(join(tmpdir(), 'kasm-compare-'));
    try {
      const healthy = await runSuite(lab, join(work, 'green'), {}, ['--project', 'checks', '--grep', '@agent']);
      assert.equal(healthy.code, 0, healthy.output.slice(-3000));
      assert.ok(readBaseline(lastGreenFile(lab.env.KASM_STATE_DIR!, lab.url)), 'the healthy run became the baseline');
      lab.faults.set(['host-firewall']);
      const dir = join(work, 'after');
      const compared = await runCli(lab, dir, 'check', ['--compare', '--project', 'checks', '--grep', '@agent']);
      assert.equal(compared.code, 1, compared.output.slice(-3000));
      assert.match(compared.output, /Changed since the last healthy run \(\d{4}-\d\d-\d\dT[^)]*\): \d+/);
      assert.match(compared.output, /agent\.firewall \[127\.0\.20\.1:\d+\] › ufw: inactive -> active/);
      assert.match(compared.output, /agent\.firewall \[127\.0\.20\.1:\d+\] › blocking: none -> .*DENY/);
      assert.match(compared.output, /agent\.local-connectivity \[127\.0\.20\.1:\d+\] › status: pass -> fail/);
      const diagnosis = JSON.parse(readFileSync(join(dir, 'reports', 'diagnosis.json'), 'utf8')) as Diagnosis;
      assert.ok(diagnosis.comparison!.changes.some((c) => c.fact.endsWith('› ufw') && c.after === 'active'));
      assert.equal(readBaseline(lastGreenFile(lab.env.KASM_STATE_DIR!, lab.url))!.generatedAt, healthy.diagnosis!.generatedAt, 'a broken run does not replace the baseline');
    } finally {
      await lab.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
