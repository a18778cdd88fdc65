// The guide's first KasmVNC step, automated and undoable: set KASM_DEBUG=1 in a workspace's Docker Run Config
// Override (Workspaces > Edit), and later put back exactly what was there. The restore file is written before the
// change, so a run that dies midway is undone by the next run or by `npm run restore`.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { KasmConfig } from './config.ts';
import { KasmApiError, withKasmApi, type KasmApiClient } from './kasm-api.ts';
import { alive, processStart } from './leftovers.ts';
import { redact } from './redact.ts';

export type OverrideErrorCode =
  | 'OVERRIDE_WORKSPACE_NOT_FOUND'
  | 'OVERRIDE_NOT_AN_OBJECT'
  | 'OVERRIDE_PENDING'
  | 'OVERRIDE_SAVE_FAILED'
  | 'OVERRIDE_NOT_APPLIED'
  | 'OVERRIDE_CHANGED_SINCE'
  | 'OVERRIDE_RESTORE_MISMATCH'
  | 'OVERRIDE_RESTORE_FILE_INVALID'
  | 'OVERRIDE_IN_USE'
  | 'OVERRIDE_OTHER_FIELDS_CHANGED';

export class OverrideError extends Error {
  constructor(
    readonly code: OverrideErrorCode,
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(redact(message), options);
    this.name = 'OverrideError';
  }
}

/** Both forms KASM-FACTS.md knows (Unknowns 8): kasmctl's admin `target_image`, then KasmLink's public `workspace`. */
export type SaveForm = 'admin update_image (target_image)' | 'public update_image (workspace)';

export interface Workspace {
  imageId: string;
  name: string;
  /** `run_config` exactly as get_images returned it: a JSON string, an object (older versions), or absent. */
  runConfig: unknown;
  /** The whole record get_images returned: what a save sends back, changed only in run_config. */
  fields: Record<string, unknown>;
}

export interface RestoreRecord {
  version: 1;
  kasmUrl: string;
  imageId: string;
  workspace: string;
  /** The value to put back, as read: the reason this file exists. */
  original: unknown;
  /** The run_config string this run saved. */
  applied: string;
  /** What changed, without the override's other values (they may hold secrets): `environment.KASM_DEBUG: absent -> 1`. */
  change: string;
  via: SaveForm | null;
  at: string;
  pid: number;
  /** The `playwright test` runner that made the change, and its machine: a restore waits while it is alive. */
  runner?: { pid: number; host: string; started?: string };
  /** The workspace's whole record before the change, and as read back after it (files of older runs lack both). */
  originalFields?: Record<string, unknown>;
  appliedFields?: Record<string, unknown>;
}

export interface Applied {
  state: 'applied' | 'already-set';
  workspace: Workspace;
  change: string;
  record?: RestoreRecord;
  file?: string;
}

export interface Restored {
  state: 'restored' | 'already-original';
  workspace: string;
  change: string;
  /** How the read-back was compared with the original: as the same bytes (a string) or as the same JSON (an object). */
  comparison: 'byte-for-byte' | 'same JSON' | 'same JSON (reformatted by Kasm)';
  bytes: number;
}

const DEBUG_KEY = 'KASM_DEBUG';
const HINT_PERMISSION =
  'Give the API key permission to edit workspaces (Admin > Settings > Developers > API Keys: Images / Workspaces), or set KASM_DEBUG by hand (Workspaces > Edit > Docker Run Config Override) and run without KASM_ALLOW_MUTATIONS.';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isEmpty = (value: unknown) => value === undefined || value === null || value === '';

/** The override as an object; Kasm keeps it as a JSON string in newer versions and as an object in older ones. */
export function runConfigObject(raw: unknown, workspace: string): Record<string, unknown> {
  if (isEmpty(raw)) return {};
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      // Node's message quotes the text around the error, and the override may hold passwords: only the position.
      throw new OverrideError('OVERRIDE_NOT_AN_OBJECT', `workspace "${workspace}": its Docker Run Config Override is not valid JSON (${jsonErrorPosition(error)})`, 'Fix the override in Workspaces > Edit so it is a JSON object, then run again.');
    }
  }
  if (!isObject(value)) {
    throw new OverrideError('OVERRIDE_NOT_AN_OBJECT', `workspace "${workspace}": its Docker Run Config Override is ${Array.isArray(value) ? 'an array' : typeof value}, not a JSON object`, 'Fix the override in Workspaces > Edit so it is a JSON object (docker run keyword arguments), then run again.');
  }
  return value;
}

