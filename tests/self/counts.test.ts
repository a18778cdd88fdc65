// One count everywhere (issue 15): the terminal, diagnosis.json/.md, junit.xml, the Allure results and report, and
// the incident file agree on failed / warned / blocked / skipped / passed, for a healthy run and two fault runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { counted, diagnose } from '../../helpers/diagnosis/diagnose.ts';
import type { Diagnosis, Finding } from '../../helpers/diagnosis/finding.ts';
import { checkOutcome, coverageOf, formatCounts, healthyScope, outcomesOf, tally, type Counts, type TestRecord } from '../../helpers/diagnosis/tally.ts';
import { reconcileAllureResults } from '../../helpers/report/allure-status.ts';
import { junitXml } from '../../helpers/report/junit.ts';
import { startLab } from '../../lab/index.ts';
import { runCli, runSuite } from './suite-run.ts';

const finding = (check: Finding['check'], status: Finding['status'], extra: Partial<Finding> = {}): Finding => ({ check, hop: 'api', status, summary: `${check} ${status}`, remediation: 'fix it', guideSection: 'API', evidence: {}, ...extra });

describe('tally: one outcome per test', () => {
  it('takes the worst of a per-host check\'s findings, and blocked only when nothing failed or warned', () => {
    assert.equal(checkOutcome([finding('agent.listening', 'pass'), finding('agent.listening', 'fail')]), 'failed');
    assert.equal(checkOutcome([finding('agent.listening', 'pass'), finding('agent.listening', 'warn')]), 'warned');
    assert.equal(checkOutcome([finding('agent.listening', 'pass'), finding('agent.listening', 'skip', { blockedBy: 'api.health' })]), 'blocked');
    assert.equal(checkOutcome([finding('agent.listening', 'skip')]), 'skipped');
    assert.equal(checkOutcome([finding('agent.listening', 'pass'), finding('agent.listening', 'pass')]), 'passed');
  });

  it('counts a test that is not a check (the KASM_DEBUG override) from Playwright, and a check from the diagnosis', () => {
    const tests: TestRecord[] = [
      { title: 'set KASM_DEBUG=1', file: 'kasmvnc-debug.setup.ts', status: 'skipped', durationMs: 1, why: 'override skipped' },
      // Playwright failed it; the diagnosis says it only echoes api.health's failure.
      { title: 'session', file: 'api-session.spec.ts', check: 'api.session-create', status: 'failed', durationMs: 2 },
      { title: 'health', file: 'api-health.spec.ts', check: 'api.health', status: 'failed', durationMs: 3 },
    ];
    const d = diagnose([finding('api.health', 'fail'), finding('api.session-create', 'fail')], 'https://k', new Date(0), [], tests);
    assert.deepEqual(d.tests.map((t) => [t.title, t.outcome, t.blockedBy]), [['set KASM_DEBUG=1', 'skipped', undefined], ['session', 'blocked', 'api.health'], ['health', 'failed', undefined]]);
    assert.deepEqual(d.counts, { failed: 1, warned: 0, blocked: 1, skipped: 1, passed: 0, total: 3 });
    assert.equal(formatCounts(d.counts), '1 failed, 0 warnings, 1 blocked, 1 skipped, 0 passed (3 tests)');
    assert.equal(formatCounts(tally([{ outcome: 'warned' }])), '0 failed, 1 warning, 0 blocked, 0 skipped, 0 passed (1 test)');
  });

  it('without the run\'s tests (older files, analyze) counts each check with a finding once', () => {
    assert.deepEqual(outcomesOf([finding('agent.listening', 'pass', { target: 'a' }), finding('agent.listening', 'fail', { target: 'b' })]).map((t) => t.outcome), ['failed']);
  });

  it('says which hops a healthy verdict covers and why the others were not checked', () => {
    const skipped = (check: Finding['check'], hop: Finding['hop']) => finding(check, 'skip', { hop, summary: 'no SSH targets (KASM_SSH_WEBAPPS and KASM_SSH_AGENTS are empty)' });
    const findings = [finding('client.cookies', 'pass', { hop: 'client' }), finding('path.websocket-upgrade', 'pass', { hop: 'path' }), finding('api.health', 'pass'), skipped('webapp.listening', 'webapp'), skipped('agent.listening', 'agent'), skipped('session.crash', 'session')];
    assert.equal(healthyScope(coverageOf(findings)), 'healthy for client, path and api; webapp, agent and session not checked: no SSH targets (KASM_SSH_WEBAPPS and KASM_SSH_AGENTS are empty)');
    // A "not judged" warning judged nothing either.
    assert.deepEqual(coverageOf([finding('api.health', 'warn', { summary: 'not judged: sudo wants a password' })]).checked, []);
    assert.equal(healthyScope(coverageOf([finding('client.cookies', 'pass', { hop: 'client' }), ...['path', 'webapp', 'api', 'agent', 'session'].map((hop) => finding('api.health', 'pass', { hop: hop as Finding['hop'] }))])), 'every hop checked');
  });
});

