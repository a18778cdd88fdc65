import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrowserNotFoundError, resolveBrowser, SYSTEM_CHROMIUM_ARGS } from '../../helpers/browser.ts';

describe('browser choice', () => {
  it('uses KASM_BROWSER_PATH with the locked-down flags', () => {
    const choice = resolveBrowser(process.execPath);
    assert.equal(choice.kind, 'configured');
    assert.equal(choice.executablePath, process.execPath);
    assert.deepEqual(choice.args, SYSTEM_CHROMIUM_ARGS);
  });

  it('names both ways to get a browser when the configured one is missing', () => {
    assert.throws(
      () => resolveBrowser('/nonexistent/chrome'),
      (error: unknown) =>
        error instanceof BrowserNotFoundError &&
        /KASM_BROWSER_PATH=\/nonexistent\/chrome is not an executable file/.test(error.message) &&
        error.message.includes('npx playwright install chromium') &&
        error.message.includes('apt-get install -y chromium'),
    );
  });

  it('finds a browser on this machine (the test run installs one if needed)', () => {
    const choice = resolveBrowser(undefined);
    assert.ok(choice.kind === 'playwright' || choice.executablePath);
  });
});
