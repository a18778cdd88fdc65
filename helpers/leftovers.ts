// Sessions the suite created but could not destroy (Ctrl-C, a killed CI job) are found and destroyed by the next
// run: a ledger entry per live session, in the run's own state folder (0700, not shared /tmp, where anyone could plant
// one), of the synthetic user only; and, when the user opts in (KASM_SWEEP_STALE_SESSIONS), the synthetic user's
// sessions that are older than any check could still be using.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KasmConfig } from './config.ts';
import { KasmApiError, type KasmApiClient } from './kasm-api.ts';

interface LedgerEntry {
  kasmId: string;
  userId: string;
  pid: number;
  /** processStart(pid) when the entry was written (older entries lack it). */
  started?: string;
  createdAt: string;
}

export function ledgerDir(config: Pick<KasmConfig, 'url' | 'stateDir'>): string {
  const id = createHash('sha256').update(config.url.origin).digest('hex').slice(0, 16);
  return join(config.stateDir, 'sessions', id);
}

/** `pid`: the process whose death means nobody uses the session any more (the run's runner for a shared session). */
export function remember(dir: string, kasmId: string, userId: string, pid = process.pid): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const entry: LedgerEntry = { kasmId, userId, pid, started: processStart(pid), createdAt: new Date().toISOString() };
  writeFileSync(join(dir, `${kasmId}.json`), JSON.stringify(entry));
}

// A kasm id as Kasm writes it (32 hex, or a UUID): nothing that could name a file outside the ledger.
const KASM_ID = /^[0-9A-Fa-f-]{1,64}$/;

export function forget(dir: string, kasmId: string): void {
  if (KASM_ID.test(kasmId)) rmSync(join(dir, `${kasmId}.json`), { force: true });
}

/**
 * When a process started (Linux: field 22 of /proc/<pid>/stat, clock ticks since boot), recorded beside its pid:
 * pids wrap (32768 by default) and a busy machine hands a dead run's pid to another process within seconds.
 */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Linux: the state letter of /proc/<pid>/stat (`Z` a zombie, `X` dead), undefined without /proc. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Whether a process still runs (EPERM: it does, as another user), and is the one that started at `started`. A
 * zombie does not: a killed run's workers stay zombies until something reaps them (for long, under a container's
 * init that does not), and kill(pid, 0) still answers for them.
 */
export const alive = (pid: number, started?: string) => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = processState(pid);
  if (state === 'Z' || state === 'X') return false;
  if (started === undefined) return true;
  const now = processStart(pid);
  // Without /proc (another OS) the pid is all there is to go by.
  return now === undefined || now === started;
};

function entries(dir: string): LedgerEntry[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const entry = JSON.parse(readFileSync(join(dir, name), 'utf8')) as LedgerEntry;
      // An entry is its file: one whose content names another session is not the suite's writing.
      if (typeof entry.kasmId === 'string' && KASM_ID.test(entry.kasmId) && name === `${entry.kasmId}.json`) return [entry];
    } catch {
      // unreadable: removed below
    }
    rmSync(join(dir, name), { force: true });
    return [];
  });
}

const sameId = (a: string, b: string) => a.replaceAll('-', '').toLowerCase() === b.replaceAll('-', '').toLowerCase();

const orphans = (dir: string) => entries(dir).filter((entry) => !alive(entry.pid, entry.started));

interface LaunchMark {
  userId: string;
  pid: number;
  started?: string;
  /** When the process asked Kasm for a session (ms since the epoch). */
  at: number;
}

const LAUNCH = /^launch-(\d+)-[0-9a-f]{8}\.mark$/;

/**
 * Before asking Kasm for a session: a mark that this process is launching one, for the moment between Kasm making
 * the session and its answer naming it (a run killed there leaves a session no ledger entry names). Returns the
 * function that removes the mark, called once the session is in the ledger (or the launch failed).
 */
