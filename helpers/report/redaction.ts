// The run's redaction, as a Playwright reporter listed first and last (playwright.config.ts). First: each test's
// result is redacted as it reaches the runner, before the progress, diagnosis and Allure reporters see it: Playwright's own
// error text (a failed expect prints the value it received), step titles and errors, stdout and stderr, attachments.
// Last: one pass over every file the run wrote (JUnit, Allure results and attachments, diagnosis, test-results), for
// what another reporter wrote by itself. Both know the configured secrets and those the workers learned and shared
// (helpers/redact.ts), and the patterns of tokens and Authorization headers; the shared file is removed at the end.
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { FullConfig, Reporter, TestCase, TestError, TestResult, TestStep } from '@playwright/test/reporter';
import { loadConfig } from '../config.ts';
import { loadSharedSecrets, redact, SHARED_SECRETS_VARIABLE } from '../redact.ts';
import { plural } from './text.ts';

/** Text is what holds no NUL byte in its first 64 KB: screenshots and archives are left as they are. */
export function isText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 65_536).includes(0);
}

function redactError(error: TestError | undefined): void {
  if (!error) return;
  for (const key of ['message', 'stack', 'value', 'snippet'] as const) if (typeof error[key] === 'string') error[key] = redact(error[key]);
  redactError(error.cause);
}

function redactSteps(steps: TestStep[]): void {
  for (const step of steps) {
    (step as { title: string }).title = redact(step.title);
    redactError(step.error);
    redactSteps(step.steps);
  }
}

/** Redacts, in place, everything of a result that reporters write: errors, steps, output, annotations, attachments. */
export function redactResult(result: TestResult, test?: TestCase): void {
  for (const error of result.errors) redactError(error);
  if (result.error && !result.errors.includes(result.error)) redactError(result.error);
  redactSteps(result.steps);
  for (const stream of [result.stdout, result.stderr]) {
    for (let i = 0; i < stream.length; i++) {
      const chunk = stream[i]!;
      if (typeof chunk === 'string') stream[i] = redact(chunk);
      else if (isText(chunk)) stream[i] = Buffer.from(redact(chunk.toString('utf8')));
    }
  }
  for (const annotation of [...(result.annotations ?? []), ...(test?.annotations ?? [])]) if (annotation.description) annotation.description = redact(annotation.description);
  for (const attachment of result.attachments) {
    if (attachment.body && isText(attachment.body)) attachment.body = Buffer.from(redact(attachment.body.toString('utf8')));
    if (attachment.path) scrubFile(attachment.path);
  }
}

/** Redacts one file in place when it is text and something in it changes; says whether it did. */
export function scrubFile(file: string): boolean {
  let bytes: Buffer;
  try {
    if (!lstatSync(file).isFile()) return false;
    bytes = readFileSync(file);
  } catch {
    return false;
  }
  if (!isText(bytes)) return false;
  const text = bytes.toString('utf8');
  const clean = redact(text);
  if (clean === text) return false;
  writeFileSync(file, clean);
  return true;
}

/** One pass over every file under the folders (symbolic links are not followed); names the files it changed. */
export function scrubFiles(dirs: string[]): { files: number; redacted: string[] } {
  const seen = new Set<string>();
  const result = { files: 0, redacted: [] as string[] };
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile() && !seen.has(path)) {
        seen.add(path);
        result.files++;
        if (scrubFile(path)) result.redacted.push(path);
      }
    }
  };
  for (const dir of dirs) walk(resolve(dir));
  return result;
}

export default class RedactionReporter implements Reporter {
  readonly #pass: 'results' | 'files';
  #dirs: string[] = [];

  constructor(options: { pass?: 'results' | 'files' } = {}) {
    this.#pass = options.pass ?? 'results';
  }

  printsToStdio(): boolean {
    return false;
  }

  onBegin(config: FullConfig): void {
    let reports: string[] = [];
    try {
      reports = [loadConfig().reportsDir];
    } catch {
      // A broken configuration stopped the run before anything was written; the test-results folders remain.
    }
    this.#dirs = [...reports, ...new Set(config.projects.map((p) => p.outputDir))];
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    if (this.#pass !== 'results') return;
    loadSharedSecrets();
    redactResult(result, test);
  }

  onError(error: TestError): void {
    if (this.#pass === 'results') redactError(error);
  }

  onEnd(): void {
    if (this.#pass !== 'files') return;
    loadSharedSecrets();
    const { redacted } = scrubFiles(this.#dirs);
    if (redacted.length) console.log(`Redaction: ${plural(redacted.length, 'file')} the run wrote still held a secret and ${redacted.length === 1 ? 'was' : 'were'} redacted: ${redacted.map((file) => relative(process.cwd(), file)).join(', ')}`);
    const shared = process.env[SHARED_SECRETS_VARIABLE];
    if (shared) rmSync(dirname(shared), { recursive: true, force: true });
  }
}
