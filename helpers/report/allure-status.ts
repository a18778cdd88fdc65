// allure-playwright writes each result as Playwright saw it, before the diagnosis settles which failures are only
// the echo of another. This rewrites the run's results to the diagnosis's outcome, so the Allure report counts what
// the diagnosis counts: a blocked check is skipped ("blocked by ..."), a warning is broken, the rest as they were.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnosis } from '../diagnosis/finding.ts';
import type { Outcome } from '../diagnosis/tally.ts';

export const ALLURE_STATUS: Record<Outcome, 'failed' | 'broken' | 'skipped' | 'passed'> = { failed: 'failed', warned: 'broken', blocked: 'skipped', skipped: 'skipped', passed: 'passed' };

interface AllureResult {
  status?: string;
  stop?: number;
  labels?: { name?: string; value?: string }[];
  statusDetails?: { message?: string; trace?: string };
}

const labelOf = (doc: AllureResult, name: string) => doc.labels?.find((l) => l.name === name)?.value;

/**
 * Sets the status of the run's (label kasmRun = `run`) latest result of each check to its outcome; earlier
 * attempts stay as they were (Allure shows them as retries). Returns how many results changed.
 */
export function reconcileAllureResults(dir: string, d: Diagnosis, run: string): number {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('-result.json'));
  } catch {
    return 0;
  }
  const latest = new Map<string, { file: string; doc: AllureResult }>();
  for (const name of names) {
    let doc: AllureResult;
    try {
      doc = JSON.parse(readFileSync(join(dir, name), 'utf8')) as AllureResult;
    } catch {
      continue;
    }
    const check = labelOf(doc, 'story');
    if (!check || labelOf(doc, 'kasmRun') !== run) continue;
    const seen = latest.get(check);
    if (!seen || (doc.stop ?? 0) >= (seen.doc.stop ?? 0)) latest.set(check, { file: name, doc });
  }
  let changed = 0;
  for (const test of d.tests) {
    const found = test.check ? latest.get(test.check) : undefined;
    if (!found || !test.check) continue;
    const status = ALLURE_STATUS[test.outcome];
    const summary = d.findings.find((f) => f.check === test.check && f.status !== 'pass')?.summary.split('\n')[0];
    const hop = d.findings.find((f) => f.check === test.check)?.hop;
    const message =
      test.outcome === 'blocked' ? summary
      : test.outcome === 'warned' ? `[${hop}] ${test.check}: warning: ${summary}`
      : test.outcome === 'skipped' ? summary
      : undefined;
    if (found.doc.status === status && (!message || found.doc.statusDetails?.message === message)) continue;
    found.doc.status = status;
    if (message) found.doc.statusDetails = { ...found.doc.statusDetails, message };
    writeFileSync(join(dir, found.file), JSON.stringify(found.doc));
    changed += 1;
  }
  return changed;
}