export function markLaunch(dir: string, userId: string, pid = process.pid): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `launch-${pid}-${randomBytes(4).toString('hex')}.mark`);
  const mark: LaunchMark = { userId, pid, started: processStart(pid), at: Date.now() };
  writeFileSync(file, JSON.stringify(mark), { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

/** Launch marks of processes that died mid-launch; unreadable ones are removed. */
function deadLaunches(dir: string): Array<LaunchMark & { file: string }> {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => LAUNCH.test(n));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const file = join(dir, name);
    try {
      const mark = JSON.parse(readFileSync(file, 'utf8')) as LaunchMark;
      if (typeof mark.userId === 'string' && Number.isInteger(mark.pid) && Number.isFinite(mark.at) && String(mark.pid) === LAUNCH.exec(name)![1]) return alive(mark.pid, mark.started) ? [] : [{ ...mark, file }];
    } catch {
      // unreadable: removed below
    }
    rmSync(file, { force: true });
    return [];
  });
}

/**
 * The synthetic user's sessions in get_kasms that a dead launch may have made: created within its window (from a
 * little before the mark to the API's answer time after it) and named by no ledger entry. Pure, for the tests.
 */
export function launchedBy(marks: LaunchMark[], kasms: Array<{ kasm_id: string; user_id: string; created: number }>, known: Set<string>, windowMs: number): string[] {
  return kasms
    .filter((k) => !known.has(k.kasm_id.replaceAll('-', '').toLowerCase()))
    .filter((k) => marks.some((m) => sameId(k.user_id, m.userId) && k.created >= m.at - LAUNCH_SKEW_MS && k.created <= m.at + windowMs))
    .map((k) => k.kasm_id);
}

// Kasm's clock and this machine's: a session's created_date may read a little before the mark.
const LAUNCH_SKEW_MS = 2_000;

/** The live sessions a process took responsibility for (the run's runner, at its teardown). */
export const ownedBy = (dir: string, pid: number) => entries(dir).filter((entry) => entry.pid === pid);

/** Kasm prints dates as "2026-11-24 19:02:11.123" in UTC. */
const kasmDate = (value: unknown) => (typeof value === 'string' ? Date.parse(`${value.replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(value) ? '' : 'Z'}`) : NaN);

export interface SweepResult {
  destroyed: string[];
  failed: Array<{ kasmId: string; reason: string }>;
  /** Why the API-side search did not run, when it did not. */
  apiSearch?: string;
  /** Ledger entries of another user id: never destroyed (the ledger is not trusted with anyone else's session). */
  ignored: string[];
}

export interface SweepOptions {
  /** Opt-in: also the synthetic user's sessions in get_kasms older than this, found on any machine. */
  olderThanMs?: number;
  now?: number;
  /** How long a destroy may take before the session counts as still there (the session start budget). */
  budgetMs?: number;
  /** How long after a killed run's launch mark a session of the synthetic user counts as its (the API's answer time). */
  launchWindowMs?: number;
}

export async function sweepLeftovers(api: KasmApiClient, userId: string, dir: string, options: SweepOptions = {}): Promise<SweepResult> {
  const result: SweepResult = { destroyed: [], failed: [], ignored: [] };
  const targets = new Map<string, string>();
  for (const entry of orphans(dir)) {
    if (typeof entry.userId === 'string' && typeof entry.kasmId === 'string' && sameId(entry.userId, userId)) targets.set(entry.kasmId, entry.userId);
    else {
      result.ignored.push(String(entry.kasmId));
      forget(dir, String(entry.kasmId));
    }
  }
  const launches = deadLaunches(dir).filter((m) => sameId(m.userId, userId));
  let launchesSwept = false;
  if (options.olderThanMs !== undefined || launches.length) {
    const now = options.now ?? Date.now();
    try {
      const { kasms = [] } = (await api.call<{ kasms?: Array<{ kasm_id: string; user_id: string; created_date?: string; start_date?: string }> }>('get_kasms')).body;
      const listed = (Array.isArray(kasms) ? kasms : []).filter((k) => typeof k?.kasm_id === 'string' && typeof k.user_id === 'string').map((k) => ({ kasm_id: k.kasm_id, user_id: k.user_id, created: kasmDate(k.created_date ?? k.start_date) }));
      for (const kasm of listed) if (options.olderThanMs !== undefined && sameId(kasm.user_id, userId) && now - kasm.created > options.olderThanMs) targets.set(kasm.kasm_id, kasm.user_id);
      // A run killed mid-launch: the session Kasm made for it in that moment, unless a ledger entry names it.
      const known = new Set(entries(dir).map((e) => e.kasmId.replaceAll('-', '').toLowerCase()));
      for (const kasmId of launchedBy(launches, listed, known, options.launchWindowMs ?? 15_000)) targets.set(kasmId, userId);
      launchesSwept = true;
    } catch (error) {
      if (!(error instanceof KasmApiError)) throw error;
      result.apiSearch = `get_kasms not usable (${error.code}): only this machine's ledger was swept${launches.length ? `, and ${launches.length} launch(es) a killed run left unanswered stay marked` : ''}`;
    }
  }
  // In parallel: each may wait out a destroy Kasm queued. One still there stays in the ledger for the next run.
  await Promise.all(
    [...targets].map(async ([kasmId, owner]) => {
      try {
        // Kasm answers an error_message for a session that is already gone: nothing was left to clean.
        if ((await destroyConfirmed(api, { kasmId, userId: owner }, options.budgetMs ?? 60_000)) === 'destroyed') result.destroyed.push(kasmId);
        forget(dir, kasmId);
      } catch (error) {
        result.failed.push({ kasmId, reason: error instanceof Error ? error.message : String(error) });
      }
    }),
  );
  if (launchesSwept) for (const mark of launches) rmSync(mark.file, { force: true });
  return result;
}

