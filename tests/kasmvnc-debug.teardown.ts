// Runs after every project that depends on kasmvnc-debug, whatever their results: puts the workspace's Docker Run
// Config Override back to the value the setup recorded, and proves it is the same as before.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { placeInAllure } from '../helpers/fixtures/check.ts';
import { test } from '../helpers/fixtures/index.ts';
import { resolveIdentity } from '../helpers/fixtures/session.ts';
import { attachChange, KASM_DEBUG_STEP, OVERRIDE_SETTING } from '../helpers/diagnosis/changes.ts';
import { madeByRun, OverrideError, readRecord, restoreDebugOverride, restoreFile } from '../helpers/workspace-override.ts';

test("put the workspace's Docker Run Config Override back as it was", { tag: ['@mutating', '@kasmvnc'] }, async ({ config, kasmApi }, testInfo) => {
  await placeInAllure(testInfo, KASM_DEBUG_STEP);
  const { imageId } = await resolveIdentity(kasmApi, config);
  const file = restoreFile(config.stateDir, config.url.href, imageId);
  test.skip(!existsSync(file), 'nothing to restore: this run did not change the override');
  const record = readRecord(file);
  // The setup recorded the Playwright runner (this worker's parent) as the change's owner.
  test.skip(!madeByRun(record, { pid: process.ppid, host: hostname() }), `the change in ${file} was made by another run (pid ${record.runner?.pid ?? record.pid} on ${record.runner?.host ?? 'an unknown host'}): that run restores it, or \`npm run restore\` once it has ended`);
  try {
    const restored = await test.step('api: save the recorded original, read it back, compare', () => restoreDebugOverride(kasmApi, file));
    await attachChange(testInfo, {
      setting: OVERRIDE_SETTING,
      workspace: restored.workspace,
      change: restored.change,
      state: restored.state,
      detail: `${restored.state === 'restored' ? 'restored' : 'was already back'}: get_images shows the original override (${restored.bytes} bytes), ${restored.comparison}`,
    });
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    await attachChange(testInfo, { setting: OVERRIDE_SETTING, workspace: record.workspace, change: record.change, state: 'restore-failed', detail: `${error.message}. ${error.hint}` });
    throw new Error(`[api] the workspace's Docker Run Config Override was NOT restored (${error.code}): ${error.message}\nFix: ${error.hint}`, { cause: error });
  }
});
