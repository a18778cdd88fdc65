// Starts the embedded lab when the environment asks for it (KASM_LAB=embedded and no KASM_URL), exports its
// variables to the workers, and stops it when the run ends.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullConfig } from '@playwright/test';
import { readInventory } from './inventory.ts';
import { ConfigError, loadConfig, type KasmConfig } from './config.ts';
import { withKasmApi, type KasmApiClient } from './kasm-api.ts';
import { alive, ledgerDir, sweepLeftovers } from './leftovers.ts';
import { SHARED_SECRETS_VARIABLE } from './redact.ts';
import { destroyObserved, observeEarly, RUN_DIR_VARIABLE } from './fixtures/observation.ts';
import { selectsEveryTest } from './run-selection.ts';
import { resolveIdentity } from './fixtures/session.ts';
import { describeRestoreError, pendingRestores, restorePending } from './workspace-override.ts';
import { clashingSettings, describeClashes } from './settings.ts';
import { LAB_REASON_VARIABLE, LAB_USED_VARIABLE } from './diagnosis/finding.ts';
import { plural } from './report/text.ts';

/** What the report's environment section names: the deployment as Kasm describes it (zones, agents). */
async function describeRun(api: KasmApiClient, config: KasmConfig): Promise<void> {
  const info: Record<string, string> = { workspace: config.workspace.name ?? config.workspace.imageId ?? '' };
  try {
    const inventory = await readInventory(api, config);
    info.zones = inventory.upstreamAuth.map((z) => z.zone).join(', ');
    info.agents = inventory.kasmAgents.map((a) => `${a.hostname}:${a.port}`).join(', ');
  } catch (error) {
    // Zones and agents are a nicety of the report (the checks report an API that does not answer); it says why.
    info.inventory = `not read: ${error instanceof Error ? error.message : String(error)}`;
  }
  mkdirSync(config.reportsDir, { recursive: true });
  writeFileSync(join(config.reportsDir, 'run-info.json'), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * How old a synthetic user's session must be before another machine's run destroys it: a run's observed session
 * lives as long as the run, so twice a check's limit, and never under 30 minutes.
 */
export const leftoverAgeMs = (config: KasmConfig) => Math.max(30 * 60_000, config.timeouts.check * 2);

/** Destroys sessions an earlier run left behind, and says how many; never fails the run (the checks will). */
async function cleanUp(config: KasmConfig): Promise<void> {
  try {
    await withKasmApi(config, async ({ client: api }) => {
      await describeRun(api, config);
      const { userId } = await resolveIdentity(api, config);
      const swept = await sweepLeftovers(api, userId, ledgerDir(config), { olderThanMs: config.sweepStaleSessions ? leftoverAgeMs(config) : undefined, budgetMs: config.timeouts.sessionStart, launchWindowMs: config.timeouts.http + 2_000 });
      const found = swept.destroyed.length + swept.failed.length;
      if (found || swept.apiSearch || swept.ignored.length) {
        console.log(
          `Cleanup: ${found ? `destroyed ${swept.destroyed.length} of ${plural(found, 'session')} left behind by an earlier run${swept.destroyed.length ? ` (${swept.destroyed.join(', ')})` : ''}` : 'no session left behind'}` +
            `${swept.failed.length ? `; could not destroy ${swept.failed.map((f) => `${f.kasmId}: ${f.reason}`).join('; ')}` : ''}${swept.apiSearch ? `; ${swept.apiSearch}` : ''}` +
            `${swept.ignored.length ? `; ${swept.ignored.length} ledger entr${swept.ignored.length === 1 ? 'y' : 'ies'} of another user id ignored and removed (not destroyed)` : ''}`,
        );
      }
    });
  } catch {
    // An unreachable or refusing API is what api.health and api.session-create report, with the evidence.
  }
}

/**
 * Undoes settings an interrupted run changed and could not restore. One that cannot be restored stays pending and
 * is printed with its fix; the kasmvnc-debug setup then refuses to change the workspace again.
 */
async function restoreLeftovers(config: KasmConfig): Promise<void> {
  for (const { item, restored, error } of await restorePending(config)) {
    if (restored) {
      console.log(`Restore: workspace "${restored.workspace}" Docker Run Config Override, left changed by an interrupted run (pid ${item.record!.pid}, ${item.record!.at}: ${item.record!.change}): ${restored.state === 'restored' ? 'restored' : 'was already back'}, ${restored.comparison} the original (${restored.bytes} bytes)`);
    } else {
      console.log(`Restore FAILED for ${item.file}: ${describeRestoreError(error)}`);
    }
  }
}

/**
 * The run's folder for the observed session (helpers/fixtures/observation.ts). A run of every check starts observing
 * it here, while Playwright starts its workers; the teardown waits for that and destroys the run's sessions.
 */
function startRun(): { observe(config: KasmConfig): void; end(): Promise<void> } {
  reapDeadRuns();
  const dir = mkdtempSync(join(tmpdir(), `kasm-run-${process.pid}-`));
  process.env[RUN_DIR_VARIABLE] = dir;
  shareSecrets();
  let early: Promise<void> | undefined;
  return {
    observe(config) {
      if (selectsEveryTest(process.argv)) early = observeEarly(config);
    },
    async end() {
      await early;
      const problems = await destroyObserved(dir, loadConfig()).catch((error: unknown) => [error instanceof Error ? error.message : String(error)]);
      if (problems.length) console.log(`Cleanup: could not destroy the run's observed sessions: ${problems.join('; ')} (the next run destroys them)`);
    },
  };
}

/**
 * Removes the run folders (and shared-secret folders) of runners that are no longer alive: a run killed before its
 * teardown (the chaos test kills twenty) leaves its folder with the session's records and screenshots. Folders of
 * the form without a pid, from before it was named, are removed once they are a day old.
 */
export function reapDeadRuns(dir = tmpdir(), now = Date.now()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const run = /^kasm-(?:run|secrets)-(\d+)-/.exec(name);
    const unnamed = !run && /^kasm-run-[A-Za-z0-9]{6}$/.test(name);
    let dead = run ? !alive(Number(run[1])) : false;
    if (unnamed) {
      try {
        dead = now - statSync(join(dir, name)).mtimeMs > 86_400_000;
      } catch {
        dead = false;
      }
    }
    if (!dead) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * The owner-only folder where workers leave the secrets they learn (session and link tokens) for the runner's
 * redaction (helpers/report/redaction.ts, which removes it when the run ends); those a killed run left are removed.
 */
export function shareSecrets(): string {
  reapDeadRuns();
  const shared = mkdtempSync(join(tmpdir(), `kasm-secrets-${process.pid}-`));
  return (process.env[SHARED_SECRETS_VARIABLE] = join(shared, 'secrets.jsonl'));
}

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const config = loadConfig();
  // allure-playwright only ever adds to its folder; a report is of one run.
  rmSync(join(config.reportsDir, 'allure-results'), { recursive: true, force: true });
  const run = startRun();
  if (!config.labPending) {
    await restoreLeftovers(config);
    // After the cleanup: sessions earlier runs left may hold the synthetic user's session limit.
    await cleanUp(config);
    run.observe(config);
    return () => run.end();
  }
  const { startEmbeddedLab } = await import('../lab/embedded.ts');
  const chosen = await startEmbeddedLab(config.lab.kind, {
    faults: config.lab.faults,
    webapps: Number(process.env.KASM_LAB_WEBAPPS ?? 1),
    agents: Number(process.env.KASM_LAB_AGENTS ?? 1),
    zones: Number(process.env.KASM_LAB_ZONES ?? 1),
    kasmvncLogLevel: Number(process.env.KASM_LAB_KASMVNC_LOG_LEVEL ?? 100),
  }).catch((error: unknown) => {
    console.error(`The embedded lab could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
  const { lab } = chosen;
  // The diagnosis reporter (this process) says which lab the run was judged against.
  process.env[LAB_USED_VARIABLE] = chosen.kind;
  if (chosen.reason) process.env[LAB_REASON_VARIABLE] = chosen.reason;
  // The lab's own KASM_STATE_DIR is not taken: the run's baseline, ledger and restore files stay in the user's, so
  // `--compare` finds the lab's last healthy run and nothing is written into the lab's folder after it is gone.
  const { KASM_STATE_DIR: _labStateDir, ...labEnv } = lab.env;
  const clashes = clashingSettings(labEnv, process.env);
  if (clashes.length) {
    await lab.stop();
    console.error(describeClashes(clashes));
    process.exit(2);
  }
  Object.assign(process.env, labEnv);
  try {
    loadConfig({ refresh: true });
  } catch (error) {
    await lab.stop();
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  await cleanUp(loadConfig());
  run.observe(loadConfig());
  console.log(`Embedded Kasm lab (${chosen.kind}${chosen.reason ? `: ${chosen.reason}` : ''}) at ${lab.url}${lab.faults.active.size ? ` with faults: ${[...lab.faults.active].join(', ')}` : ''}`);
  return async () => {
    await run.end();
    await lab.stop();
    forgetLab(loadConfig());
  };
}

/** The lab is gone, and its sessions and settings with it: what the state folder kept of them goes too. */
function forgetLab(config: KasmConfig): void {
  rmSync(ledgerDir(config), { recursive: true, force: true });
  for (const item of pendingRestores(config.stateDir, config.url.href)) rmSync(item.file, { force: true });
}
