import type { CheckId, Hop } from './catalog.ts';

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
}

export interface Diagnosis {
  verdict: 'healthy' | 'broken';
  faultyHop: Hop | null;
  generatedAt: string;
  kasmUrl: string;
  findings: Finding[];
}

/** The attachment name under which a check hands its finding to the diagnosis reporter. */
export const FINDING_ATTACHMENT = 'kasm-finding';

/** A check's failure with what an engineer needs: what failed, against what, and what to do next. */
export class CheckFailure extends Error {
  readonly code = 'KASM_CHECK_FAILED';
  constructor(
    readonly details: { summary: string; remediation?: string; evidence?: Record<string, unknown>; hop?: Hop },
    options?: { cause?: unknown },
  ) {
    super(details.summary, options);
    this.name = 'CheckFailure';
  }
}
