// The terminal while a run goes: one line per test as it ends, with a running count, and the first line of any
// error that is not a check's. No stack frames: the checks' evidence and Playwright's traces stay in the reports.
// The diagnosis reporter prints the summary after these lines.
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { applyDependencies } from '../diagnosis/diagnose.ts';
import type { Finding } from '../diagnosis/finding.ts';
import { findingsOf, NOT_RUN, notRunResult } from '../diagnosis/reporter.ts';
import { redact } from '../redact.ts';
import { oneLine, plainText as plain, plural } from './text.ts';

const LABEL: Record<Finding['status'], string> = { fail: 'FAIL', warn: 'warn', skip: 'skip', pass: 'ok  ' };
const RANK: Record<Finding['status'], number> = { fail: 0, warn: 1, skip: 2, pass: 3 };
const WIDTH = 160;

/** The first non-empty line of an error, redacted and without colour. */
export function firstLineOf(message: string | undefined): string {
  return redact(oneLine(plain(message ?? '').split('\n').find((line) => line.trim()) ?? '', WIDTH));
}

/** One progress line: `[ 3/25] FAIL agent    agent.local-connectivity      [host] summary`. */
export function progressLine(done: number, total: number, finding: Pick<Finding, 'status' | 'hop' | 'check' | 'summary' | 'target'> | { status: Finding['status']; title: string; why?: string }, attempt = 1): string {
  const count = `[${String(done).padStart(String(total).length)}/${total}]`;
  const again = attempt > 1 ? ` (attempt ${attempt})` : '';
  if ('title' in finding) return `${count} ${LABEL[finding.status]} ${'settings'.padEnd(8)} ${finding.title}${finding.why ? `: ${firstLineOf(finding.why)}` : ''}${again}`;
  return `${count} ${LABEL[finding.status]} ${finding.hop.padEnd(8)} ${finding.check.padEnd(29)} ${finding.target ? `[${finding.target}] ` : ''}${oneLine(finding.summary, WIDTH)}${again}`;
}

export default class ProgressReporter implements Reporter {
  #total = 0;
  #suite: Suite | undefined;
  #done = new Set<string>();
  #findings = new Map<string, Finding[]>();

  printsToStdio(): boolean {
    return true;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.#suite = suite;
    this.#total = suite.allTests().length;
    process.stdout.write(`Running ${plural(this.#total, 'test')} with ${plural(config.workers, 'worker')}\n`);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    this.#done.add(test.id);
    const own = findingsOf(test, result);
    this.#findings.set(test.id, own);
    // Judged against what has ended so far: a check whose dependency already failed shows as blocked at once.
    const settled = applyDependencies([...this.#findings.values()].flat()).filter((f) => own.some((o) => o.check === f.check));
    const worst = settled.sort((a, b) => RANK[a.status] - RANK[b.status])[0];
    const line = worst
      ? progressLine(this.#done.size, this.#total, worst, result.retry + 1)
      : progressLine(this.#done.size, this.#total, { status: result.status === 'passed' ? 'pass' : result.status === 'skipped' ? 'skip' : 'fail', title: test.title, why: result.error?.message ?? test.annotations.find((a) => a.type === 'skip')?.description }, result.retry + 1);
    process.stdout.write(`${line}\n`);
  }

  onStdOut(chunk: string | Buffer, test?: TestCase): void {
    this.#output(chunk, test);
  }

  onStdErr(chunk: string | Buffer, test?: TestCase): void {
    this.#output(chunk, test);
  }

  #output(chunk: string | Buffer, test?: TestCase): void {
    const text = redact(plain(chunk.toString())).trimEnd();
    if (!text) return;
    const from = test?.annotations.find((a) => a.type === 'check')?.description ?? test?.title ?? 'runner';
    process.stdout.write(`${text.split('\n').map((line) => `        [${from}] ${line}`).join('\n')}\n`);
  }

  onError(error: TestError): void {
    process.stdout.write(`error outside the checks: ${firstLineOf(error.message ?? error.value)}\n`);
  }

  onEnd(result: FullResult): void {
    // Tests Playwright never started (their setup project failed, or the run stopped) still get their line.
    for (const test of this.#suite?.allTests() ?? []) {
      if (this.#done.has(test.id)) continue;
      this.#done.add(test.id);
      const [finding] = findingsOf(test, notRunResult());
      const line = finding
        ? progressLine(this.#done.size, this.#total, finding)
        : progressLine(this.#done.size, this.#total, { status: 'skip', title: test.title, why: NOT_RUN });
      process.stdout.write(`${line}\n`);
    }
    if (result.status === 'interrupted') process.stdout.write(`The run was interrupted after ${this.#done.size} of ${plural(this.#total, 'test')}.\n`);
    if (result.status === 'timedout') process.stdout.write(`The run hit its global timeout after ${this.#done.size} of ${plural(this.#total, 'test')}.\n`);
  }
}
