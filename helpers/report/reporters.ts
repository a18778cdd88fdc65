// The run's reporters, for playwright.config.ts and the redaction canary's own project (tests/self/canary-project):
// redaction first (each result is redacted before the others see it) and last (a pass over every file written);
// the terminal shows the progress lines and the diagnosis, whose counts junit.xml and the Allure results follow.
import { fileURLToPath } from 'node:url';
import type { ReporterDescription } from '@playwright/test';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export function reporters(reportsDir: string, options: { sharded?: boolean } = {}): ReporterDescription[] {
  return [
    [here('./redaction.ts'), { pass: 'results' }],
    [here('./progress.ts')],
    // Shards hand their results to `playwright merge-reports` (playwright.merge.config.ts) as blob reports.
    ...(options.sharded ? [['blob', { outputDir: `${reportsDir}/blob-report` }] as ReporterDescription] : []),
    ['allure-playwright', { resultsDir: `${reportsDir}/allure-results` }],
    // After allure-playwright: it writes diagnosis.json/.md and junit.xml, and sets the Allure results to its outcomes.
    [here('../diagnosis/reporter.ts')],
    [here('./redaction.ts'), { pass: 'files' }],
  ];
}
