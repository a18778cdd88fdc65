// Sessions the suite created but could not destroy (Ctrl-C, a killed CI job) are found and destroyed by the next
// run: a ledger entry per live session, in the run's own state folder (0700, not shared /tmp, where anyone could plant
// one), of the synthetic user only; and, when the user opts in (KASM_SWEEP_STALE_SESSIONS), the synthetic user's
// sessions that are older than any check could still be using.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KasmConfig } from './config.ts';
import { KasmApiError, type KasmApiClient } from './kasm-api.ts';

interface LedgerEntry {
  kasmId: string;
  userId: string;
  pid: number;
  createdAt: string;
}

export function ledgerDir(config: Pick<KasmConfig, 'url' | 'stateDir'>): string {
  const id = createHash('sha256').update(config.url.origin).digest('hex').slice(0, 16);
  return join(config.stateDir, 'sessions', id);
}

/** `pid`: the process whose death means nobody uses the session any more (the run's runner for a shared session). */
export function remember(dir: string, kasmId: string, userId: string, pid = process.pid): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const entry: LedgerEntry = { kasmId, userId, pid, createdAt: new Date().toISOString() };
  writeFileSync(join(dir, `${kasmId}.json`), JSON.stringify(entry));
}

// A kasm id as Kasm writes it (32 hex, or a UUID): nothing that could name a file outside the ledger.
const KASM_ID = /^[0-9A-Fa-f-]{1,64}$/;

export function forget(dir: string, kasmId: string): void {
  if (KASM_ID.test(kasmId)) rmSync(join(dir, `${kasmId}.json`), { force: true });
}

/** Whether a process still runs (EPERM: it does, as another user). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

const orphans = (dir: string) => entries(dir).filter((entry) => !alive(entry.pid));

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
}

const sameId = (a: string, b: string) => a.replaceAll('-', '').toLowerCase() === b.replaceAll('-', '').toLowerCase();

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
  if (options.olderThanMs !== undefined) {
    const now = options.now ?? Date.now();
    try {
      const { kasms = [] } = (await api.call<{ kasms?: Array<{ kasm_id: string; user_id: string; created_date?: string; start_date?: string }> }>('get_kasms')).body;
      for (const kasm of Array.isArray(kasms) ? kasms : []) {
        const created = kasmDate(kasm.created_date ?? kasm.start_date);
        if (typeof kasm.user_id === 'string' && sameId(kasm.user_id, userId) && now - created > options.olderThanMs) targets.set(kasm.kasm_id, kasm.user_id);
      }
    } catch (error) {
      if (!(error instanceof KasmApiError)) throw error;
      result.apiSearch = `get_kasms not usable (${error.code}): only this machine's ledger was swept`;
    }
  }
  for (const [kasmId, owner] of targets) {
    try {
      await api.call('destroy_kasm', { user_id: owner, kasm_id: kasmId });
      result.destroyed.push(kasmId);
    } catch (error) {
      // Kasm answers an error_message for a session that is already gone: nothing left to clean.
      const gone = error instanceof KasmApiError && error.code === 'KASM_API_ERROR';
      if (!gone) result.failed.push({ kasmId, reason: error instanceof Error ? error.message : String(error) });
    }
    forget(dir, kasmId);
  }
  return result;
}
