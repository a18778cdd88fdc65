// `npx playwright merge-reports --config playwright.merge.config.ts <blob reports>`: replays the shards of a run
// into one list, one JUnit file and one diagnosis. It loads no environment: the merge job holds no secrets.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'tests',
  reporter: [
    ['./helpers/report/redaction.ts', { pass: 'results' }],
    ['list'],
    ['junit', { outputFile: `${process.env.KASM_REPORTS_DIR ?? 'reports'}/junit.xml` }],
    ['./helpers/diagnosis/reporter.ts'],
    ['./helpers/report/redaction.ts', { pass: 'files' }],
  ],
});
