// What the Allure report shows under Environment: where the run pointed, what ran it, and what it concluded.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Diagnosis } from '../diagnosis/finding.ts';
import { redact } from '../redact.ts';
import { ReportError } from './errors.ts';

export type Entries = Array<[string, string]>;

const KEY = /^[A-Za-z0-9_.-]+$/;

function escapeProperty(text: string, isKey: boolean): string {
  let out = '';
  // By UTF-16 code unit: Java's reader (Allure 2) takes ISO-8859-1, so anything else travels as \uXXXX.
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    const code = text.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (isKey && '=: #!'.includes(ch)) out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return isKey ? out : out.replace(/^ /, '\\ ');
}

export function environmentProperties(entries: Entries): string {
  return entries.map(([k, v]) => `${escapeProperty(k, true)}=${escapeProperty(v, false)}`).join('\n') + '\n';
}

/** The checked-out commit, read from .git without running git (which may be absent where reports are made). */
export function gitCommit(root: string): string | undefined {
  try {
    let gitDir = join(root, '.git');
    if (!existsSync(gitDir)) return undefined;
    if (statSync(gitDir).isFile()) {
      const pointer = /^gitdir: (.+)$/m.exec(readFileSync(gitDir, 'utf8'))?.[1]?.trim();
      if (!pointer) return undefined;
      gitDir = isAbsolute(pointer) ? pointer : join(root, pointer);
    }
    const common = existsSync(join(gitDir, 'commondir')) ? join(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return /^[0-9a-f]{40,64}$/.test(head) ? head.slice(0, 7) : undefined;
    const loose = join(common, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim().slice(0, 7) || undefined;
    const packed = existsSync(join(common, 'packed-refs')) ? readFileSync(join(common, 'packed-refs'), 'utf8') : '';
    return packed.split('\n').find((line) => line.endsWith(` ${ref}`))?.slice(0, 7);
  } catch {
    return undefined;
  }
}

/** reports/run-info.json: a flat object of strings (zones, agents, Kasm version, ...) whoever runs the suite adds. */
export function readRunInfo(file: string): Entries {
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ReportError('KASM_REPORT_BAD_INPUT', `${file} is not JSON (${(error as Error).message}). Expected a flat object of strings, e.g. {"kasmVersion": "1.16.0", "zones": "eu,us"}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ReportError('KASM_REPORT_BAD_INPUT', `${file} must hold a flat JSON object of strings, e.g. {"kasmVersion": "1.16.0"}`);
  }
  const problems = Object.entries(parsed).flatMap(([k, v]) => [
    ...(KEY.test(k) ? [] : [`key "${k}" (letters, digits, ".", "_" and "-" only)`]),
    ...(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? [] : [`"${k}" is not a string`]),
  ]);
  if (problems.length) throw new ReportError('KASM_REPORT_BAD_INPUT', `${file}: ${problems.join('; ')}. Expected a flat object of strings, e.g. {"kasmVersion": "1.16.0"}`);
  return Object.entries(parsed as Record<string, string | number | boolean>).map(([k, v]) => [k, String(v)]);
}

export interface EnvironmentInput {
  diagnosis: Diagnosis;
  suiteVersion: string;
  commit: string | undefined;
  runInfo: Entries;
}

/**
 * Kasm's version as far as the run saw it: the tag of the kasm_api image in `docker ps` on a WebApp server (the
 * Developer API does not report one).
 */
export function kasmVersion(d: Pick<Diagnosis, 'findings'>): string | undefined {
  for (const finding of d.findings.filter((f) => f.check === 'webapp.containers')) {
    const containers = Array.isArray(finding.evidence.containers) ? (finding.evidence.containers as Array<{ name?: unknown; image?: unknown }>) : [];
    const image = containers.find((c) => c.name === 'kasm_api')?.image;
    const tag = typeof image === 'string' ? /:([^:/]+)$/.exec(image)?.[1] : undefined;
    if (tag) return `${tag} (kasm_api image${finding.target ? ` on ${finding.target}` : ''})`;
  }
  return undefined;
}

/** Ours first; run-info.json adds its own keys but cannot overwrite the verdict or where the run pointed. */
export function runEnvironment(input: EnvironmentInput): { entries: Entries; ignored: string[] } {
  const { diagnosis: d } = input;
  let host = d.kasmUrl;
  try {
    host = new URL(d.kasmUrl).host;
  } catch {
    // Not a URL: shown as written.
  }
  const ours: Entries = [
    ['kasm.host', host],
    ['kasm.version', kasmVersion(d) ?? 'unknown (no SSH to a WebApp server)'],
    ['suite.version', input.suiteVersion],
    ['git.commit', input.commit ?? 'unknown (no .git)'],
    ['verdict', d.verdict],
    ['faulty.hop', d.faultyHop ?? 'none'],
    ['node.version', process.version],
  ];
  const taken = new Set(ours.map(([k]) => k));
  const ignored = input.runInfo.filter(([k]) => taken.has(k)).map(([k]) => k);
  const entries = [...ours, ...input.runInfo.filter(([k]) => !taken.has(k))].map(([k, v]): [string, string] => [k, redact(v)]);
  return { entries, ignored };
}

export function suiteVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export const runInfoFile = (reportsDir: string) => join(reportsDir, 'run-info.json');
