// The incident file's size budget and how attachments are cut to meet it. Text keeps its head and tail (where a
// log's start and its failure usually are); binaries (screenshots) are replaced by a note only when cutting text
// was not enough. Nothing is dropped without a record the panel lists.
import { ReportError } from './errors.ts';

export const DEFAULT_BUDGET_BYTES = 10_000_000;
/** What a cut text attachment keeps at least: enough of its head and tail to recognise it. */
export const MIN_KEEP_BYTES = 4_096;

export function parseBudget(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_BUDGET_BYTES;
  const value = raw.trim();
  const bytes = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ReportError('KASM_REPORT_BAD_BUDGET', `KASM_REPORT_MAX_BYTES: must be a whole number of bytes greater than 0, got "${raw}". Example: KASM_REPORT_MAX_BYTES=10000000`);
  }
  return bytes;
}

/** Decimal units, as mail and ticket systems state their limits; at most two decimals. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${Number((bytes / 1_000_000).toFixed(2))} MB`;
  if (bytes >= 1_000) return `${Number((bytes / 1_000).toFixed(1))} KB`;
  return `${bytes} bytes`;
}

export const trimMarker = (bytes: number) => `[… ${bytes} bytes trimmed from this attachment to fit the incident report budget …]`;

/** Backs off to the start of a UTF-8 character, so a cut never splits one. */
function charStart(buf: Buffer, at: number): number {
  let i = Math.max(0, Math.min(at, buf.length));
  while (i > 0 && i < buf.length && (buf[i]! & 0xc0) === 0x80) i -= 1;
  return i;
}

/** Keeps about `keep` bytes: the head and the tail, with a marker saying how much went between them. */
export function trimText(buf: Buffer, keep: number): Buffer {
  if (buf.length <= keep) return buf;
  const headEnd = charStart(buf, Math.floor(keep / 2));
  const tailStart = charStart(buf, buf.length - Math.ceil(keep / 2));
  const cut = tailStart - headEnd;
  return Buffer.concat([buf.subarray(0, headEnd), Buffer.from(`\n${trimMarker(cut)}\n`), buf.subarray(tailStart)]);
}

export interface Candidate {
  id: string;
  bytes: number;
  kind: 'text' | 'binary';
}

export type TrimAction = { id: string; action: 'trim'; keep: number } | { id: string; action: 'replace' };

export interface TrimChoice {
  actions: TrimAction[];
  /** Whether the actions are expected to save `need` bytes; false means everything that can go, goes. */
  enough: boolean;
}

const NOTE_BYTES = 400;
const MARKER_BYTES = 120;

/** Text saves down to one common cap, the highest that saves `need` (largest attachments are cut first and most). */
function textCap(texts: Candidate[], need: number): number | undefined {
  const saving = (cap: number) => texts.reduce((sum, t) => sum + Math.max(0, t.bytes - cap - MARKER_BYTES), 0);
  if (saving(MIN_KEEP_BYTES) < need) return undefined;
  let low = MIN_KEEP_BYTES;
  let high = Math.max(...texts.map((t) => t.bytes));
  while (high - low > 64) {
    const mid = Math.floor((low + high) / 2);
    if (saving(mid) >= need) low = mid;
    else high = mid;
  }
  return low;
}

/** Chooses cuts that save at least `need` bytes of attachments, text first, then binaries, largest first. */
export function chooseTrims(candidates: Candidate[], need: number): TrimChoice {
  const texts = candidates.filter((c) => c.kind === 'text' && c.bytes > MIN_KEEP_BYTES + MARKER_BYTES);
  const cap = textCap(texts, need);
  if (cap !== undefined) return { actions: texts.filter((t) => t.bytes > cap + MARKER_BYTES).map((t) => ({ id: t.id, action: 'trim', keep: cap })), enough: true };
  const actions: TrimAction[] = texts.map((t) => ({ id: t.id, action: 'trim', keep: MIN_KEEP_BYTES }));
  let saved = texts.reduce((sum, t) => sum + t.bytes - MIN_KEEP_BYTES - MARKER_BYTES, 0);
  const binaries = candidates.filter((c) => c.kind === 'binary' && c.bytes > NOTE_BYTES).sort((a, b) => b.bytes - a.bytes);
  for (const b of binaries) {
    if (saved >= need) break;
    actions.push({ id: b.id, action: 'replace' });
    saved += b.bytes - NOTE_BYTES;
  }
  return { actions, enough: saved >= need };
}
