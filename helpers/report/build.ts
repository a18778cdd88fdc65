// `npm run report`: reads a run's allure-results and diagnosis.json and writes the Allure report without its
// analytics, the incident file (diagnosis panel + report, under a size budget) and diagnosis.md.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../config.ts';
import { HOPS } from '../diagnosis/catalog.ts';
import { counted } from '../diagnosis/diagnose.ts';
import type { Diagnosis } from '../diagnosis/finding.ts';
import { redactValue } from '../redact.ts';
import { generateAllure } from './allure.ts';
import { stripAnalytics } from './analytics.ts';
import { formatBytes } from './budget.ts';
import { allure2Categories, allureCategoryRules } from './categories.ts';
import { environmentProperties, gitCommit, readRunInfo, runEnvironment, runInfoFile, suiteVersion } from './environment.ts';
import { ReportError } from './errors.ts';
import { diagnosisPanel, injectPanel } from './incident.ts';
import { diagnosisMarkdown } from './markdown.ts';
import { copyLatestRun, trimResults, type RunSelection, type TrimRecord } from './results.ts';
import { plural } from './text.ts';

export interface ReportOptions {
  reportsDir: string;
  budgetBytes: number;
  /** Progress and warnings, one line each. */
  log?: (line: string) => void;
}

export interface WrittenFile {
  path: string;
  bytes: number;
}

export interface ReportOutcome {
  report: WrittenFile;
  incident: WrittenFile & { trimmed: TrimRecord[]; fits: boolean; rounds: number };
  markdown: WrittenFile;
  selection: RunSelection;
  ms: number;
}

const findingSchema = z.looseObject({
  check: z.string(),
  hop: z.enum(HOPS),
  status: z.enum(['pass', 'fail', 'warn', 'skip']),
  summary: z.string(),
  remediation: z.string(),
  guideSection: z.string(),
  target: z.string().optional(),
  blockedBy: z.string().optional(),
});
const diagnosisSchema = z.looseObject({
  verdict: z.enum(['healthy', 'broken']),
  faultyHop: z.enum(HOPS).nullable(),
  generatedAt: z.string(),
  kasmUrl: z.string(),
  findings: z.array(findingSchema),
  changes: z.array(z.looseObject({ setting: z.string(), workspace: z.string(), change: z.string(), state: z.string(), detail: z.string() })).default([]),
});

export function readDiagnosis(file: string): Diagnosis {
  if (!existsSync(file)) throw new ReportError('KASM_REPORT_NO_DIAGNOSIS', `No diagnosis at ${file}: run npm run check first (it writes diagnosis.json at the end of every run).`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ReportError('KASM_REPORT_BAD_INPUT', `${file} is not JSON (${(error as Error).message}): run npm run check again.`, { cause: error });
  }
  const parsed = diagnosisSchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new ReportError('KASM_REPORT_BAD_INPUT', `${file} is not a diagnosis this suite wrote (${where}): run npm run check again.`);
  }
  // Written redacted by the reporter; redacted again in case it was edited by hand or by an older version.
  return redactValue(counted(parsed.data as unknown as Diagnosis));
}

function requireResults(dir: string): void {
  const has = existsSync(dir) && readdirSync(dir).some((name) => name.endsWith('-result.json'));
  if (!has) throw new ReportError('KASM_REPORT_NO_RESULTS', `No Allure results in ${dir}: run npm run check first.`);
}

/** Writes next to the target and renames, so a reader never sees half a file. */
function writeAtomic(path: string, content: string): WrittenFile {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, content);
  renameSync(partial, path);
  return { path, bytes: Buffer.byteLength(content) };
}

