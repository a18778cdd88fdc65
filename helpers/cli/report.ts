// `npm run report`: from the last run's reports/allure-results and reports/diagnosis.json, writes
//   reports/allure-report/index.html   the Allure report (single file, analytics removed)
//   reports/incident/<time>.html       the same with the diagnosis panel on top, under KASM_REPORT_MAX_BYTES
//   reports/diagnosis.md               the diagnosis for a ticket
// Exit 0: all written; 1: the incident file is over budget even with every attachment cut (written anyway), or no
// safe report could be made (Allure failed, analytics in a form not recognised); 2: bad environment or usage.
import { relative } from 'node:path';
import { ConfigError, loadConfig, projectRoot } from '../config.ts';
import { formatBytes, parseBudget } from '../report/budget.ts';
import { buildReports, type ReportOutcome } from '../report/build.ts';
import { ReportError } from '../report/errors.ts';
import { plural } from '../report/text.ts';

const USAGE = `usage: npm run report
  reads <KASM_REPORTS_DIR>/allure-results and diagnosis.json (from npm run check)
  KASM_REPORT_MAX_BYTES  the incident file's budget in bytes (default 10000000)`;

const shown = (path: string) => (path.startsWith(projectRoot) ? relative(projectRoot, path) : path);
const size = (bytes: number) => `${formatBytes(bytes)}, ${bytes} bytes`;

function summary(outcome: ReportOutcome, budget: number): string {
  const { report, incident, markdown } = outcome;
  const cut = incident.trimmed.length ? `, ${plural(incident.trimmed.length, 'attachment')} cut to fit` : '';
  return [
    `Allure report:   ${shown(report.path)} (${size(report.bytes)})`,
    `Incident file:   ${shown(incident.path)} (${size(incident.bytes)}; budget ${size(budget)}${cut})`,
    `Diagnosis (md):  ${shown(markdown.path)} (${size(markdown.bytes)})`,
    `Generated in ${(outcome.ms / 1000).toFixed(1)} s from ${outcome.selection.results.length} test results.`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (argv.length) {
    const help = argv.includes('--help') || argv.includes('-h');
    console.error(help ? USAGE : `report: unknown argument ${argv.join(' ')}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const budget = parseBudget(process.env.KASM_REPORT_MAX_BYTES);
  const outcome = await buildReports({ reportsDir: config.reportsDir, budgetBytes: budget, log: (line) => console.error(line) });
  console.log(summary(outcome, budget));
  if (outcome.incident.fits) return 0;
  console.error(
    `The incident file is ${formatBytes(outcome.incident.bytes)} (${outcome.incident.bytes} bytes), over its budget of ${formatBytes(budget)} (KASM_REPORT_MAX_BYTES=${budget}) even with every attachment cut; it was written anyway and its panel says so. ` +
      'Raise KASM_REPORT_MAX_BYTES, or attach diagnosis.md instead.',
  );
  return 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ConfigError || error instanceof ReportError) {
    console.error(error.message);
    process.exitCode = error instanceof ReportError ? error.exitCode : 2;
  } else {
    throw error;
  }
}
