// Allure results as the report needs them: the latest run's files copied apart (allure-playwright never empties
// allure-results, so earlier runs pile up there), their attachments indexed by test, and cut when asked.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { chooseTrims, MIN_KEEP_BYTES, trimText, type Candidate } from './budget.ts';

type Json = Record<string, unknown>;

interface AttachmentLink {
  name?: string;
  source?: string;
  type?: string;
}

export interface AttachmentRef {
  source: string;
  name: string;
  type: string;
  /** The test (or fixture) the attachment belongs to. */
  test: string;
}

export interface TrimRecord {
  test: string;
  attachment: string;
  /** The attachment's size before any cut. */
  bytes: number;
  action: 'trimmed' | 'replaced';
}

const isJsonRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const readJson = (file: string): Json | undefined => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isJsonRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
};
const isResultFile = (name: string) => name.endsWith('-result.json');
const isContainerFile = (name: string) => name.endsWith('-container.json');
const isGlobalsFile = (name: string) => name.endsWith('-globals.json');
const isDescriptor = (name: string) => isResultFile(name) || isContainerFile(name) || isGlobalsFile(name);

/** Every attachment link inside a result, container or globals document (steps nest them at any depth). */
function links(value: unknown, found: AttachmentLink[] = []): AttachmentLink[] {
  if (Array.isArray(value)) {
    for (const item of value) links(item, found);
  } else if (isJsonRecord(value)) {
    if (Array.isArray(value.attachments)) for (const a of value.attachments) if (isJsonRecord(a) && typeof a.source === 'string') found.push(a as AttachmentLink);
    for (const [key, child] of Object.entries(value)) if (key !== 'attachments') links(child, found);
  }
  return found;
}

function titleOf(file: string, doc: Json): string {
  if (typeof doc.name === 'string' && doc.name) return doc.name;
  return isGlobalsFile(file) ? 'global (outside any test)' : 'fixture';
}

export function attachmentRefs(dir: string): AttachmentRef[] {
  return readdirSync(dir)
    .filter(isDescriptor)
    .flatMap((file) => {
      const doc = readJson(join(dir, file));
      if (!doc) return [];
      return links(doc).map((l) => ({ source: l.source!, name: l.name ?? l.source!, type: l.type ?? '', test: titleOf(file, doc) }));
    });
}

interface ResultMeta {
  file: string;
  run: string | undefined;
  start: number | undefined;
  stop: number | undefined;
}

function label(doc: Json, name: string): string | undefined {
  const labels = Array.isArray(doc.labels) ? doc.labels : [];
  const found = labels.find((l): l is Json => isJsonRecord(l) && l.name === name);
  return typeof found?.value === 'string' ? found.value : undefined;
}

// allure-playwright labels each result `thread: pid-<runner pid>-worker-<n>`: the runner's pid (with the host)
// tells one `playwright test` run from another.
function metaOf(file: string, doc: Json): ResultMeta {
  const pid = /^(pid-\d+)/.exec(label(doc, 'thread') ?? '')?.[1];
  // The check fixture's kasmRun label joins the shards of one CI run (KASM_RUN_ID), which have different runners.
  const run = label(doc, 'kasmRun');
  return {
    file,
    run: run && !run.startsWith('pid-') ? run : (run ?? pid) ? `${label(doc, 'host') ?? ''}/${run ?? pid}` : undefined,
    start: typeof doc.start === 'number' ? doc.start : undefined,
    stop: typeof doc.stop === 'number' ? doc.stop : undefined,
  };
}

export interface RunSelection {
  results: string[];
  /** Other runs' results left in the folder and not reported. */
  ignoredResults: number;
  runs: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
}

export function selectLatestRun(dir: string): RunSelection {
  const metas = readdirSync(dir)
    .filter(isResultFile)
    .flatMap((file) => {
      const doc = readJson(join(dir, file));
      return doc ? [metaOf(file, doc)] : [];
    });
  const byRun = new Map<string, ResultMeta[]>();
  for (const m of metas) if (m.run) byRun.set(m.run, [...(byRun.get(m.run) ?? []), m]);
  const lastStop = (ms: ResultMeta[]) => Math.max(...ms.map((m) => m.stop ?? m.start ?? 0));
  const latest = [...byRun.values()].sort((a, b) => lastStop(b) - lastStop(a))[0];
  const startedAt = latest ? Math.min(...latest.map((m) => m.start ?? Infinity)) : undefined;
  const from = startedAt !== undefined && Number.isFinite(startedAt) ? startedAt : undefined;
  // Results without the label (none today) count when they fall inside the latest run.
  const chosen = metas.filter((m) => !latest || latest.includes(m) || (!m.run && (from === undefined || (m.start ?? from) >= from)));
  return { results: chosen.map((m) => m.file), ignoredResults: metas.length - chosen.length, runs: Math.max(1, byRun.size), startedAt: from, endedAt: latest ? lastStop(latest) : undefined };
}

