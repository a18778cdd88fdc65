// One count for the whole run: every test Playwright ran (each check, and the @mutating steps beside them) gets one
// outcome, and the terminal, diagnosis.json/.md, JUnit, the Allure results and the incident file all count those.
import { CHECKS, HOPS, isCheckId, type CheckId, type Hop } from './catalog.ts';
import type { Finding } from './finding.ts';
import { plural } from '../report/text.ts';

export const OUTCOMES = ['failed', 'warned', 'blocked', 'skipped', 'passed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** A test of the run as Playwright reported it, before the diagnosis judged it. */
export interface TestRecord {
  title: string;
  /** The spec file, relative to tests/. */
  file: string;
  check?: CheckId;
  /** Playwright's status of the last attempt. */
  status: 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted';
  durationMs: number;
  /** Why a test that is not a check failed or was skipped (first line). */
  why?: string;
  /** The `Fix: ...` line of its error, when it has one. */
  fix?: string;
  /** A test that is not a check: its whole error (redacted, 4 KB at most), for junit.xml. */
  detail?: string;
}

export interface TestOutcome extends Omit<TestRecord, 'status'> {
  outcome: Outcome;
  /** For a blocked check: the check whose failure blocked it. */
  blockedBy?: CheckId;
}

export type Counts = Record<Outcome, number> & { total: number };

/** A check's outcome from its findings (one per host for per-host checks): the worst of them. */
export function checkOutcome(findings: readonly Finding[]): Outcome {
  if (findings.some((f) => f.status === 'fail')) return 'failed';
  if (findings.some((f) => f.status === 'warn')) return 'warned';
  if (findings.some((f) => f.status === 'skip' && f.blockedBy)) return 'blocked';
  if (findings.some((f) => f.status === 'skip') || !findings.length) return 'skipped';
  return 'passed';
}

function stepOutcome(status: TestRecord['status']): Outcome {
  if (status === 'passed') return 'passed';
  return status === 'failed' || status === 'timedOut' ? 'failed' : 'skipped';
}

/**
 * Each test's outcome: a check's from its findings as the diagnosis settled them (blocked, flaky and not-judged
 * included), any other test's (the KASM_DEBUG override and its restore) from Playwright. Without the run's test list
 * (analyze, older diagnosis files) every check with a finding counts once.
 */
export function outcomesOf(findings: readonly Finding[], tests?: readonly TestRecord[]): TestOutcome[] {
  const records: TestRecord[] = tests
    ? [...tests]
    : [...new Set(findings.map((f) => f.check))].map((check) => ({ title: CHECKS[check]?.title ?? check, file: '', check, status: 'passed' as const, durationMs: 0 }));
  return records.map(({ status, ...record }) => {
    if (!record.check || !isCheckId(record.check)) return { ...record, outcome: stepOutcome(status) };
    const own = findings.filter((f) => f.check === record.check);
    const outcome = own.length ? checkOutcome(own) : stepOutcome(status);
    const blockedBy = outcome === 'blocked' ? own.find((f) => f.blockedBy)?.blockedBy : undefined;
    return { ...record, outcome, ...(blockedBy ? { blockedBy } : {}) };
  });
}

export function tally(outcomes: readonly { outcome: Outcome }[]): Counts {
  const counts = { failed: 0, warned: 0, blocked: 0, skipped: 0, passed: 0, total: outcomes.length };
  for (const { outcome } of outcomes) counts[outcome] += 1;
  return counts;
}

/** `1 failed, 1 warning, 8 blocked, 1 skipped, 14 passed (25 tests)`: the same words in every artifact. */
export function formatCounts(c: Counts): string {
  return `${c.failed} failed, ${plural(c.warned, 'warning')}, ${c.blocked} blocked, ${c.skipped} skipped, ${c.passed} passed (${plural(c.total, 'test')})`;
}

export interface Coverage {
  /** Hops at least one check judged (passed, warned or failed on its own evidence). */
  checked: Hop[];
  /** Hops no check judged, with why (the first skip reason of a check on that hop). */
  unchecked: { hop: Hop; why: string }[];
}

export function coverageOf(findings: readonly Finding[]): Coverage {
  const judged = (f: Finding) => f.status === 'pass' || f.status === 'fail' || (f.status === 'warn' && !f.summary.startsWith('not judged'));
  const checked = HOPS.filter((hop) => findings.some((f) => f.hop === hop && judged(f)));
  const unchecked = HOPS.filter((hop) => !checked.includes(hop)).map((hop) => {
    const reason = findings.find((f) => f.hop === hop && !judged(f))?.summary.split('\n')[0];
    return { hop, why: reason ?? 'no check of this hop ran' };
  });
  return { checked, unchecked };
}

function joinAnd(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * What a healthy verdict covers: `healthy for client, path and api; webapp, agent and session not checked: no SSH
 * targets`. Reasons are grouped, so three hops skipped for one reason read as one clause.
 */
export function healthyScope(coverage: Coverage): string {
  if (!coverage.unchecked.length) return 'every hop checked';
  const byReason = new Map<string, Hop[]>();
  for (const { hop, why } of coverage.unchecked) byReason.set(why, [...(byReason.get(why) ?? []), hop]);
  const missing = [...byReason].map(([why, hops]) => `${joinAnd(hops)} not checked: ${why}`).join('; ');
  return coverage.checked.length ? `healthy for ${joinAnd(coverage.checked)}; ${missing}` : `no hop checked; ${missing}`;
}
