// Playwright reporter that turns each check's finding into reports/diagnosis.json and a short verdict on stdout.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, projectRoot, readEnvironmentFiles } from '../config.ts';
import { redact, redactValue } from '../redact.ts';
import { reconcileAllureResults } from '../report/allure-status.ts';
import { junitXml } from '../report/junit.ts';
import { diagnosisMarkdown } from '../report/markdown.ts';
import { compareFacts, factsOf, formatComparison, labAliases, lastGreenFile, readBaseline, saveLastGreen } from './baseline.ts';
import { CHECKS, isCheckId } from './catalog.ts';
import { diagnose } from './diagnose.ts';
import { formatCounts, healthyScope, type TestRecord } from './tally.ts';
import { plainText, plural } from '../report/text.ts';
import { CHANGE_ATTACHMENT, FINDING_ATTACHMENT, LAB_REASON_VARIABLE, LAB_USED_VARIABLE, type Diagnosis, type Finding, type SettingChange } from './finding.ts';

/** Why a test has no result: Playwright never started it. */
export const NOT_RUN = 'not run: a setup project it depends on failed, or the run was interrupted';

/** The result of a test Playwright never ran (its setup project failed, the run stopped): skipped, duration -1. */
export const notRunResult = (): TestResult => ({ status: 'skipped', duration: -1, attachments: [], errors: [], retry: 0 }) as unknown as TestResult;

const STATUS: Record<TestResult['status'], Finding['status']> = { passed: 'pass', failed: 'fail', timedOut: 'fail', interrupted: 'skip', skipped: 'skip' };

function attached<T>(result: TestResult, name: string): T[] {
  return result.attachments.filter((a) => a.name === name).map((a) => JSON.parse((a.body ?? readFileSync(a.path!)).toString()) as T);
}

export function changesOf(result: TestResult): SettingChange[] {
  return attached<SettingChange>(result, CHANGE_ATTACHMENT);
}

export function findingsOf(test: TestCase, result: TestResult): Finding[] {
  const found = attached<Finding>(result, FINDING_ATTACHMENT);
  if (found.length) return found;
  const id = test.annotations.find((a) => a.type === 'check')?.description;
  if (!id || !isCheckId(id)) return [];
  const spec = CHECKS[id];
  const status = STATUS[result.status];
  const why = result.error?.message ?? test.annotations.find((a) => a.type === 'skip')?.description ?? (result.status === 'skipped' && result.duration <= 0 ? NOT_RUN : '');
  return [
    {
      check: id,
      hop: spec.hop,
      status,
      summary: status === 'pass' ? spec.title : redact(why.split('\n')[0] ?? '') || `${spec.title}: ${result.status}`,
      remediation: status === 'pass' ? '' : spec.remediation,
      guideSection: spec.guideSection,
      evidence: {},
    },
  ];
}

/**
 * The summary printed after the progress lines: the verdict with the one count, then each failure and warning with
 * its fix, the blocked checks in one line per blocker, what was not verified, and the settings touched.
 */
