// The run's reporters, for playwright.config.ts and the redaction canary's own project (tests/self/canary-project):
// redaction first (each result is redacted before the others see it) and last (a pass over every file written).
import { fileURLToPath } from 'node:url';
import type { ReporterDescription } from '@playwright/test';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export function reporters(reportsDir: string, options: { sharded?: boolean } = {}): ReporterDescription[] {
  return [
    [here('./redaction.ts'), { pass: 'results' }],
    ['list'],
    [here('../diagnosis/reporter.ts')],
    ['junit', { outputFile: `${reportsDir}/junit.xml` }],
    // Shards hand their results to `playwright merge-reports` (playwright.merge.config.ts) as blob reports.
    ...(options.sharded ? [['blob', { outputDir: `${reportsDir}/blob-report` }] as ReporterDescription] : []),
    ['allure-playwright', { resultsDir: `${reportsDir}/allure-results` }],
    [here('./redaction.ts'), { pass: 'files' }],
  ];
}