/**
 * The override with `environment.KASM_DEBUG` = 1 and everything else kept, or null when it is set already.
 * docker-py takes `environment` as a mapping or as a list of `NAME=value` strings; both are kept in their form.
 */
export function withDebug(config: Record<string, unknown>, workspace: string): { next: Record<string, unknown>; change: string } | null {
  const env = config.environment;
  if (env === undefined || env === null) return { next: { ...config, environment: { [DEBUG_KEY]: 1 } }, change: `environment.${DEBUG_KEY}: absent -> 1` };
  if (Array.isArray(env)) {
    const index = env.findIndex((entry) => typeof entry === 'string' && entry.split('=')[0] === DEBUG_KEY);
    const current = index === -1 ? undefined : String(env[index]).slice(DEBUG_KEY.length + 1);
    if (current === '1') return null;
    const list = index === -1 ? [...env, `${DEBUG_KEY}=1`] : env.map((entry, i) => (i === index ? `${DEBUG_KEY}=1` : entry));
    return { next: { ...config, environment: list }, change: `environment ${DEBUG_KEY}=${current === undefined ? ' (absent)' : JSON.stringify(current)} -> ${DEBUG_KEY}=1` };
  }
  if (!isObject(env)) {
    throw new OverrideError('OVERRIDE_NOT_AN_OBJECT', `workspace "${workspace}": "environment" in its Docker Run Config Override is ${typeof env}, not a mapping or a list`, 'Fix the override in Workspaces > Edit, then run again.');
  }
  if (String(env[DEBUG_KEY]) === '1') return null;
  const before = DEBUG_KEY in env ? JSON.stringify(env[DEBUG_KEY]) : 'absent';
  return { next: { ...config, environment: { ...env, [DEBUG_KEY]: 1 } }, change: `environment.${DEBUG_KEY}: ${before} -> 1` };
}

function jsonErrorPosition(error: unknown): string {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
  return position ? `syntax error at character ${position}` : 'syntax error';
}

/** Equal as Kasm would apply them: the same JSON, whichever form each side is in. */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return isDeepStrictEqual(runConfigObject(a, ''), runConfigObject(b, ''));
  } catch {
    return a === b;
  }
}

function compare(after: unknown, original: unknown): { identical: boolean; comparison: Restored['comparison'] } {
  if (typeof original === 'string' && typeof after === 'string') {
    if (after === original) return { identical: true, comparison: 'byte-for-byte' };
    // A store that normalises JSON (key order, spacing) gives back the same override in other bytes.
    return { identical: sameJson(after, original), comparison: 'same JSON (reformatted by Kasm)' };
  }
  return { identical: sameJson(after, original), comparison: 'same JSON' };
}

export async function readWorkspace(api: KasmApiClient, imageId: string): Promise<Workspace> {
  const { images = [] } = (await api.call<{ images?: Array<{ image_id: string; friendly_name?: string; name?: string; run_config?: unknown }> }>('get_images')).body;
  const image = images.find((i) => i.image_id === imageId);
  if (!image) {
    throw new OverrideError('OVERRIDE_WORKSPACE_NOT_FOUND', `get_images lists no workspace with image_id ${imageId} (${images.length} listed)`, 'Check KASM_WORKSPACE / KASM_IMAGE_ID and that the API key may read workspaces.');
  }
  return { imageId, name: image.friendly_name ?? image.name ?? imageId, runConfig: image.run_config, fields: structuredClone(image) as Record<string, unknown> };
}

/** A value as a message may show it: numbers, booleans and null as they are; text by its length; objects by their keys. */
function shape(value: unknown): string {
  if (value === undefined) return 'absent';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (isObject(value)) return `keys {${Object.keys(value).sort().join(', ')}}`;
  return typeof value;
}

/**
 * The fields other than run_config whose values differ between two reads of the workspace, each with both values'
 * shapes (never a text value: a description or a volume mapping may hold anything). Empty when only run_config moved.
 */
/**
 * The record a restore saves: the workspace as it is now, with every field the change's save moved (as it still was
 * right after that save) put back as it was before; a field someone edited since is theirs and stays.
 */
