// `npm test`'s reporter for node:test: one line per test file as it finishes, with the running count; each failure
// in full as it happens; a last line `N passed, N failed`. Everything (every test, its output) goes to
// reports/self-test.log, for when a line is not enough.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { plural } from '../report/text.ts';

interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  line?: number;
  column?: number;
  skip?: boolean | string;
  todo?: boolean | string;
  message?: string;
  details?: { duration_ms?: number; type?: 'suite' | 'test'; passed?: boolean; error?: { message?: string; cause?: unknown } };
}

interface TestEvent {
  type: string;
  data: TestEventData;
}

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** Tests marked todo: known not to pass yet (the real-log corpus's samples not read right yet). */
  todo?: number;
}

/** reports/self-test.log, or KASM_TEST_LOG (the reporter's own tests run it on throwaway files). */
const LOG = process.env.KASM_TEST_LOG ?? join(process.cwd(), 'reports', 'self-test.log');

const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;

/** The test's own error: node:test wraps it (ERR_TEST_FAILURE) with the original as the cause. */
export function failureText(error: { message?: string; cause?: unknown } | undefined): string {
  const cause = error?.cause;
  const message = cause instanceof Error ? cause.message : typeof cause === 'object' && cause && 'message' in cause ? String((cause as { message: unknown }).message) : (error?.message ?? 'failed');
  const lines = message.split('\n');
  return lines.length > 30 ? [...lines.slice(0, 30), `... (${lines.length - 30} more lines in reports/self-test.log)`].join('\n') : message;
}

export function summaryLine(t: Tally, ms: number): string {
  return `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}${t.todo ? `, ${t.todo} todo` : ''} in ${Math.round(ms / 1000)} s`;
}

export default async function* testProgress(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const started = Date.now();
  const files = process.argv.filter((arg) => /\.test\.[cm]?[jt]s$/.test(arg)).length;
  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  const perFile = new Map<string, Tally>();
  let filesDone = 0;
  mkdirSync(dirname(LOG), { recursive: true });
  writeFileSync(LOG, `npm test, ${new Date().toISOString()}\n`);
  const log = (text: string) => appendFileSync(LOG, text.endsWith('\n') ? text : `${text}\n`);

  for await (const event of source) {
    const { data } = event;
    const file = data.file ? relative(process.cwd(), data.file) : '';
    if (event.type === 'test:stdout' || event.type === 'test:stderr') {
      log(`${file}: ${data.message ?? ''}`);
      continue;
    }
    if (event.type === 'test:complete' && data.file && data.name === data.file) {
      // The file's own end: its line, with the running count.
      filesDone += 1;
      const t = perFile.get(file) ?? { passed: 0, failed: 0, skipped: 0 };
      perFile.set(file, t);
      if (data.details?.passed === false && t.failed === 0) {
        // The file failed as a whole (it did not load, or a hook failed): that is its one failure.
        t.failed += 1;
        total.failed += 1;
        yield `\nFAIL ${basename(file)} (the file itself)\n${failureText(data.details.error).replace(/^/gm, '     ')}\n\n`;
      }
      const count = `[${String(filesDone).padStart(String(files || filesDone).length)}/${files || '?'}]`;
      yield `${count} ${t.failed ? 'FAIL' : 'ok  '} ${basename(file).padEnd(32)} ${summaryLine(t, data.details?.duration_ms ?? 0).replace(/ in \d+ s$/, '')} (${seconds(data.details?.duration_ms)}) · so far ${total.passed} passed, ${total.failed} failed\n`;
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // The file's own pass or fail comes after its end, which counted it.
    if (data.file && data.name === data.file) continue;
    const suite = data.details?.type === 'suite';
    const indent = '  '.repeat(data.nesting);
    log(`${indent}${event.type === 'test:pass' ? 'ok' : 'not ok'} ${data.name}${data.skip ? ' # skipped' : ''} (${seconds(data.details?.duration_ms)})`);
    if (event.type === 'test:fail') log(`${indent}  ${failureText(data.details?.error).replace(/\n/g, `\n${indent}  `)}`);
    // Suites are counted through their tests; a file that could not even load fails as itself.
    if (suite) continue;
    const tally = perFile.get(file) ?? { passed: 0, failed: 0, skipped: 0 };
    perFile.set(file, tally);
    const outcome = data.todo ? 'todo' : data.skip ? 'skipped' : event.type === 'test:pass' ? 'passed' : 'failed';
    tally[outcome] = (tally[outcome] ?? 0) + 1;
    total[outcome] = (total[outcome] ?? 0) + 1;
    if (outcome === 'failed') {
      const where = data.line ? `${file}:${data.line}:${data.column ?? 0}` : file;
      yield `\nFAIL ${basename(file)} › ${data.name} (${seconds(data.details?.duration_ms)})\n${failureText(data.details?.error).replace(/^/gm, '     ')}\n     at ${where}\n\n`;
    }
  }
  const last = summaryLine(total, Date.now() - started);
  log(last);
  yield `\n${plural(filesDone, 'test file')}; every test and its output: ${relative(process.cwd(), LOG) || LOG}\n${last}\n`;
}