/** What a get_kasm_status answer after destroy_kasm says of the session. */
export type AfterDestroy = { gone: true } | { gone: false; status: string };

/**
 * Kasm "may destroy the session immediately or queue the task", and a status call after the destroy "will throw an
 * error to confirm the session no longer exists" (KASM-FACTS §destroy_kasm). So the session is gone when
 * get_kasm_status answers an error_message, or a state that names an end (deleted, destroyed, and the like, in case
 * a version answers one); any other state, `destroying` or `delete_pending` included, is a session still there.
 */
export function afterDestroy(outcome: { body: Record<string, unknown> } | { error: unknown }): AfterDestroy {
  if ('error' in outcome) {
    if (outcome.error instanceof KasmApiError && outcome.error.code === 'KASM_API_ERROR') return { gone: true };
    throw outcome.error;
  }
  const kasm = outcome.body.kasm as { operational_status?: unknown } | null | undefined;
  const status = String(kasm?.operational_status ?? outcome.body.operational_status ?? 'unknown').toLowerCase();
  return /^(deleted|destroyed|removed|terminated)$/.test(status) ? { gone: true } : { gone: false, status };
}

/**
 * destroy_kasm, then get_kasm_status until Kasm says the session is gone, within `budgetMs` (a destroy may be queued,
 * or wait for a provision still running); throws when it is still there, so its caller keeps it in the ledger for the
 * next run. A destroy_kasm that times out or answers an error_message is not yet a failure either way: the status says.
 */
export async function destroyConfirmed(api: KasmApiClient, session: { kasmId: string; userId: string }, budgetMs: number): Promise<'destroyed' | 'gone already'> {
  const ids = { user_id: session.userId, kasm_id: session.kasmId };
  const asked = Date.now();
  // An error_message (the session may be gone already) or a timeout (the destroy may be under way): the status says.
  let refused = '';
  let already = false;
  await api.call('destroy_kasm', ids).catch((error: unknown) => {
    if (!(error instanceof KasmApiError && (error.code === 'KASM_API_TIMEOUT' || error.code === 'KASM_API_ERROR'))) throw error;
    refused = ` (destroy_kasm: ${error.message})`;
    if (error.code === 'KASM_API_ERROR') already = true;
  });
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    const state = afterDestroy(await api.call('get_kasm_status', ids).then((answer) => ({ body: answer.body }), (error: unknown) => ({ error })));
    if (state.gone) break;
    if (Date.now() - asked + wait > budgetMs) {
      throw new Error(
        `session ${session.kasmId} is still there ${Date.now() - asked} ms after destroy_kasm${refused}: get_kasm_status says operational_status "${state.status}"`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return already ? 'gone already' : 'destroyed';
}