export function fieldsToRestore(now: Record<string, unknown>, original: Record<string, unknown> | undefined, applied: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!original || !applied) return now;
  const out = { ...now };
  for (const key of new Set([...Object.keys(original), ...Object.keys(applied)])) {
    if (key === 'run_config' || !isDeepStrictEqual(now[key], applied[key]) || isDeepStrictEqual(original[key], applied[key])) continue;
    if (key in original) out[key] = original[key];
    else delete out[key];
  }
  return out;
}

export function otherFieldChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => key !== 'run_config').sort();
  return keys.filter((key) => !isDeepStrictEqual(before[key], after[key])).map((key) => `${key} (${shape(before[key])} -> ${shape(after[key])})`);
}

const transient = (error: unknown) => error instanceof KasmApiError && (error.code === 'KASM_API_UNREACHABLE' || error.code === 'KASM_API_TIMEOUT');

/**
 * Saves the workspace's whole record as read, changed only in run_config: a version that resets the fields a save
 * leaves out (unknown which) then keeps them as they were.
 */
async function save(api: KasmApiClient, fields: Record<string, unknown>, imageId: string, runConfig: string, prefer: SaveForm | null): Promise<SaveForm> {
  const image = { ...fields, image_id: imageId, run_config: runConfig };
  const forms: Array<[SaveForm, () => Promise<unknown>]> = [
    ['admin update_image (target_image)', () => api.call('update_image', { target_image: image }, { admin: true })],
    ['public update_image (workspace)', () => api.call('update_image', { workspace: image })],
  ];
  if (prefer) forms.sort(([a], [b]) => Number(b === prefer) - Number(a === prefer));
  const refused: Array<{ form: SaveForm; error: KasmApiError }> = [];
  for (const [form, call] of forms) {
    try {
      await call();
      return form;
    } catch (error) {
      if (!(error instanceof KasmApiError) || transient(error)) throw error;
      refused.push({ form, error });
    }
  }
  const { lead, hint } = saveFailureHint(refused.map((r) => r.error));
  throw new OverrideError('OVERRIDE_SAVE_FAILED', `${lead} both ways of saving the Docker Run Config Override: ${refused.map((r) => `${r.form}: ${r.error.message}`).join('; ')}`, hint);
}

/** A 5xx is kasm_api failing, not a refusal: only a 401/403 or an error_message points at the key's permissions. */
export function saveFailureHint(errors: readonly KasmApiError[]): { lead: string; hint: string } {
  const serverError = errors.find((e) => (e.details.status ?? 0) >= 500);
  if (serverError) {
    return {
      lead: 'kasm_api failed with a server error on',
      hint: `kasm_api answered ${serverError.details.status}: read \`sudo docker logs --tail 100 kasm_api\` on the WebApp servers for the error, then run again; or set KASM_DEBUG by hand (Workspaces > Edit > Docker Run Config Override) and run without KASM_ALLOW_MUTATIONS.`,
    };
  }
  return { lead: 'Kasm refused', hint: HINT_PERMISSION };
}

const restoreDir = (stateDir: string) => join(stateDir, 'restore');
const urlKey = (kasmUrl: string) => createHash('sha256').update(new URL(kasmUrl).origin).digest('hex').slice(0, 12);

