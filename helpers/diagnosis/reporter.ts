// Playwright reporter that turns each check's finding into reports/diagnosis.json and a short verdict on stdout.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, projectRoot, readEnvironmentFiles } from '../config.ts';
import { redact, redactValue } from '../redact.ts';
import { diagnosisMarkdown } from '../report/markdown.ts';
import { compareFacts, factsOf, formatComparison, labAliases, lastGreenFile, readBaseline, saveLastGreen } from './baseline.ts';
import { CHECKS, isCheckId } from './catalog.ts';
import { diagnose } from './diagnose.ts';
import { CHANGE_ATTACHMENT, FINDING_ATTACHMENT, LAB_REASON_VARIABLE, LAB_USED_VARIABLE, type Diagnosis, type Finding, type SettingChange } from './finding.ts';

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
  const why = result.error?.message ?? test.annotations.find((a) => a.type === 'skip')?.description ?? (result.status === 'skipped' && result.duration <= 0 ? 'not run: a setup project it depends on failed, or the run was interrupted' : '');
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

const ICON: Record<Finding['status'], string> = { pass: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export function formatDiagnosis(diagnosis: Diagnosis): string {
  const lab = diagnosis.lab ? ` [embedded lab: ${diagnosis.lab.kind}${diagnosis.lab.reason ? `, because ${diagnosis.lab.reason}` : ''}]` : '';
  const lines = ['', `Kasm diagnosis for ${diagnosis.kasmUrl}${lab}: ${diagnosis.verdict.toUpperCase()}${diagnosis.faultyHop ? ` (faulty hop: ${diagnosis.faultyHop})` : ''}`];
  for (const f of diagnosis.findings) lines.push(`  ${ICON[f.status]} ${f.hop.padEnd(8)} ${f.check.padEnd(29)} ${f.target ? `[${f.target}] ` : ''}${f.summary.split('\n')[0]}`);
  if (diagnosis.unverified?.length) lines.push('', 'NOT VERIFIED in this run (the findings that used it say so too):', ...diagnosis.unverified.map((note) => `  ! ${note}`));
  for (const f of diagnosis.findings.filter((x) => x.status === 'fail' || x.status === 'warn')) {
    lines.push('', `${f.check} (${f.hop}, guide: ${f.guideSection})`, `  ${f.summary}`, `  Fix: ${f.remediation}`, ...(f.unverified ?? []).map((note) => `  Not verified: ${note}`));
  }
  const skipped = diagnosis.changes.filter((c) => c.state === 'skipped');
  const made = diagnosis.changes.filter((c) => c.state !== 'skipped');
  if (skipped.length) lines.push('', `Kasm settings: none changed (${skipped.map((c) => `${c.setting}: ${c.detail}`).join('; ')})`);
  if (made.length) lines.push('', 'Kasm settings this run touched (KASM_ALLOW_MUTATIONS=true):');
  for (const c of made) lines.push(`  ${c.state.endsWith('-failed') ? 'FAIL' : '    '} ${c.setting} of "${c.workspace}": ${c.change} [${c.state}] ${c.detail}`);
  return lines.join('\n');
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

  printsToStdio(): boolean {
    return true;
  }

  onBegin(_config: FullConfig, suite: Suite): void {
    this.#suite = suite;
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    this.#results.set(test.id, { test, result });
  }

  async onEnd(result: FullResult): Promise<{ status: FullResult['status'] } | undefined> {
    const config = settings();
    // Tests Playwright never ran (their setup project failed) still owe the diagnosis a line each.
    for (const test of this.#suite?.allTests() ?? []) {
      if (!this.#results.has(test.id)) this.#results.set(test.id, { test, result: { status: 'skipped', duration: -1, attachments: [], errors: [] } as unknown as TestResult });
    }
    const outcomes = [...this.#results.values()];
    const findings = outcomes.flatMap(({ test, result: r }) => findingsOf(test, r));
    const changes = outcomes.flatMap(({ result: r }) => changesOf(r));
    if (!findings.length && result.status !== 'passed') return undefined;
    const diagnosis = redactValue(diagnose(findings, config.url?.origin ?? 'unknown (KASM_URL not set where the report was merged)', new Date(), changes));
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
    process.stdout.write(`${formatDiagnosis(diagnosis)}${compared}\n\nDiagnosis written to ${file}\n`);
    // A check blocked early whose blocker did not run is a failure only the diagnosis sees: the exit code follows it.
    return diagnosis.verdict === 'broken' && result.status === 'passed' ? { status: 'failed' } : undefined;
  }
}
