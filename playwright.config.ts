import { defineConfig } from '@playwright/test';
import { BrowserNotFoundError, launchOptions, resolveBrowser } from './helpers/browser.ts';
import { ConfigError, loadConfig, type KasmConfig } from './helpers/config.ts';
import { reporters } from './helpers/report/reporters.ts';
import { browserSkipsTls } from './helpers/transport.ts';

function settings(): { config: KasmConfig; browser: ReturnType<typeof resolveBrowser> } {
  try {
    const config = loadConfig();
    return { config, browser: resolveBrowser(config.browserPath) };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof BrowserNotFoundError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

const { config, browser } = settings();
const sharded = process.argv.some((arg) => arg.startsWith('--shard'));

export default defineConfig({
  testDir: 'tests',
  outputDir: process.env.KASM_OUTPUT_DIR ?? 'test-results',
  fullyParallel: true,
  workers: config.workers,
  // Only transient failures are really retried; the check fixture repeats any other at once (helpers/fixtures/check.ts).
  retries: config.retries.max,
  forbidOnly: Boolean(process.env.CI),
  timeout: config.timeouts.check,
  globalSetup: './helpers/global-setup.ts',
  reporter: reporters(config.reportsDir, { sharded }),
  // With KASM_ALLOW_MUTATIONS=true the KasmVNC checks wait for the KASM_DEBUG override, and its restore runs once
  // they are done, pass or fail. Read-only (the default), nothing waits: one project, whose setup file only records
  // that the override was skipped, and whose KasmVNC checks judge the run's one observed session like the others.
  projects: config.allowMutations
    ? [
        { name: 'checks', testMatch: '*.spec.ts', testIgnore: 'session-kasmvnc.spec.ts' },
        // A setting change or its restore is never repeated blindly: a retry could record the change as the original.
        { name: 'kasmvnc-debug', testMatch: 'kasmvnc-debug.setup.ts', teardown: 'kasmvnc-debug-restore', retries: 0 },
        { name: 'kasmvnc-debug-restore', testMatch: 'kasmvnc-debug.teardown.ts', retries: 0 },
        { name: 'kasmvnc', testMatch: 'session-kasmvnc.spec.ts', dependencies: ['kasmvnc-debug'] },
      ]
    : [{ name: 'checks', testMatch: ['*.spec.ts', 'kasmvnc-debug.setup.ts'] }],
  use: {
    browserName: 'chromium',
    // Chromium takes no CA file: with KASM_CA_FILE the suite's own connections verify KASM_URL (helpers/transport.ts).
    ignoreHTTPSErrors: browserSkipsTls(config),
    // Traces and HARs carry cookies and tokens; evidence is attached redacted by the checks instead.
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: launchOptions(browser),
  },
});