/** Counts from junit.xml: the root's attributes, and each case's outcome property. */
function junitCounts(xml: string): Counts {
  const root = /<testsuites\b[^>]*>/.exec(xml)![0];
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)![1]);
  const outcomes = [...xml.matchAll(/<property name="outcome" value="(\w+)"/g)].map((m) => m[1]!);
  const count = (o: string) => outcomes.filter((x) => x === o).length;
  const counts = { failed: count('failed'), warned: count('warned'), blocked: count('blocked'), skipped: count('skipped'), passed: count('passed'), total: attr('tests') };
  // What a CI system reads agrees with the outcomes: failures are the failed, skipped the blocked and skipped.
  assert.equal(attr('failures'), counts.failed, 'junit failures');
  assert.equal(attr('skipped'), counts.blocked + counts.skipped, 'junit skipped');
  assert.equal(attr('errors'), 0, 'junit errors');
  assert.equal(outcomes.length, counts.total, 'one outcome per test case');
  return counts;
}

describe('junit.xml from the diagnosis', () => {
  it('writes one case per test: a blocked check is skipped, a warning passes with its text, a failure names hop and fix', () => {
    const tests: TestRecord[] = [
      { title: 'health', file: 'api-health.spec.ts', check: 'api.health', status: 'failed', durationMs: 1200 },
      { title: 'session', file: 'api-session.spec.ts', check: 'api.session-create', status: 'failed', durationMs: 10 },
      { title: 'firewall', file: 'host-config.spec.ts', check: 'agent.firewall', status: 'passed', durationMs: 10 },
      { title: 'set KASM_DEBUG=1 <&>', file: 'kasmvnc-debug.setup.ts', status: 'skipped', durationMs: 0, why: 'override skipped' },
    ];
    const d = diagnose([finding('api.health', 'fail', { summary: 'answered 502 Bad Gateway from nginx & "x"' }), finding('api.session-create', 'fail'), finding('agent.firewall', 'warn', { hop: 'agent', target: '10.0.0.2:22' })], 'https://k', new Date(0), [], tests);
    const xml = junitXml(d);
    assert.deepEqual(junitCounts(xml), d.counts);
    assert.match(xml, /<failure message="\[api\] api\.health: answered 502 Bad Gateway from nginx &amp; &quot;x&quot;" type="api"\/>/);
    assert.match(xml, /<testcase classname="kasm\.api" name="api\.session-create: session"[^>]*>[\s\S]*?<property name="blockedBy" value="api\.health"\/>[\s\S]*?<skipped\/>/);
    assert.match(xml, /<system-out><!\[CDATA\[WARNING\nWARN \[10\.0\.0\.2:22\] agent\.firewall warn\n {2}Fix: fix it\]\]><\/system-out>/);
    assert.match(xml, /name="set KASM_DEBUG=1 &lt;&amp;>"/);
    assert.match(xml, /<testsuite name="hop: api"[^>]*tests="2" failures="1" errors="0" skipped="1"/);
  });
});

