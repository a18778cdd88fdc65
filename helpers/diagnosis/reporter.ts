// Playwright reporter that turns each check's finding into reports/diagnosis.json and a short verdict on stdout.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';
import { loadConfig } from '../config.ts';
import { redact, redactValue } from '../redact.ts';
import { CHECKS, isCheckId } from './catalog.ts';
import { diagnose } from './diagnose.ts';
import { FINDING_ATTACHMENT, type Diagnosis, type Finding } from './finding.ts';

const STATUS: Record<TestResult['status'], Finding['status']> = { passed: 'pass', failed: 'fail', timedOut: 'fail', interrupted: 'skip', skipped: 'skip' };

export function findingsOf(test: TestCase, result: TestResult): Finding[] {
  const attached = result.attachments
    .filter((a) => a.name === FINDING_ATTACHMENT)
    .map((a) => JSON.parse((a.body ?? readFileSync(a.path!)).toString()) as Finding);
  if (attached.length) return attached;
  const id = test.annotations.find((a) => a.type === 'check')?.description;
  if (!id || !isCheckId(id)) return [];
  const spec = CHECKS[id];
  const status = STATUS[result.status];
  const why = result.error?.message ?? test.annotations.find((a) => a.type === 'skip')?.description ?? '';
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
  const lines = ['', `Kasm diagnosis for ${diagnosis.kasmUrl}: ${diagnosis.verdict.toUpperCase()}${diagnosis.faultyHop ? ` (faulty hop: ${diagnosis.faultyHop})` : ''}`];
  for (const f of diagnosis.findings) lines.push(`  ${ICON[f.status]} ${f.hop.padEnd(8)} ${f.check.padEnd(26)} ${f.target ? `[${f.target}] ` : ''}${f.summary.split('\n')[0]}`);
  for (const f of diagnosis.findings.filter((x) => x.status === 'fail' || x.status === 'warn')) {
    lines.push('', `${f.check} (${f.hop}, guide: ${f.guideSection})`, `  ${f.summary}`, `  Fix: ${f.remediation}`);
  }
  return lines.join('\n');
}

export default class DiagnosisReporter implements Reporter {
  #results = new Map<string, { test: TestCase; result: TestResult }>();

  printsToStdio(): boolean {
    return true;
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    this.#results.set(test.id, { test, result });
  }

  onEnd(result: FullResult): void {
    const config = loadConfig({ refresh: true });
    const findings = [...this.#results.values()].flatMap(({ test, result: r }) => findingsOf(test, r));
    if (!findings.length && result.status !== 'passed') return;
    const diagnosis = redactValue(diagnose(findings, config.url.origin));
    mkdirSync(config.reportsDir, { recursive: true });
    const file = join(config.reportsDir, 'diagnosis.json');
    writeFileSync(file, `${JSON.stringify(diagnosis, null, 2)}\n`);
    process.stdout.write(`${formatDiagnosis(diagnosis)}\n\nDiagnosis written to ${file}\n`);
  }
}