/** Copies the latest run's results, the containers and globals that go with them, and the attachments they link. */
export function copyLatestRun(from: string, to: string): RunSelection {
  const selection = selectLatestRun(from);
  mkdirSync(to, { recursive: true });
  const uuids = new Set(selection.results.map((f) => f.replace(/-result\.json$/, '')));
  const related = readdirSync(from).filter((name) => {
    if (isContainerFile(name)) {
      const children = readJson(join(from, name))?.children;
      return Array.isArray(children) && children.some((c) => uuids.has(String(c)));
    }
    // Globals carry no run id: those written since the run started belong to it.
    return isGlobalsFile(name) && (selection.startedAt === undefined || statSync(join(from, name)).mtimeMs >= selection.startedAt - 60_000);
  });
  const descriptors = [...selection.results, ...related];
  const attachments = new Set<string>();
  for (const name of descriptors) {
    copyFileSync(join(from, name), join(to, name));
    for (const link of links(readJson(join(from, name)))) attachments.add(link.source!);
  }
  for (const source of attachments) if (existsSync(join(from, source))) copyFileSync(join(from, source), join(to, source));
  return selection;
}

const TEXT_TYPES = /^text\/|json|xml|javascript|yaml|csv|x-www-form-urlencoded/;
const TEXT_EXTENSIONS = new Set(['.txt', '.json', '.log', '.md', '.csv', '.xml', '.html', '.yaml', '.yml', '.js', '.har']);

function kindOf(ref: AttachmentRef): Candidate['kind'] {
  if (ref.type) return TEXT_TYPES.test(ref.type) ? 'text' : 'binary';
  return TEXT_EXTENSIONS.has(extname(ref.source).toLowerCase()) ? 'text' : 'binary';
}

/** Rewrites the links of changed attachments in every descriptor that names them. */
function relink(dir: string, changes: Map<string, { source: string; type: string }>): void {
  for (const file of readdirSync(dir).filter(isDescriptor)) {
    const doc = readJson(join(dir, file));
    if (!doc) continue;
    let changed = false;
    for (const link of links(doc)) {
      const next = changes.get(link.source!);
      if (next) {
        Object.assign(link, next);
        changed = true;
      }
    }
    if (changed) writeFileSync(join(dir, file), JSON.stringify(doc));
  }
}

function replacementNote(ref: AttachmentRef, bytes: number): string {
  return `This attachment ("${ref.name}", ${ref.type || 'binary'}, ${bytes} bytes) was removed from the incident report to fit its size budget. The full report, reports/allure-report/index.html, keeps it.\n`;
}

export interface TrimStep {
  /** Every attachment cut so far, keyed by its original file name. */
  ledger: Map<string, TrimRecord>;
  /** Whether this step was expected to save what was asked. */
  enough: boolean;
  /** How many attachments this step changed; 0 means nothing is left to cut. */
  changed: number;
}

/**
 * Cuts attachments in `dir` to save at least `need` bytes: text to head + tail first, then binaries replaced by a
 * note. `ledger` carries the original sizes across rounds.
 */
export function trimResults(dir: string, need: number, ledger: Map<string, TrimRecord> = new Map()): TrimStep {
  const refs = new Map(attachmentRefs(dir).filter((r) => existsSync(join(dir, r.source))).map((r) => [r.source, r]));
  const candidates = [...refs.values()].map((r) => ({ id: r.source, bytes: statSync(join(dir, r.source)).size, kind: kindOf(r) }));
  const choice = chooseTrims(candidates, need);
  const changes = new Map<string, { source: string; type: string }>();
  for (const action of choice.actions) {
    const ref = refs.get(action.id)!;
    const path = join(dir, ref.source);
    const current = readFileSync(path);
    const original = ledger.get(ref.source)?.bytes ?? current.length;
    if (action.action === 'trim') {
      writeFileSync(path, trimText(current, Math.max(action.keep, MIN_KEEP_BYTES)));
      if (!ref.type.startsWith('text/')) changes.set(ref.source, { source: ref.source, type: 'text/plain' });
      ledger.set(ref.source, { test: ref.test, attachment: ref.name, bytes: original, action: 'trimmed' });
    } else {
      const base = ref.source.slice(0, ref.source.length - extname(ref.source).length);
      // Allure reads a file as an attachment only when its name ends in "-attachment" plus an extension.
      const note = extname(ref.source) === '.txt' ? `${base}.note.txt` : `${base}.txt`;
      writeFileSync(join(dir, note), replacementNote(ref, original));
      rmSync(path);
      changes.set(ref.source, { source: note, type: 'text/plain' });
      ledger.set(ref.source, { test: ref.test, attachment: ref.name, bytes: original, action: 'replaced' });
    }
  }
  relink(dir, changes);
  return { ledger, enough: choice.enough, changed: choice.actions.length };
}