describe('Allure results follow the diagnosis', () => {
  it('sets the run\'s latest result of each check to its outcome and leaves other runs and earlier attempts alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kasm-allure-status-'));
    try {
      const result = (name: string, check: string, run: string, stop: number, status = 'failed') =>
        writeFileSync(join(dir, `${name}-result.json`), JSON.stringify({ name, status, stop, statusDetails: { message: `Error: [api] ${check}: it failed`, trace: 'at helpers/fixtures/check.ts:111' }, labels: [{ name: 'story', value: check }, { name: 'kasmRun', value: run }] }));
      result('first-attempt', 'api.session-create', 'pid-1', 1);
      result('last-attempt', 'api.session-create', 'pid-1', 2);
      result('health', 'api.health', 'pid-1', 2);
      result('other-run', 'api.session-create', 'pid-2', 3);
      result('firewall', 'agent.firewall', 'pid-1', 2, 'passed');
      const tests: TestRecord[] = [
        { title: 'health', file: '', check: 'api.health', status: 'failed', durationMs: 1 },
        { title: 'session', file: '', check: 'api.session-create', status: 'failed', durationMs: 1 },
        { title: 'firewall', file: '', check: 'agent.firewall', status: 'passed', durationMs: 1 },
      ];
      const d = diagnose([finding('api.health', 'fail'), finding('api.session-create', 'fail'), finding('agent.firewall', 'warn', { hop: 'agent' })], 'https://k', new Date(0), [], tests);
      assert.equal(reconcileAllureResults(dir, d, 'pid-1'), 2);
      const read = (name: string) => JSON.parse(readFileSync(join(dir, `${name}-result.json`), 'utf8')) as { status: string; statusDetails: { message: string } };
      assert.deepEqual([read('first-attempt').status, read('last-attempt').status, read('health').status, read('other-run').status, read('firewall').status], ['failed', 'skipped', 'failed', 'failed', 'broken']);
      assert.equal(read('last-attempt').statusDetails.message, 'blocked by api.health: api.session-create fail');
      assert.equal(read('firewall').statusDetails.message, '[agent] agent.firewall: warning: agent.firewall warn');
      assert.equal(reconcileAllureResults(dir, d, 'pid-1'), 0, 'a second pass changes nothing');
      assert.equal(reconcileAllureResults(join(dir, 'missing'), d, 'pid-1'), 0, 'no results folder, nothing to do');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts an older diagnosis file (no tests, no counts) from its findings', () => {
    const old = counted({ verdict: 'broken', faultyHop: 'api', generatedAt: '', kasmUrl: 'https://k', findings: [finding('api.health', 'fail'), finding('api.session-create', 'skip', { blockedBy: 'api.health' })], changes: [] });
    assert.deepEqual(old.counts, { failed: 1, warned: 0, blocked: 1, skipped: 0, passed: 0, total: 2 });
  });
});

// ----- end to end: what a user reads in each artifact -----

const COUNTS = /(\d+) failed, (\d+) warnings?, (\d+) blocked, (\d+) skipped, (\d+) passed \((\d+) tests?\)/;
const parseCounts = (text: string, where: string): Counts => {
  const m = COUNTS.exec(text);
  assert.ok(m, `no count line in ${where}:\n${text.slice(-3000)}`);
  const [failed, warned, blocked, skipped, passed, total] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { failed, warned, blocked, skipped, passed, total };
};

/** Allure's own count, as its report shows it: widgets/statistic.json inside the single-file page. */
function allureStatistic(html: string): Record<string, number> {
  const b64 = /d\("widgets\/statistic\.json","([A-Za-z0-9+/=]*)"\)/.exec(html)?.[1];
  assert.ok(b64, 'the report holds widgets/statistic.json');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Record<string, number>;
}

/** What Allure should show for our counts: warnings as broken, blocked and skipped as skipped. */
const asAllure = (c: Counts) => Object.fromEntries(Object.entries({ total: c.total, passed: c.passed, failed: c.failed, broken: c.warned, skipped: c.blocked + c.skipped }).filter(([, n]) => n > 0));