export function restoreFile(stateDir: string, kasmUrl: string, imageId: string): string {
  return join(restoreDir(stateDir), `${urlKey(kasmUrl)}-${imageId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

/** Written whole or not at all, readable by this user only: it holds the override's values. */
function writeRecord(file: string, record: RestoreRecord): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, file);
}

export function readRecord(file: string): RestoreRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? jsonErrorPosition(error);
    throw new OverrideError('OVERRIDE_RESTORE_FILE_INVALID', `restore file ${file} cannot be read (${reason})`, 'Compare the workspace\'s Docker Run Config Override by hand, then delete the file.');
  }
  const record = parsed as Partial<RestoreRecord>;
  if (!isObject(parsed) || record.version !== 1 || typeof record.kasmUrl !== 'string' || typeof record.imageId !== 'string' || typeof record.applied !== 'string' || !('original' in record)) {
    throw new OverrideError('OVERRIDE_RESTORE_FILE_INVALID', `restore file ${file} is not one this suite wrote (version 1 with kasmUrl, imageId, original and applied)`, 'Compare the workspace\'s Docker Run Config Override by hand, then delete the file.');
  }
  return record as RestoreRecord;
}

export interface PendingRestore {
  file: string;
  record?: RestoreRecord;
  error?: OverrideError;
}

/** Restore files left by runs that did not get to restore; for one Kasm when `kasmUrl` is given. */
export function pendingRestores(stateDir: string, kasmUrl?: string): PendingRestore[] {
  const dir = restoreDir(stateDir);
  if (!existsSync(dir)) return [];
  const prefix = kasmUrl ? `${urlKey(kasmUrl)}-` : '';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name.startsWith(prefix))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      try {
        return { file, record: readRecord(file) };
      } catch (error) {
        if (error instanceof OverrideError) return { file, error };
        throw error;
      }
    });
}

export async function applyDebugOverride(api: KasmApiClient, options: { stateDir: string; kasmUrl: string; imageId: string; runnerPid?: number }): Promise<Applied> {
  const file = restoreFile(options.stateDir, options.kasmUrl, options.imageId);
  if (existsSync(file)) {
    const earlier = readRecord(file);
    throw new OverrideError(
      'OVERRIDE_PENDING',
      `workspace "${earlier.workspace}" still carries a change from an earlier run (pid ${earlier.pid}, ${earlier.at}: ${earlier.change}) that was not restored`,
      `Run \`npm run restore\` first (restore file ${file}); changing it again now would record the earlier change as the original.`,
    );
  }
  const workspace = await readWorkspace(api, options.imageId);
  const debug = withDebug(runConfigObject(workspace.runConfig, workspace.name), workspace.name);
  if (!debug) return { state: 'already-set', workspace, change: `environment.${DEBUG_KEY} is already 1: nothing changed` };
  const applied = JSON.stringify(debug.next);
  // In a Playwright worker the runner is the parent: it outlives the worker for as long as the run lasts.
  const runnerPid = options.runnerPid ?? process.pid;
  const runner = { pid: runnerPid, host: hostname(), started: processStart(runnerPid) };
  const record: RestoreRecord = { version: 1, kasmUrl: new URL(options.kasmUrl).origin, imageId: workspace.imageId, workspace: workspace.name, original: workspace.runConfig ?? null, applied, change: debug.change, via: null, at: new Date().toISOString(), pid: process.pid, runner, originalFields: workspace.fields };
  writeRecord(file, record);
  try {
    record.via = await save(api, workspace.fields, workspace.imageId, applied, null);
  } catch (error) {
    // Whether a failed save landed is unknown: the restore file stays unless the workspace is plainly unchanged.
    const now = await readWorkspace(api, workspace.imageId).catch(() => undefined);
    if (now && compare(now.runConfig, record.original).identical) rmSync(file, { force: true });
    throw error;
  }
  writeRecord(file, record);
  const after = await readWorkspace(api, workspace.imageId);
  if (!sameJson(after.runConfig, applied)) {
    if (compare(after.runConfig, record.original).identical) rmSync(file, { force: true });
    throw new OverrideError('OVERRIDE_NOT_APPLIED', `Kasm accepted ${record.via} but get_images still shows the workspace's override without ${DEBUG_KEY}=1`, `This Kasm version saves the override another way: set it by hand (Workspaces > Edit > Docker Run Config Override: { "environment": { "${DEBUG_KEY}": 1 } }).`);
  }
  record.appliedFields = after.fields;
  writeRecord(file, record);
  const moved = otherFieldChanges(workspace.fields, after.fields);
  if (moved.length) {
    // The change is in place and its restore file kept: the restore (the teardown, or `npm run restore`) puts it back.
    throw new OverrideError(
      'OVERRIDE_OTHER_FIELDS_CHANGED',
      `workspace "${workspace.name}": saving the override through ${record.via} also changed ${moved.join(', ')}`,
      `This Kasm version's update_image does more than set run_config. The override is restored with the rest of the record as read; compare the workspace with "originalFields" in ${file} (Workspaces > Edit) and run without KASM_ALLOW_MUTATIONS until it is understood.`,
    );
  }
  return { state: 'applied', workspace, change: debug.change, record, file };
}

/**
 * Puts the original back when the workspace still holds what this suite saved. Someone else's later edit is not
 * overwritten unless `force` is set: the restore file stays and the error says so.
 */
