// What a judge returns for a check that has one verdict: its status and, for a warning or failure, the hop, the
// fix and the failures it explains. helpers/fixtures/check.ts's `applyVerdict` ends the check with it.
import type { CheckId, Hop } from '../diagnosis/catalog.ts';

export interface Verdict {
  status: 'pass' | 'warn' | 'fail';
  summary: string;
  remediation?: string;
  hop?: Hop;
  /** Failing checks this failure accounts for (reported as blocked by it). */
  explains?: CheckId[];
  /** The failure may pass on its own: the check is retried. */
  transient?: boolean;
}
