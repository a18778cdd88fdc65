// `npx playwright merge-reports --config playwright.merge.config.ts <blob reports>`: replays the shards of a run
// into one progress list, one diagnosis and its JUnit file. It loads no environment: the merge job holds no secrets.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'tests',
  reporter: [
    ['./helpers/report/redaction.ts', { pass: 'results' }],
    ['./helpers/report/progress.ts'],
    // It writes diagnosis.json/.md and junit.xml, with one count.
    ['./helpers/diagnosis/reporter.ts'],
    ['./helpers/report/redaction.ts', { pass: 'files' }],
  ],
});
