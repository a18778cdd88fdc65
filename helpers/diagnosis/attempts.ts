// What one attempt of a check left for the next: whether its failure was transient, and its findings. Attempts of a
// test can run in different worker processes, so this lives in a file under the run's output folder, which
// Playwright empties at the start of every run.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestInfo } from '@playwright/test';
import type { Finding } from './finding.ts';

export interface Attempt {
  /** 1 for the first run of the test. */
  attempt: number;
  transient: boolean;
  findings: Finding[];
  message: string;
}

const fileOf = (testInfo: TestInfo) => join(testInfo.project.outputDir, '.attempts', `${testInfo.testId}.json`);

export function recordAttempt(testInfo: TestInfo, attempt: Attempt): void {
  const file = fileOf(testInfo);
  mkdirSync(join(file, '..'), { recursive: true });
  // Whole or not at all: a worker killed mid-write must not break the retry that reads it.
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(attempt));
  renameSync(`${file}.${process.pid}.tmp`, file);
}

export function previousAttempt(testInfo: TestInfo): Attempt | undefined {
  const file = fileOf(testInfo);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Attempt;
  } catch {
    return undefined;
  }
}

/** Exponential: base, 2 x base, 4 x base ..., at most 30 s. */
export function retryDelayMs(baseMs: number, retry: number): number {
  return Math.min(30_000, baseMs * 2 ** Math.max(0, retry - 1));
}

// Node's and undici's codes for a connection reset or cut, a timeout, and a DNS answer that may come next time
// (EAI_AGAIN is SERVFAIL or no answer; ENOTFOUND is NXDOMAIN and stays).
// Chromium's net:: errors of the same kind count too. A Playwright locator or expect timeout does not: a wrong
// selector is configuration, and waits forever the same way every time.
const TRANSIENT = /\b(?:ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|socket hang up)\b|net::ERR_(?:CONNECTION_RESET|TIMED_OUT|NETWORK_CHANGED|CONNECTION_CLOSED|NAME_RESOLUTION_FAILED)\b/;

/** A failure no check explained: transient when the test ran out of time or died of a network error. */
export function transientError(testInfo: TestInfo, failed: boolean): boolean {
  if (!failed) return false;
  if (testInfo.status === 'timedOut') return true;
  return TRANSIENT.test(testInfo.error?.message ?? '');
}

/** For explained failures: the same rule applied to an error's code and message. */
export function isTransientNetworkError(text: string): boolean {
  return TRANSIENT.test(text);
}
