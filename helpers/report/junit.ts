// reports/junit.xml from the diagnosis, so CI counts what the diagnosis counts: a blocked check is skipped (not a
// second failure), a warning passes with its text on stdout. One suite per hop, one case per test of the run
// (junit-report-builder writes and escapes the XML).
import junitReportBuilder, { type Builder } from 'junit-report-builder';
import { CHECKS, HOPS } from '../diagnosis/catalog.ts';
import type { Diagnosis, Finding } from '../diagnosis/finding.ts';
import { formatCounts, type TestOutcome } from '../diagnosis/tally.ts';

// The package is CommonJS (`module.exports = builder`) with ES-module types, so under NodeNext its default import is
// typed one level too deep; at run time it is the builder.
const builder = junitReportBuilder as unknown as Builder;

const SETTINGS_SUITE = 'settings';

function findingText(f: Finding): string {
  const where = f.target ? ` [${f.target}]` : '';
  const fix = f.status === 'fail' || f.status === 'warn' ? `\n  Fix: ${f.remediation}` : '';
  return `${f.status.toUpperCase()}${where} ${f.summary}${fix}`;
}

export function junitXml(d: Diagnosis): string {
  const root = builder.newBuilder().name(`kasm-synthetics: ${d.verdict.toUpperCase()}${d.faultyHop ? ` (faulty hop: ${d.faultyHop})` : ''}`);
  const suiteOf = (t: TestOutcome) => (t.check ? CHECKS[t.check].hop : SETTINGS_SUITE);
  for (const name of [...HOPS, SETTINGS_SUITE]) {
    const tests = d.tests.filter((t) => suiteOf(t) === name);
    if (!tests.length) continue;
    const suite = root.testSuite().name(name === SETTINGS_SUITE ? 'Kasm settings (@mutating steps)' : `hop: ${name}`).timestamp(d.generatedAt);
    if (name === HOPS[0]) suite.property('kasm.counts', formatCounts(d.counts)).property('kasm.url', d.kasmUrl);
    for (const t of tests) {
      const findings = t.check ? d.findings.filter((f) => f.check === t.check) : [];
      const tc = suite
        .testCase()
        .className(t.check ? `kasm.${name}` : 'kasm.settings')
        .name(t.check ? `${t.check}: ${t.title}` : t.title)
        .time(t.durationMs / 1000)
        .property('outcome', t.outcome);
      if (t.check) tc.property('check', t.check);
      if (t.file) tc.file(`tests/${t.file}`);
      if (t.blockedBy) tc.property('blockedBy', t.blockedBy);
      const text = findings.length ? findings.map(findingText).join('\n') : (t.detail ?? t.why ?? '');
      const failing = findings.find((f) => f.status === 'fail');
      if (t.outcome === 'failed') tc.failure(failing ? `[${failing.hop}] ${failing.check}: ${failing.summary.split('\n')[0]}` : `${t.title}: ${(t.why ?? 'failed').split('\n')[0]}`, failing?.hop ?? 'settings');
      if (t.outcome === 'blocked' || t.outcome === 'skipped') tc.skipped();
      if (text) tc.standardOutput(t.outcome === 'warned' ? `WARNING\n${text}` : text);
    }
  }
  return root.build();
}
