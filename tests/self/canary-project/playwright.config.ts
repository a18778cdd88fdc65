// The redaction canary's own Playwright project (tests/self/redaction-pass.test.ts): the suite's reporters, one spec
// that fails on purpose with a learned token in its error text, attachments and output.
import { defineConfig } from '@playwright/test';
import { reporters } from '../../../helpers/report/reporters.ts';

const dir = process.env.KASM_CANARY_DIR ?? 'canary-run';

export default defineConfig({
  testDir: '.',
  testMatch: 'canary.pw.ts',
  outputDir: `${dir}/test-results`,
  globalSetup: './global-setup.ts',
  workers: 1,
  retries: 0,
  reporter: reporters(`${dir}/reports`),
});