function allureResultCounts(dir: string): Record<string, number> {
  const latest = new Map<string, { status: string; stop: number }>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('-result.json'))) {
    const doc = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { status: string; stop: number; historyId: string };
    const seen = latest.get(doc.historyId);
    if (!seen || doc.stop >= seen.stop) latest.set(doc.historyId, doc);
  }
  const counts: Record<string, number> = { total: latest.size };
  for (const { status } of latest.values()) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('one count in every artifact, end to end (in-process lab)', { concurrency: false }, () => {
  const work = mkdtempSync(join(tmpdir(), 'kasm-counts-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const [name, faults, verdict] of [
    ['healthy', '', 'HEALTHY'],
    ['host-firewall', 'host-firewall', 'BROKEN'],
    ['api-down', 'api-down', 'BROKEN'],
  ] as const) {
    it(`${name}: terminal, diagnosis.json/.md, junit.xml, Allure results and report and the incident file agree`, { timeout: 180_000 }, async () => {
      const dir = join(work, name);
      const env = { KASM_LAB_KIND: 'in-process', KASM_STATE_DIR: join(work, 'state'), ...(faults ? { KASM_LAB_FAULTS: faults } : {}) };
      const run = await runCli({ env: {} }, dir, 'check', [], env);
      assert.equal(run.code, verdict === 'HEALTHY' ? 0 : 1, run.output.slice(-4000));
      const reports = join(dir, 'reports');
      const diagnosis = JSON.parse(readFileSync(join(reports, 'diagnosis.json'), 'utf8')) as Diagnosis;
      const expected = diagnosis.counts;
      assert.equal(expected.total, expected.failed + expected.warned + expected.blocked + expected.skipped + expected.passed);

      // The terminal: one progress line per test, then the summary with the same count, near the end, no stack frame.
      const lines = run.stdout.trimEnd().split('\n');
      const summaryAt = lines.findIndex((line) => line.startsWith('Kasm diagnosis for '));
      assert.ok(summaryAt >= 0 && lines.length - summaryAt <= 40, `the summary starts ${lines.length - summaryAt} lines from the end:\n${run.stdout.slice(-4000)}`);
      assert.match(lines[summaryAt]!, new RegExp(`: ${verdict}`));
      assert.deepEqual(parseCounts(lines.slice(summaryAt).join('\n'), 'the terminal'), expected);
      assert.equal(lines.filter((line) => /^\[\s*\d+\/\d+\] /.test(line)).length >= expected.total, true, 'a progress line for every test');
      assert.doesNotMatch(run.output, /helpers\/[\w/-]+\.ts:\d+/, 'no stack frame of the suite\'s own code');
      assert.match(run.stdout, /Next: `npm run report`/);

      assert.deepEqual(parseCounts(readFileSync(join(reports, 'diagnosis.md'), 'utf8'), 'diagnosis.md'), expected);
      assert.deepEqual(junitCounts(readFileSync(join(reports, 'junit.xml'), 'utf8')), expected);
      assert.deepEqual(allureResultCounts(join(reports, 'allure-results')), asAllure(expected), 'allure-results');

      const report = await runCli({ env: {} }, dir, 'report', [], env);
      assert.equal(report.code, 0, report.output);
      assert.deepEqual(allureStatistic(readFileSync(join(reports, 'allure-report', 'index.html'), 'utf8')), asAllure(expected), 'the Allure report');
      const incidentDir = join(reports, 'incident');
      const incident = readFileSync(join(incidentDir, readdirSync(incidentDir)[0]!), 'utf8');
      const panel = /<section id="kasm-diagnosis"[\s\S]*?<\/section>/.exec(incident)![0];
      assert.deepEqual(parseCounts(panel, 'the incident panel'), expected);
      assert.deepEqual(allureStatistic(incident), asAllure(expected), "the incident file's Allure part");
      if (name === 'host-firewall') assert.ok(expected.blocked > 0 && expected.failed >= 1, 'a fault with blocked checks is counted as blocked, not failed');
    });
  }
});

describe('a healthy verdict says what it did not check', () => {
  it('without SSH targets: healthy for the hops the browser and the API reach, the others named with why', { timeout: 150_000 }, async () => {
    const lab = await startLab();
    const dir = mkdtempSync(join(tmpdir(), 'kasm-no-ssh-'));
    try {
      const run = await runSuite(lab, dir, { KASM_SSH_WEBAPP: '', KASM_SSH_AGENTS: '' });
      assert.equal(run.code, 0, run.output.slice(-4000));
      assert.equal(run.diagnosis!.verdict, 'healthy');
      assert.deepEqual(run.diagnosis!.coverage.unchecked.map((u) => u.hop), ['webapp', 'agent']);
      assert.match(run.output, /: HEALTHY \(healthy for client, path, api and session; webapp not checked: SSH not configured for WebApp servers \(KASM_SSH_WEBAPP\); agent not checked: SSH not configured for agents \(KASM_SSH_AGENTS\)\)/);
      assert.match(readFileSync(join(dir, 'reports', 'diagnosis.md'), 'utf8'), /^# Kasm diagnosis: HEALTHY \(healthy for client, path, api and session; webapp not checked/);
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