export async function restoreDebugOverride(api: KasmApiClient, file: string, options: { force?: boolean } = {}): Promise<Restored> {
  const record = readRecord(file);
  const now = await readWorkspace(api, record.imageId);
  const base = { workspace: record.workspace, change: record.change };
  const originalText = typeof record.original === 'string' ? record.original : isEmpty(record.original) ? '{}' : JSON.stringify(record.original);
  const sent = fieldsToRestore(now.fields, record.originalFields, record.appliedFields);
  const already = compare(now.runConfig, record.original);
  // Back already only when the fields the change's save moved are back too (a restore cut short may leave them).
  if (already.identical && !otherFieldChanges(now.fields, sent).length) {
    rmSync(file, { force: true });
    return { state: 'already-original', ...base, comparison: already.comparison, bytes: Buffer.byteLength(originalText) };
  }
  if (!already.identical && !sameJson(now.runConfig, record.applied) && !options.force) {
    throw new OverrideError(
      'OVERRIDE_CHANGED_SINCE',
      `workspace "${record.workspace}": its Docker Run Config Override changed after this suite set ${DEBUG_KEY} (${record.at}); it is left as it is`,
      `Someone edited it since. Compare it with "original" in ${file} and fix it by hand, or put the original back regardless with \`npm run restore -- --force\`.`,
    );
  }
  await save(api, sent, record.imageId, originalText, record.via);
  const after = await readWorkspace(api, record.imageId);
  const result = compare(after.runConfig, record.original);
  if (!result.identical) {
    throw new OverrideError('OVERRIDE_RESTORE_MISMATCH', `workspace "${record.workspace}": after the restore get_images shows an override that is not ${result.comparison} the original`, `The restore file ${file} is kept: compare its "original" with Workspaces > Edit > Docker Run Config Override and fix it by hand.`);
  }
  // Every field as the restore saved it, not only the override: a save that moves others is named.
  const differ = otherFieldChanges(sent, after.fields);
  if (differ.length) {
    throw new OverrideError('OVERRIDE_RESTORE_MISMATCH', `workspace "${record.workspace}": the override is back, but saving it also changed ${differ.join(', ')}`, `The restore file ${file} is kept: compare its "originalFields" with the workspace (Workspaces > Edit) and fix it by hand.`);
  }
  rmSync(file, { force: true });
  return { state: 'restored', ...base, comparison: result.comparison, bytes: Buffer.byteLength(originalText) };
}

export interface PendingOutcome {
  item: PendingRestore;
  restored?: Restored;
  error?: unknown;
}

/** Restores every pending change of this Kasm, one by one; each outcome is reported, none stops the others. */
export async function restorePending(config: KasmConfig, options: { force?: boolean } = {}): Promise<PendingOutcome[]> {
  const pending = pendingRestores(config.stateDir, config.url.href);
  if (!pending.length) return [];
  return withKasmApi(config, async ({ client: api }) => {
    const outcomes: PendingOutcome[] = [];
    for (const item of pending) {
      try {
        if (item.error) throw item.error;
        if (!options.force && runnerAlive(item.record!)) {
          throw new OverrideError('OVERRIDE_IN_USE', `workspace "${item.record!.workspace}": the run that changed it (pid ${item.record!.runner!.pid}) is still going`, 'Let that run finish (it restores the override itself), or stop it and run `npm run restore`; `npm run restore -- --force` restores now regardless.');
        }
        outcomes.push({ item, restored: await restoreDebugOverride(api, item.file, options) });
      } catch (error) {
        outcomes.push({ item, error });
      }
    }
    return outcomes;
  });
}

/**
 * Whether the change a restore file records was made by this run (its runner, on this host). A teardown restores only
 * its own run's change: another run's, still going beside it, is that run's to restore; a dead one's is for
 * `npm run restore`. A record without its runner (an older version) is nobody's here.
 */
export function madeByRun(record: Pick<RestoreRecord, 'runner'>, runner: { pid: number; host: string }): boolean {
  return record.runner !== undefined && record.runner.pid === runner.pid && record.runner.host === runner.host;
}

/** On this machine, the runner that made the change is still running: its own teardown will restore. */
function runnerAlive(record: RestoreRecord): boolean {
  if (!record.runner || record.runner.host !== hostname() || record.runner.pid === process.pid) return false;
  return alive(record.runner.pid, record.runner.started);
}

/** The error of a restore that did not happen, with its fix when it has one. */
export function describeRestoreError(error: unknown): string {
  if (error instanceof OverrideError) return `${error.message}. Fix: ${error.hint}`;
  return error instanceof Error ? error.message : String(error);
}