export function formatDiagnosis(diagnosis: Diagnosis): string {
  const lab = diagnosis.lab ? ` [embedded lab: ${diagnosis.lab.kind}${diagnosis.lab.reason ? `, because ${diagnosis.lab.reason}` : ''}]` : '';
  const scope = diagnosis.verdict === 'healthy' && diagnosis.coverage.unchecked.length ? ` (${healthyScope(diagnosis.coverage)})` : '';
  const lines = [
    '',
    `Kasm diagnosis for ${diagnosis.kasmUrl}${lab}: ${diagnosis.verdict.toUpperCase()}${diagnosis.faultyHop ? ` (faulty hop: ${diagnosis.faultyHop})` : ''}${scope}`,
    `  ${formatCounts(diagnosis.counts)}`,
  ];
  for (const f of [...diagnosis.findings.filter((x) => x.status === 'fail'), ...diagnosis.findings.filter((x) => x.status === 'warn')]) {
    const where = `${f.hop}${f.target ? `, host ${f.target}` : ''}, guide: ${f.guideSection}`;
    lines.push('', `${f.status === 'fail' ? 'FAIL' : 'warn'} ${f.check} (${where})`, `  ${f.summary}`, `  Fix: ${f.remediation}`, ...(f.unverified ?? []).map((note) => `  Not verified: ${note}`));
  }
  for (const t of diagnosis.tests.filter((x) => !x.check && x.outcome === 'failed')) lines.push('', `FAIL ${t.title}`, `  ${t.why ?? 'failed'}`, ...(t.fix ? [`  Fix: ${t.fix}`] : []));
  const blockers = new Map<string, string[]>();
  for (const t of diagnosis.tests) if (t.outcome === 'blocked' && t.check) blockers.set(t.blockedBy ?? '?', [...(blockers.get(t.blockedBy ?? '?') ?? []), t.check]);
  if (blockers.size) lines.push('', ...[...blockers].map(([by, checks]) => `${plural(checks.length, 'check')} blocked by ${by} (not judged on their own): ${checks.join(', ')}`));
  if (diagnosis.unverified?.length) lines.push('', 'NOT VERIFIED in this run (the findings that used it say so too):', ...diagnosis.unverified.map((note) => `  ! ${note}`));
  const skipped = diagnosis.changes.filter((c) => c.state === 'skipped');
  const made = diagnosis.changes.filter((c) => c.state !== 'skipped');
  if (skipped.length) lines.push('', `Kasm settings: none changed (${skipped.map((c) => `${c.setting}: ${c.detail}`).join('; ')})`);
  if (made.length) lines.push('', 'Kasm settings this run touched (KASM_ALLOW_MUTATIONS=true):');
  for (const c of made) lines.push(`  ${c.state.endsWith('-failed') ? 'FAIL' : '    '} ${c.setting} of "${c.workspace}": ${c.change} [${c.state}] ${c.detail}`);
  lines.push('');
  return lines.join('\n');
}

function testRecord(test: TestCase, result: TestResult, testDir: string): TestRecord {
  const check = test.annotations.find((a) => a.type === 'check')?.description;
  const why = result.error?.message ?? test.annotations.find((a) => a.type === 'skip')?.description ?? result.annotations?.find((a) => a.type === 'skip')?.description ?? (result.duration < 0 ? NOT_RUN : undefined);
  const lines = plainText(why ?? '').split('\n').filter((line) => line.trim());
  const fix = lines.find((line) => /^\s*Fix: /.test(line))?.replace(/^\s*Fix: /, '');
  return {
    title: test.title,
    file: relative(testDir, test.location.file),
    ...(check && isCheckId(check) ? { check } : {}),
    status: result.status,
    durationMs: Math.max(0, result.duration),
    ...(lines[0] ? { why: redact(lines[0].replace(/^Error: /, '')) } : {}),
    ...(fix ? { fix: redact(fix) } : {}),
    ...(!check && result.error?.message ? { detail: redact(lines.join('\n').slice(0, 4096)) } : {}),
  };
}

/** Where the run's files are and what to run next: the summary's last lines. */
function nextSteps(reportsDir: string): string {
  const near = relative(process.cwd(), reportsDir);
  const at = near.startsWith('..') ? reportsDir : near || '.';
  return [
    `Files: ${join(at, 'diagnosis.md')} (this summary, for a ticket), ${join(at, 'diagnosis.json')}, ${join(at, 'junit.xml')}`,
    'Next: `npm run report` writes the Allure report and the incident file to attach; `npm run check -- --compare` says what changed since the last healthy run.',
  ].join('\n');
}

interface Settings {
  url: URL | undefined;
  /** The ports an embedded lab picked (labAliases), when the run's configuration validates. */
  lab?: Parameters<typeof labAliases>[0];
  reportsDir: string;
  stateDir: string;
  compare: boolean;
}

/**
 * The run's settings; when the environment does not validate (`playwright merge-reports` in a CI job that holds no
 * secrets) the reporter still writes the diagnosis from the shards' findings, with what the env files say.
 */
