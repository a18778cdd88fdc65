import type { Comparison } from './baseline.ts';
import type { CheckId, Hop } from './catalog.ts';
import type { Counts, Coverage, TestOutcome } from './tally.ts';

export type FindingStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface Finding {
  check: CheckId;
  hop: Hop;
  status: FindingStatus;
  summary: string;
  remediation: string;
  guideSection: string;
  evidence: Record<string, unknown>;
  /** Set when the check failed only because an earlier check it depends on failed. */
  blockedBy?: CheckId;
  /** Which host the finding is about, for checks that run on every host. */
  target?: string;
  /** Failing checks this finding's evidence explains (they are then reported as blocked by it). */
  explains?: CheckId[];
  /** Why a retry of this failure did not run the check again (its cause was not transient). */
  notRetried?: string;
  /** Passed only on a retry, after a transient failure (status `warn`). */
  flaky?: { attempts: number; earlier: string };
  /** What the check's evidence travelled over without being verified (plain HTTP, TLS or an SSH host key unchecked). */
  unverified?: string[];
}

/** A Kasm setting the run changed (opt-in, `@mutating`) and what became of it. */
export interface SettingChange {
  setting: string;
  workspace: string;
  /** `environment.KASM_DEBUG: absent -> 1`; never the setting's other values. */
  change: string;
  state: 'skipped' | 'already-set' | 'applied' | 'apply-failed' | 'restored' | 'already-original' | 'restore-failed';
  detail: string;
}

export interface Diagnosis {
  verdict: 'healthy' | 'broken';
  faultyHop: Hop | null;
  generatedAt: string;
  kasmUrl: string;
  findings: Finding[];
  /** Every test of the run with its one outcome (checks and the @mutating steps): what every artifact counts. */
  tests: TestOutcome[];
  counts: Counts;
  /** Which hops some check judged, and why the others were not. */
  coverage: Coverage;
  /** Settings changed and restored during the run, in order; empty unless KASM_ALLOW_MUTATIONS=true. */
  changes: SettingChange[];
  /** What changed since the last healthy run, with KASM_COMPARE=true (`npm run check -- --compare`). */
  comparison?: Comparison;
  /** The embedded lab the run was judged against, when it was one: which kind, and why not the real-parts one. */
  lab?: { kind: 'real-parts' | 'in-process'; reason?: string };
  /** Every transport a check used without verifying it (plain HTTP, TLS or an SSH host key unchecked), once. */
  unverified?: string[];
}

/** Set by the global setup in the runner's process, so its diagnosis reporter knows which embedded lab was used. */
export const LAB_USED_VARIABLE = 'KASM_LAB_USED';
export const LAB_REASON_VARIABLE = 'KASM_LAB_USED_REASON';

/** The attachment name under which a check hands its finding to the diagnosis reporter. */
export const FINDING_ATTACHMENT = 'kasm-finding';

/** The attachment name under which a `@mutating` step reports a setting it changed or restored. */
export const CHANGE_ATTACHMENT = 'kasm-change';

/** A check's failure with what an engineer needs: what failed, against what, and what to do next. */
export class CheckFailure extends Error {
  readonly code = 'KASM_CHECK_FAILED';
  constructor(
    readonly details: { summary: string; remediation?: string; evidence?: Record<string, unknown>; hop?: Hop; explains?: CheckId[]; transient?: boolean },
    options?: { cause?: unknown },
  ) {
    super(details.summary, options);
    this.name = 'CheckFailure';
  }
}
