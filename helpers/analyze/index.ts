// Routes captured text to the parsers, judges each format, and keeps the counts an engineer needs to trust the result
// (how much of the capture was actually read).
import { redact } from '../redact.ts';
import { FORMATS, route, type Format } from './route.ts';

/** How the formats read in a message: the names an engineer knows them by. */
const FORMAT_NAMES: Record<Format, string> = {
  kasm_api: 'kasm_api',
  kasm_agent: 'kasm_agent',
  nginx: 'kasm_proxy/nginx',
  kasmvnc: 'KasmVNC',
  docker_ps: 'docker ps',
  curl: 'curl',
  html_page: 'HTML error pages',
  ui_export: "the Kasm UI's log export",
  compose: 'docker compose',
  installer: "Kasm's installer",
  kubectl: 'kubectl get',
  browser: "DevTools' Copy as fetch",
};
import { JUDGES, type Finding } from './judge.ts';

export type { Finding } from './judge.ts';
export type { Format } from './route.ts';

export interface Analysis {
  ok: boolean;
  findings: Finding[];
  counts: {
    lines: number;
    byFormat: Record<Format, number>;
    unreadable: number;
    unreadableSamples: string[];
  };
  /** Why the result may say little: empty or binary input, nothing readable. */
  notes: string[];
}

const MAX_SAMPLES = 5;
const SAMPLE_CHARS = 200;
const SEVERITY_ORDER = { fail: 0, warn: 1, info: 2 } as const;

function clip(line: string): string {
  if (binaryShare(line) > 0.01 || /[\x00-\x08\x0e-\x1f]/.test(line)) return `[binary, ${line.length} characters]`;
  const printable = line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '\ufffd');
  return printable.length > SAMPLE_CHARS ? `${printable.slice(0, SAMPLE_CHARS)}…` : printable;
}

// A NUL in text output means the capture is not text (a core file, a gzip, a docker log's binary framing).
const binaryShare = (text: string): number => (text.length === 0 ? 0 : (text.match(/[\x00\ufffd]/g)?.length ?? 0) / text.length);

function notesFor(text: string, read: number, total: number): string[] {
  if (text.trim() === '') return ['the input is empty: nothing to analyze'];
  const notes: string[] = [];
  if (binaryShare(text) > 0.01) notes.push('the input looks binary (NUL bytes or invalid UTF-8), not a text log: copy the log with `docker logs` or `cat`, not the raw file from the docker data directory');
  if (read === 0) notes.push(`none of the ${total} lines is in a format this tool reads (${FORMATS.map((f) => FORMAT_NAMES[f]).join(', ')}; README, "Reading logs offline")`);
  return notes;
}

function redactFinding(finding: Finding): Finding {
  return { ...finding, title: redact(finding.title), evidence: finding.evidence.map((e) => redact(clip(e))), fix: finding.severity === 'info' ? '' : redact(finding.fix) };
}

export function analyze(text: string): Analysis {
  const routed = route(text);
  const findings: Finding[] = [];
  const unreadable = [...routed.unreadable];
  const byFormat = {} as Record<Format, number>;
  for (const format of FORMATS) {
    const lines = routed.lines[format];
    byFormat[format] = lines.length;
    if (lines.length === 0) continue;
    const judged = JUDGES[format](lines);
    findings.push(...judged.findings);
    unreadable.push(...judged.unparsed);
  }
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const read = routed.total - unreadable.length;
  const notes = notesFor(text, read, routed.total);
  return {
    ok: !findings.some((f) => f.severity === 'fail') && read > 0,
    findings: findings.map(redactFinding),
    counts: { lines: routed.total, byFormat, unreadable: unreadable.length, unreadableSamples: unreadable.slice(0, MAX_SAMPLES).map((l) => redact(clip(l))) },
    notes,
  };
}
