// @mutating, opt-in: the guide's "enable debug logging on the user container" (Workspaces > Edit > Docker Run Config
// Override: { "environment": { "KASM_DEBUG": 1 } }) on the workspace the checks launch. The kasmvnc-debug-restore
// project puts the exact previous value back after the KasmVNC checks, also when they failed.
import { placeInAllure } from '../helpers/fixtures/check.ts';
import { test } from '../helpers/fixtures/index.ts';
import { resolveIdentity } from '../helpers/fixtures/session.ts';
import { attachChange, KASM_DEBUG_STEP, OVERRIDE_SETTING } from '../helpers/diagnosis/changes.ts';
import { applyDebugOverride, OverrideError } from '../helpers/workspace-override.ts';

test("set KASM_DEBUG=1 in the workspace's Docker Run Config Override", { tag: ['@mutating', '@kasmvnc'] }, async ({ config, kasmApi }, testInfo) => {
  await placeInAllure(testInfo, KASM_DEBUG_STEP);
  const workspace = config.workspace.name ?? config.workspace.imageId ?? '';
  if (!config.allowMutations) {
    await attachChange(testInfo, { setting: OVERRIDE_SETTING, workspace, change: 'environment.KASM_DEBUG', state: 'skipped', detail: 'KASM_ALLOW_MUTATIONS is not true: nothing was changed; the KasmVNC checks read a normal session' });
    test.skip(true, 'override skipped: KASM_ALLOW_MUTATIONS is not true, so the KasmVNC checks read a normal session');
  }
  const { imageId } = await resolveIdentity(kasmApi, config);
  try {
    const outcome = await test.step('api: read the override, merge KASM_DEBUG=1, save it, read it back', () => applyDebugOverride(kasmApi, { stateDir: config.stateDir, kasmUrl: config.url.href, imageId, runnerPid: process.ppid }));
    await attachChange(testInfo, {
      setting: OVERRIDE_SETTING,
      workspace: outcome.workspace.name,
      change: outcome.change,
      state: outcome.state,
      detail:
        outcome.state === 'applied'
          ? `saved with ${outcome.record!.via}; restore file ${outcome.file}`
          : 'nothing changed, nothing to restore; if nobody set KASM_DEBUG on purpose, a run killed before its restore may have left it: remove it in Workspaces > Edit',
    });
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    await attachChange(testInfo, { setting: OVERRIDE_SETTING, workspace, change: 'environment.KASM_DEBUG -> 1', state: 'apply-failed', detail: `${error.message}. ${error.hint}` });
    throw new Error(`[api] the KASM_DEBUG override could not be applied (${error.code}): ${error.message}\nFix: ${error.hint}`, { cause: error });
  }
});
