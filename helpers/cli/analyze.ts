// `npm run analyze -- <file | -> [--json]`: the suite's parsers and the guide's reading, offline, for logs an engineer
// copied from a site the suite cannot reach (air-gapped). Exit 0: nothing wrong; 1: a finding fails or nothing could
// be read; 2: bad usage.
import { readFileSync } from 'node:fs';
import { analyze, type Analysis, type Finding } from '../analyze/index.ts';
import { guideLink } from '../diagnosis/catalog.ts';
import { redact } from '../redact.ts';
import { plural } from '../report/text.ts';

const USAGE = `usage: npm run analyze -- <file | -> [--json]
  <file>   a captured log: docker logs kasm_api / kasm_proxy / <session> 2>&1, a KasmVNC ~/.vnc/*.log,
           docker ps [-a] (table or --format '{{json .}}'), curl output; formats may be mixed
  -        read standard input
  --json   print one JSON object instead of text`;

class UsageError extends Error {
  readonly code = 'USAGE';
}

interface Args {
  source: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  if (rest.includes('-h') || rest.includes('--help')) throw new UsageError('');
  const unknown = rest.find((a) => a.startsWith('-') && a !== '-');
  if (unknown) throw new UsageError(`unknown option ${unknown}`);
  if (rest.length === 0) throw new UsageError('no input given: name a log file, or - for standard input');
  if (rest.length > 1) throw new UsageError(`one input at a time (got ${rest.length}): concatenate the files, mixed formats are fine`);
  return { source: rest[0] ?? '', json };
}

function readInput(source: string): string {
  try {
    return readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`cannot read ${source}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`cannot read ${source}: it is a directory, name a file`);
    if (code === 'EACCES') throw new UsageError(`cannot read ${source}: permission denied`);
    throw new UsageError(`cannot read ${source}: ${(err as Error).message}`);
  }
}

const LABEL = { fail: 'FAIL', warn: 'WARN', info: 'info' } as const;

function findingText(finding: Finding): string[] {
  const out = [`${LABEL[finding.severity]} [${finding.hop}/${finding.format}] ${finding.title}`];
  if (finding.severity !== 'info') out.push(`     guide: ${finding.guideSection} (${guideLink(finding.guideSection)})`);
  if (finding.fix) out.push(`     fix:   ${finding.fix}`);
  for (const line of finding.evidence) out.push(`     | ${line}`);
  return out;
}

function countsText(result: Analysis): string[] {
  const { counts } = result;
  const formats = Object.entries(counts.byFormat)
    .filter(([, n]) => n > 0)
    .map(([format, n]) => `${format} ${n}`);
  const out = [`${plural(counts.lines, 'line')} read${formats.length ? ` (${formats.join(', ')})` : ''}; ${counts.unreadable} could not be read`];
  for (const line of counts.unreadableSamples) out.push(`  ? ${line}`);
  return out;
}

function report(source: string, result: Analysis): string {
  const lines = [`analyze ${source === '-' ? 'standard input' : source}: ${result.ok ? 'nothing wrong found' : 'problems found'}`];
  for (const note of result.notes) lines.push(`note: ${note}`);
  for (const finding of result.findings) lines.push(...findingText(finding));
  if (result.findings.length === 0) lines.push('no findings');
  lines.push(...countsText(result));
  return lines.join('\n');
}

function main(argv: string[]): number {
  const args = parseArgs(argv);
  const result = analyze(readInput(args.source));
  const output = args.json ? JSON.stringify({ source: args.source, ...result }, null, 2) : report(args.source, result);
  process.stdout.write(`${redact(output)}\n`);
  return result.ok ? 0 : 1;
}

function run(): void {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `analyze: ${err.message}\n` : ''}${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    // An analysis tool that crashes on a strange capture loses the engineer's trust: say what broke, no stack.
    process.stderr.write(`analyze: could not analyze the input: ${redact(err instanceof Error ? err.message : String(err))}\n`);
    process.exitCode = 1;
  }
}

run();