/** `2026-11-24T22:15:03.120Z` -> `2026-11-24T22-15-03Z`: sortable and valid as a file name everywhere. */
export function incidentStamp(iso: string, fallback = new Date()): string {
  const date = Number.isNaN(Date.parse(iso)) ? fallback : new Date(iso);
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

function prepareResults(options: ReportOptions, work: string, diagnosis: Diagnosis): { dir: string; selection: RunSelection; categoriesFile: string } {
  const dir = join(work, 'results');
  const selection = copyLatestRun(join(options.reportsDir, 'allure-results'), dir);
  if (selection.ignoredResults) options.log?.(`allure-results holds ${selection.runs} runs: reporting the latest (${selection.results.length} results), ignoring ${selection.ignoredResults} older results.`);
  if (selection.endedAt !== undefined && Date.parse(diagnosis.generatedAt) < selection.endedAt) {
    options.log?.(`warning: diagnosis.json (${diagnosis.generatedAt}) is older than the latest results (${new Date(selection.endedAt).toISOString()}): the last run may have been killed before it wrote its diagnosis.`);
  }
  const { entries, ignored } = runEnvironment({ diagnosis, suiteVersion: suiteVersion(projectRoot), commit: gitCommit(projectRoot), runInfo: readRunInfo(runInfoFile(options.reportsDir)) });
  if (ignored.length) options.log?.(`warning: run-info.json keys ${ignored.join(', ')} are the report's own and were not used.`);
  writeFileSync(join(dir, 'environment.properties'), environmentProperties(entries));
  writeFileSync(join(dir, 'categories.json'), JSON.stringify(allure2Categories(), null, 2));
  const categoriesFile = join(work, 'allure-categories.json');
  writeFileSync(categoriesFile, JSON.stringify(allureCategoryRules()));
  return { dir, selection, categoriesFile };
}

const MAX_ROUNDS = 8;

interface IncidentResult {
  html: string;
  trimmed: TrimRecord[];
  fits: boolean;
  rounds: number;
}

/**
 * Cuts attachments in the results copy and regenerates until the page with its panel fits. Attachments travel
 * base64-encoded in the page, so a byte saved in a file saves about 4/3 in the page.
 */
async function fitIncident(options: ReportOptions, page: string, diagnosis: Diagnosis, results: { dir: string; categoriesFile: string }, work: string): Promise<IncidentResult> {
  const ledger = new Map<string, TrimRecord>();
  const render = (html: string, over?: number) => injectPanel(html, diagnosisPanel({ diagnosis, budgetBytes: options.budgetBytes, trimmed: [...ledger.values()], overBudgetBytes: over }));
  let current = page;
  for (let round = 0; ; round += 1) {
    const html = render(current);
    const bytes = Buffer.byteLength(html);
    if (bytes <= options.budgetBytes) return { html, trimmed: [...ledger.values()], fits: true, rounds: round };
    const over = bytes - options.budgetBytes;
    const need = Math.ceil((over * 3) / 4) + 2_048 + Math.ceil(over * 0.05);
    const step = round < MAX_ROUNDS ? trimResults(results.dir, need, ledger) : undefined;
    if (!step || step.changed === 0) {
      // The panel's own "still over" paragraph adds to the size it reports: measure with it in place.
      const final = render(current, Buffer.byteLength(render(current, over)) - options.budgetBytes);
      return { html: final, trimmed: [...ledger.values()], fits: false, rounds: round };
    }
    options.log?.(`Incident file ${formatBytes(bytes)} is over the ${formatBytes(options.budgetBytes)} budget: cut ${plural(step.changed, 'attachment')}, generating again.`);
    current = stripAnalytics(await generateAllure({ resultsDir: results.dir, outputDir: join(work, `out-${round + 1}`), categoriesFile: results.categoriesFile })).html;
  }
}

export async function buildReports(options: ReportOptions): Promise<ReportOutcome> {
  const started = Date.now();
  const resultsDir = join(options.reportsDir, 'allure-results');
  requireResults(resultsDir);
  const diagnosis = readDiagnosis(join(options.reportsDir, 'diagnosis.json'));
  const work = mkdtempSync(join(tmpdir(), 'kasm-report-'));
  try {
    const results = prepareResults(options, work, diagnosis);
    const page = stripAnalytics(await generateAllure({ resultsDir: results.dir, outputDir: join(work, 'out-0'), categoriesFile: results.categoriesFile })).html;
    const report = writeAtomic(join(options.reportsDir, 'allure-report', 'index.html'), page);
    const incident = await fitIncident(options, page, diagnosis, results, work);
    const incidentFile = writeAtomic(join(options.reportsDir, 'incident', `${incidentStamp(diagnosis.generatedAt)}.html`), incident.html);
    const markdown = writeAtomic(join(options.reportsDir, 'diagnosis.md'), diagnosisMarkdown(diagnosis));
    return { report, incident: { ...incidentFile, trimmed: incident.trimmed, fits: incident.fits, rounds: incident.rounds }, markdown, selection: results.selection, ms: Date.now() - started };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