function settings(): Settings {
  try {
    const config = loadConfig({ refresh: true });
    return { url: config.url, lab: config, reportsDir: config.reportsDir, stateDir: config.stateDir, compare: config.compare };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const { variables } = readEnvironmentFiles();
    const url = URL.canParse(variables.KASM_URL ?? '') ? new URL(variables.KASM_URL!) : undefined;
    return { url, reportsDir: resolve(projectRoot, variables.KASM_REPORTS_DIR ?? 'reports'), stateDir: resolve(projectRoot, variables.KASM_STATE_DIR ?? '.kasm-state'), compare: variables.KASM_COMPARE === 'true' };
  }
}

export default class DiagnosisReporter implements Reporter {
  #results = new Map<string, { test: TestCase; result: TestResult }>();
  #suite: Suite | undefined;
  #testDir = '';

  printsToStdio(): boolean {
    return true;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.#suite = suite;
    this.#testDir = config.projects[0]?.testDir ?? config.rootDir;
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    this.#results.set(test.id, { test, result });
  }

  async onEnd(result: FullResult): Promise<{ status: FullResult['status'] } | undefined> {
    const config = settings();
    // Tests Playwright never ran (their setup project failed) still owe the diagnosis a line each.
    for (const test of this.#suite?.allTests() ?? []) {
      if (!this.#results.has(test.id)) this.#results.set(test.id, { test, result: notRunResult() });
    }
    const outcomes = [...this.#results.values()];
    const findings = outcomes.flatMap(({ test, result: r }) => findingsOf(test, r));
    const changes = outcomes.flatMap(({ result: r }) => changesOf(r));
    if (!outcomes.length) return undefined;
    const tests = outcomes.map(({ test, result: r }) => testRecord(test, r, this.#testDir));
    const diagnosis = redactValue(diagnose(findings, config.url?.origin ?? 'unknown (KASM_URL not set where the report was merged)', new Date(), changes, tests));
    const used = process.env[LAB_USED_VARIABLE];
    const labKind = used === 'real-parts' || used === 'in-process' ? used : undefined;
    if (labKind) diagnosis.lab = { kind: labKind, ...(process.env[LAB_REASON_VARIABLE] ? { reason: process.env[LAB_REASON_VARIABLE] } : {}) };
    mkdirSync(config.reportsDir, { recursive: true });
    const aliases = labKind && config.lab ? labAliases(config.lab) : [];
    const facts = factsOf(diagnosis, aliases);
    // The last healthy run is the baseline; a run asked to compare says what changed since, before it may replace it.
    if (config.url) {
      const greenFile = lastGreenFile(config.stateDir, config.url.href, labKind);
      const lastGreen = readBaseline(greenFile);
      if (config.compare) diagnosis.comparison = compareFacts(lastGreen, facts);
      // Only a run that finished and passed is a baseline; an interrupted one saw only part of the deployment.
      if (diagnosis.verdict === 'healthy' && result.status === 'passed') saveLastGreen(greenFile, lastGreen, diagnosis, aliases);
    }
    writeFileSync(join(config.reportsDir, 'baseline.json'), `${JSON.stringify({ version: 1, kasmUrl: diagnosis.kasmUrl, generatedAt: diagnosis.generatedAt, facts }, null, 2)}\n`);
    const file = join(config.reportsDir, 'diagnosis.json');
    writeFileSync(file, `${JSON.stringify(diagnosis, null, 2)}\n`);
    const compared = diagnosis.comparison ? `\n\n${formatComparison(diagnosis.comparison)}` : '';
    writeFileSync(join(config.reportsDir, 'diagnosis.md'), `${diagnosisMarkdown(diagnosis)}${compared ? `${compared}\n` : ''}`);
    writeFileSync(join(config.reportsDir, 'junit.xml'), junitXml(diagnosis));
    // allure-playwright (listed before this reporter) has written every result of the run by now.
    reconcileAllureResults(join(config.reportsDir, 'allure-results'), diagnosis, process.env.KASM_RUN_ID ?? `pid-${process.pid}`);
    process.stdout.write(`${formatDiagnosis(diagnosis)}${compared}\n${nextSteps(config.reportsDir)}\n`);
    // A check blocked early whose blocker did not run is a failure only the diagnosis sees: the exit code follows it.
    return diagnosis.verdict === 'broken' && result.status === 'passed' ? { status: 'failed' } : undefined;
  }
}
