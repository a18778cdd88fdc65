// Every KASM_* name kasm-synthetics knows. A mistyped one (KASM_LAB_FAULT=api-down) must stop the run: ignored, it
// leaves the setting at its default and the run reports HEALTHY for a deployment it never tested as asked.
import { distance } from 'fastest-levenshtein';

/**
 * The names read outside the configuration schema (helpers/config.ts has the rest), and by whom. The project's tests
 * pin this list against the source: a name read anywhere in it and missing here fails them.
 */
export const OTHER_SETTINGS: Readonly<Record<string, string>> = {
  KASM_ENV_FILE: 'the environment file to read instead of environments/<KASM_ENV>.env',
  KASM_TEST_LOG: "npm test's reporter: where every test and its output go (reports/self-test.log)",
  KASM_LAB_AGENTS: 'the embedded lab: how many agents',
  KASM_LAB_WEBAPPS: 'the in-process lab: how many WebApp servers',
  KASM_LAB_ZONES: 'the in-process lab: how many zones',
  KASM_LAB_KASMVNC_LOG_LEVEL: "the embedded lab: KasmVNC's log level",
  KASM_LAB_IDLE_CUT_MS: "the embedded lab: when the websocket-idle-cut fault cuts",
  KASM_LAB_LOG_HISTORY: 'the in-process lab: how much older log history it writes',
  KASM_LAB_XVNC_VERSION: "the real-parts lab's KasmVNC: the version it reports",
  KASM_LAB_DESKTOP_LABEL: "the real-parts lab's KasmVNC: the desktop's name",
  KASM_LAB_ROOT: "the embedded lab's folder (exported by the lab)",
  KASM_LAB_USED: 'which embedded lab the run used (set by the suite for its own processes)',
  KASM_LAB_USED_REASON: 'why the in-process lab was used (set by the suite)',
  KASM_RUN_DIR: "the run's folder for its observed session (set by the suite)",
  KASM_SHARED_SECRETS_FILE: 'where workers leave the secrets they learn (set by the suite)',
  KASM_OUTPUT_DIR: "Playwright's test-results folder",
  KASM_ALLURE_CATEGORIES: "Allure's categories file (allurerc.mjs)",
  KASM_REPORT_MAX_BYTES: "npm run report: the incident file's budget",
  KASM_BENCH_REPS: 'npm run bench: repetitions',
  KASM_GREP: 'the GitLab CI template: which checks to run',
  KASM_RUN_ID: "the CI templates: the pipeline's id",
  KASM_SSH_KEY: 'the CI templates: the SSH private key, written to a file for KASM_SSH_KEY_FILE',
  KASM_CHAOS_ROUNDS: "the project's tests: chaos rounds",
  KASM_CHAOS_SEED: "the project's tests: the chaos test's seed",
  KASM_CANARY_DIR: "the project's tests: the canary run's folder",
  KASM_CANARY_TOKEN: "the project's tests: the canary token",
};

export interface UnknownSetting {
  name: string;
  /** The known names nearest to it (one, or a tie), or none when nothing is near. */
  suggestions: string[];
}

/** Letters shared at the start and at the end: of two names as near, the one a slip of the finger made. */
function sharedEnds(a: string, b: string): number {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  return start + end;
}

/**
 * The known names a mistyped one most likely meant: within a quarter of its length (at least 2) of edits, else one
 * that only adds a last word to it (KASM_TIMEOUT_SSH for KASM_TIMEOUT_SSH_MS).
 */
export function suggest(name: string, known: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor((name.length - 'KASM_'.length) / 4));
  const names = [...known];
  const near = names.map((k) => ({ k, d: distance(name, k), ends: sharedEnds(name, k) })).filter((c) => c.d <= limit);
  if (!near.length) return names.filter((k) => k.startsWith(`${name}_`) && !k.slice(name.length + 1).includes('_')).sort();
  const best = Math.min(...near.map((c) => c.d));
  const closest = near.filter((c) => c.d === best);
  const most = Math.max(...closest.map((c) => c.ends));
  return closest.filter((c) => c.ends === most).map((c) => c.k).sort();
}

/** The KASM_* names among `names` that are not known, each with what it may have meant. */
export function unknownSettings(names: Iterable<string>, known: ReadonlySet<string>): UnknownSetting[] {
  return [...new Set(names)]
    .filter((name) => name.startsWith('KASM_') && !known.has(name))
    .sort()
    .map((name) => ({ name, suggestions: suggest(name, known) }));
}

/** One configuration problem's text for an unknown name. */
export function describeUnknown(setting: UnknownSetting): string {
  const meant = setting.suggestions.length ? `; did you mean ${setting.suggestions.join(' or ')}?` : '';
  return `${setting.name}: is not a setting of kasm-synthetics${meant} (KASM_ALLOW_UNKNOWN_SETTINGS=true lets unknown KASM_* names through)`;
}

/**
 * The embedded lab's variables the environment already holds with another value: the lab must not overwrite what a
 * user set (the README says the user's values win), and cannot run with them, so the run stops and names them.
 */
export function clashingSettings(labEnv: Readonly<Record<string, string>>, userEnv: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(labEnv)
    .filter((name) => userEnv[name] !== undefined && userEnv[name] !== labEnv[name])
    .sort();
}

/** What a user reads when clashingSettings found some; names only, never a value (some are secrets). */
export function describeClashes(names: readonly string[]): string {
  const these = names.length === 1 ? `${names[0]} is` : `${names.join(', ')} are`;
  return (
    `The embedded lab (KASM_LAB=embedded, no KASM_URL) sets its own address, credentials and SSH targets, but ${these} already set ` +
    `in the environment or an environment file to another value, and the lab does not overwrite what you set. ` +
    `Unset ${names.length === 1 ? 'it' : 'them'} to run against the lab, or set KASM_URL (and KASM_ENV) to run against your own deployment.`
  );
}
