// Real logs from public Kasm, KasmVNC and linuxserver issues (tests/fixtures/real/: each excerpt quoted exactly,
// beside its source, version, what was trimmed and the conclusion a correct reading reaches). Every sample goes
// through `analyze`, which must reach that conclusion: the hop and severity, and the line that proves it among the
// finding's evidence. Samples it does not read right yet are listed in NOT_YET with why (issue 13), and run as todo.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { analyze } from '../../helpers/analyze/index.ts';
import { stripPaste } from '../../helpers/logs/text.ts';
import { HOPS } from '../../helpers/diagnosis/catalog.ts';

const DIR = new URL('../fixtures/real/', import.meta.url).pathname;

const Sample = z.strictObject({
  source: z.string().regex(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\/issues\/\d+(#[\w-]+)?/),
  title: z.string().min(3),
  posted: z.string().regex(/^(\d{4}-\d{2}-\d{2}|unknown)$/),
  component: z.string().min(2),
  version: z.string().min(3),
  trimmed: z.string().min(3),
  conclusion: z.strictObject({
    hop: z.enum(HOPS),
    /** Other hops a correct reading may name where the excerpt alone cannot tell (said in `finding`). */
    alsoHops: z.array(z.enum(HOPS)).optional(),
    severity: z.enum(['fail', 'warn', 'info']),
    finding: z.string().min(10),
    evidenceLine: z.string().min(3),
    fix: z.string().min(3),
  }),
  resolution: z.string().min(3),
});

const slugs = readdirSync(DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length))
  .sort();

/** What analyze does not read right yet, and why: each is work of issue 13. */
const NOT_YET: Record<string, string> = {
};

describe('the corpus of real samples', () => {
  it('holds at least 40 samples, each with its excerpt and a complete, public record', () => {
    assert.ok(slugs.length >= 40, `${slugs.length} samples`);
    for (const slug of slugs) {
      const record = Sample.safeParse(JSON.parse(readFileSync(join(DIR, `${slug}.json`), 'utf8')));
      assert.ok(record.success, `${slug}.json: ${record.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const lines = readFileSync(join(DIR, `${slug}.log`), 'utf8').split(/\r?\n/);
      assert.ok(lines.includes(record.data.conclusion.evidenceLine), `${slug}: the evidence line is a line of the excerpt, quoted exactly`);
    }
  });

  it('lists only samples that exist as not read yet', () => {
    for (const slug of Object.keys(NOT_YET)) assert.ok(slugs.includes(slug), `NOT_YET names ${slug}, which is not in the corpus`);
  });
});

/** Why analyze misses the sample's conclusion, or undefined when it reaches it. */
function missed(slug: string): string | undefined {
  const { conclusion } = Sample.parse(JSON.parse(readFileSync(join(DIR, `${slug}.json`), 'utf8')));
  const analysis = analyze(readFileSync(join(DIR, `${slug}.log`), 'utf8'));
  const said = analysis.findings.map((f) => `${f.severity} [${f.hop}] ${f.title}`).join('\n') || '(no finding)';
  if (conclusion.severity === 'info') {
    const wrong = analysis.findings.filter((f) => f.severity !== 'info');
    if (wrong.length) return `${slug}: nothing wrong in it (${conclusion.finding}); analyze said:\n${said}`;
    return analysis.counts.unreadable < analysis.counts.lines ? undefined : `${slug}: not read at all`;
  }
  const hops = [conclusion.hop, ...(conclusion.alsoHops ?? [])];
  // Evidence is quoted as the log wrote it, without the quote marks or prefixes the paste added.
  const proof = stripPaste(conclusion.evidenceLine).trim().slice(0, 150);
  const found = analysis.findings.find((f) => f.severity === conclusion.severity && hops.includes(f.hop) && f.evidence.some((line) => line.includes(proof)));
  return found ? undefined : `${slug}: expected a ${conclusion.severity} on hop ${hops.join(' or ')} quoting "${conclusion.evidenceLine.trim()}" (${conclusion.finding}); analyze said:\n${said}`;
}

describe('analyze reaches each sample\'s conclusion', () => {
  for (const slug of slugs) {
    const todo = NOT_YET[slug];
    it(slug, todo ? { todo } : {}, () => {
      const why = missed(slug);
      assert.equal(why, undefined, why);
    });
  }

  it('keeps NOT_YET true: a sample it now reads right leaves the list', () => {
    const nowRight = Object.keys(NOT_YET).filter((slug) => slugs.includes(slug) && missed(slug) === undefined);
    assert.deepEqual(nowRight, [], 'these read right now: remove them from NOT_YET');
  });
});
