// Findings -> verdict and the hop where the fault lies. A check that failed only because a check it depends on
// failed is reported as blocked, not as a second fault.
import { CHECKS, HOPS, isCheckId, type CheckId } from './catalog.ts';
import type { Diagnosis, Finding, SettingChange } from './finding.ts';
import { coverageOf, outcomesOf, tally, type TestRecord } from './tally.ts';

export function applyDependencies(findings: Finding[]): Finding[] {
  const failed = new Set(findings.filter((f) => f.status === 'fail').map((f) => f.check));
  const explainedBy = new Map<CheckId, CheckId>();
  for (const finding of findings) {
    if (finding.status === 'fail') for (const check of finding.explains ?? []) if (check !== finding.check) explainedBy.set(check, finding.check);
  }
  // A check is never blocked by a failure its own evidence explains: KasmVNC's "missing Sec-WebSocket-Protocol"
  // explains the failed upgrade, whichever of the two a dependency list puts first.
  const blocker = (check: CheckId, ownExplains: ReadonlySet<CheckId>, seen = new Set<CheckId>()): CheckId | undefined => {
    for (const dependency of CHECKS[check].dependsOn) {
      if (!isCheckId(dependency) || seen.has(dependency) || ownExplains.has(dependency)) continue;
      seen.add(dependency);
      const upstream = blocker(dependency, ownExplains, seen);
      if (upstream) return upstream;
      if (failed.has(dependency)) return dependency;
    }
    return undefined;
  };
  const early = new Set(findings.filter((f) => f.status === 'skip' && f.blockedBy));
  const resolved = findings.map((finding) => {
    if (finding.status !== 'fail') return finding;
    const by = explainedBy.get(finding.check) ?? blocker(finding.check, new Set(finding.explains ?? []));
    if (!by) return finding;
    return { ...finding, status: 'skip' as const, blockedBy: by, summary: `blocked by ${by}: ${finding.summary}` };
  });
  const settled = resolved.map((finding) => (early.has(finding) ? settleEarlyBlock(finding, resolved) : finding));
  return settled.map((finding) => toRoot(finding, settled));
}

/**
 * A check blocked by one that is blocked in turn names the root, the check that failed on its own evidence:
 * `blocked by webapp.containers (through api.health): ...`.
 */
function toRoot(finding: Finding, all: Finding[]): Finding {
  if (finding.status !== 'skip' || !finding.blockedBy) return finding;
  const seen = new Set<CheckId>([finding.check]);
  let by = finding.blockedBy;
  for (;;) {
    const upstream = all.filter((f) => f.check === by);
    const next = upstream.some((f) => f.status === 'fail') ? undefined : upstream.find((f) => f.status === 'skip' && f.blockedBy)?.blockedBy;
    if (!next || seen.has(next)) break;
    seen.add(by);
    by = next;
  }
  if (by === finding.blockedBy) return finding;
  return { ...finding, blockedBy: by, summary: finding.summary.replace(/^blocked by \S+(?: \(through [^)]+\))?:/, `blocked by ${by} (through ${finding.blockedBy}):`) };
}

/**
 * A check blocked while the run went on (skipped at once, see Check.blockedBy) names the check that decided it.
 * That one may be blocked in turn (the finding then names the root); it may have passed after all (a transient
 * failure, retried): then nothing judged this check, a warning; or it may not have run (a narrower run): then this
 * check's own failure stands, since nothing else reports the fault.
 */
function settleEarlyBlock(finding: Finding, all: Finding[]): Finding {
  const seen = new Set<CheckId>([finding.check]);
  const own = finding.summary.replace(/^blocked by \S+: /, '');
  let by = finding.blockedBy!;
  for (;;) {
    const upstream = all.filter((f) => f.check === by);
    if (upstream.some((f) => f.status === 'fail')) break;
    const next = upstream.find((f) => f.status === 'skip' && f.blockedBy)?.blockedBy;
    if (next && !seen.has(next)) {
      seen.add(by);
      by = next;
      continue;
    }
    if (upstream.some((f) => f.status === 'pass' || f.status === 'warn')) {
      return { ...finding, status: 'warn', blockedBy: undefined, summary: `not judged: ${own} (${finding.blockedBy} did not fail in the end, so this check was never judged on a working stream)`, remediation: `Run again: ${finding.blockedBy} failed on its first attempt and passed on a retry, so the path dropped or delayed the stream.` };
    }
    return { ...finding, status: 'fail', blockedBy: undefined, summary: own };
  }
  return by === finding.blockedBy ? finding : { ...finding, blockedBy: by, summary: finding.summary.replace(/^blocked by \S+:/, `blocked by ${by} (through ${finding.blockedBy}):`) };
}

export function diagnose(raw: Finding[], kasmUrl: string, now = new Date(), changes: SettingChange[] = [], tests?: readonly TestRecord[]): Diagnosis {
  const findings = applyDependencies(raw).sort((a, b) => HOPS.indexOf(a.hop) - HOPS.indexOf(b.hop) || a.check.localeCompare(b.check));
  const failing = findings.filter((f) => f.status === 'fail');
  // A setting the run could not change or put back leaves Kasm in a state nobody chose: never a healthy run.
  const settingFailed = changes.some((c) => c.state === 'apply-failed' || c.state === 'restore-failed');
  // Stated once for the run as well: what any check's evidence travelled over without being verified.
  const unverified = [...new Set(findings.flatMap((f) => f.unverified ?? []))];
  const outcomes = outcomesOf(findings, tests);
  // A test that is not a check (the KASM_DEBUG override, its restore) and failed leaves the run unfinished.
  const stepFailed = outcomes.some((t) => !t.check && t.outcome === 'failed');
  return {
    verdict: failing.length || settingFailed || stepFailed ? 'broken' : 'healthy',
    faultyHop: failing[0]?.hop ?? null,
    generatedAt: now.toISOString(),
    kasmUrl,
    findings,
    tests: outcomes,
    counts: tally(outcomes),
    coverage: coverageOf(findings),
    changes,
    ...(unverified.length ? { unverified } : {}),
  };
}

/** A diagnosis with its counts: kept as written, or (older files, hand-made fixtures) counted from its findings. */
export function counted(d: Omit<Diagnosis, 'tests' | 'counts' | 'coverage'> & Partial<Pick<Diagnosis, 'tests' | 'counts' | 'coverage'>>): Diagnosis {
  const tests = d.tests ?? outcomesOf(d.findings);
  return { ...d, tests, counts: d.counts ?? tally(tests), coverage: d.coverage ?? coverageOf(d.findings) };
}
