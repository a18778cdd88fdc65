// The run's redaction (helpers/report/redaction.ts): each result redacted before other reporters see it, one pass
// over every file the run wrote, and the secrets workers learn shared with the runner. Canaries in every form a
// secret takes in files: as is, escaped in JSON (once and twice), URL- and form-encoded, base64, base64url, Basic.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { TestResult } from '@playwright/test/reporter';
import { registerBasicCredentials, registerSecret, SHARED_SECRETS_VARIABLE } from '../../helpers/redact.ts';
import { redactResult, scrubFiles } from '../../helpers/report/redaction.ts';
import { filesUnder } from './suite-run.ts';

/** Every form of the secret, and of the Basic pair, that the redaction must take out of a file. */
export function canaryForms(user: string, secret: string): Record<string, string> {
  const json = JSON.stringify(secret).slice(1, -1);
  const basic = Buffer.from(`${user}:${secret}`).toString('base64');
  return {
    'as is': secret,
    'escaped in JSON': json,
    'escaped in JSON twice': JSON.stringify(json).slice(1, -1),
    'URL-encoded': encodeURIComponent(secret),
    'form-encoded': encodeURIComponent(secret).replace(/%20/g, '+'),
    base64: Buffer.from(secret).toString('base64'),
    base64url: Buffer.from(secret).toString('base64url'),
    'Basic credentials': basic,
  };
}

export function survivors(text: string, forms: Record<string, string>): string[] {
  return Object.entries(forms).filter(([, form]) => text.includes(form)).map(([name]) => name);
}

const work = mkdtempSync(join(tmpdir(), 'kasm-redaction-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the redaction pass over every file the run wrote', () => {
  const secret = `CANARY "pass\\w/rd" &=? ${randomBytes(6).toString('hex')}`;
  registerSecret(secret, 'configured');
  registerBasicCredentials('canary-key', secret);
  const forms = canaryForms('canary-key', secret);
  const blob = Object.values(forms).join('\n');

  it('takes every form out of every kind of file, and leaves binary files and what links point to alone', () => {
    const reports = join(work, 'reports');
    const results = join(work, 'test-results', 'check-retry1');
    for (const dir of [join(reports, 'allure-results'), join(reports, 'incident'), results]) mkdirSync(dir, { recursive: true });
    const files = {
      junit: join(reports, 'junit.xml'),
      'allure result': join(reports, 'allure-results', 'a1-result.json'),
      'allure attachment': join(reports, 'allure-results', 'a1-attachment.txt'),
      diagnosis: join(reports, 'diagnosis.json'),
      'diagnosis markdown': join(reports, 'diagnosis.md'),
      incident: join(reports, 'incident', '2026-12-03.html'),
      'error context': join(results, 'error-context.md'),
    };
    writeFileSync(files.junit, `<testsuite><failure message="${blob.replace(/"/g, '&quot;')}">${blob}</failure></testsuite>`);
    writeFileSync(files['allure result'], JSON.stringify({ statusDetails: { message: blob, trace: JSON.stringify({ blob }) } }));
    for (const file of [files['allure attachment'], files.diagnosis, files['diagnosis markdown'], files.incident, files['error context']]) writeFileSync(file, `before\n${blob}\nafter`);
    const png = join(results, 'screenshot.png');
    const pngBytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), Buffer.from(secret)]);
    writeFileSync(png, pngBytes);
    const outside = join(work, 'outside.txt');
    writeFileSync(outside, secret);
    symlinkSync(outside, join(reports, 'link.txt'));

    const pass = scrubFiles([reports, join(work, 'test-results')]);
    for (const [kind, file] of Object.entries(files)) {
      const text = readFileSync(file, 'utf8');
      assert.deepEqual(survivors(text, forms), [], `${kind}: forms survived`);
      assert.match(text, /\[REDACTED\]/, `${kind}: redacted in place`);
    }
    assert.equal(pass.redacted.length, Object.keys(files).length, pass.redacted.join('\n'));
    assert.deepEqual(readFileSync(png), pngBytes, 'a binary file is left as it is');
    assert.equal(readFileSync(outside, 'utf8'), secret, 'a link is not followed out of the run');
    // The allure result stays JSON a report can read.
    JSON.parse(readFileSync(files['allure result'], 'utf8'));
  });

  it("redacts a result before the other reporters see it: Playwright's error text, steps, output, annotations, attachments", () => {
    const attachmentFile = join(work, 'attachment.txt');
    writeFileSync(attachmentFile, blob);
    const error = { message: `expect(received).toMatch(expected)\n\nReceived string: "${forms['escaped in JSON']}"`, stack: `Error: ${secret}`, snippet: `> 12 | expect("${forms['URL-encoded']}")`, value: forms.base64 };
    const result = {
      errors: [error],
      error,
      steps: [{ title: `page.goto(https://kasm.example/?p=${forms['URL-encoded']})`, steps: [{ title: 'inner', steps: [], error: { message: forms['Basic credentials'] } }] }],
      stdout: [`log ${secret}`, Buffer.from(forms.base64url!)],
      stderr: [],
      annotations: [{ type: 'skip', description: `because ${secret}` }],
      attachments: [
        { name: 'evidence', contentType: 'text/plain', body: Buffer.from(blob) },
        { name: 'file', contentType: 'text/plain', path: attachmentFile },
      ],
    } as unknown as TestResult;
    redactResult(result);
    const text = JSON.stringify(result, (_key, value: unknown) => (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' ? Buffer.from((value as unknown as { data: number[] }).data).toString() : value));
    assert.deepEqual(survivors(text, forms), [], text);
    assert.deepEqual(survivors(readFileSync(attachmentFile, 'utf8'), forms), []);
  });

  it('hears of the secrets a worker learned through the shared file, and only those (a configured one is not written)', () => {
    const shared = join(work, 'shared', 'secrets.jsonl');
    mkdirSync(join(work, 'shared'), { mode: 0o700 });
    const token = `learned-${randomBytes(8).toString('hex')}`;
    const configured = `configured-${randomBytes(8).toString('hex')}`;
    const worker = `import { registerSecret } from ${JSON.stringify(new URL('../../helpers/redact.ts', import.meta.url).pathname)};
registerSecret(${JSON.stringify(configured)}, 'configured'); registerSecret(${JSON.stringify(token)});`;
    const runner = `import { loadSharedSecrets, redact } from ${JSON.stringify(new URL('../../helpers/redact.ts', import.meta.url).pathname)};
loadSharedSecrets(); process.stdout.write(redact(${JSON.stringify(`${token} ${Buffer.from(token).toString('base64')} ${configured}`)}));`;
    const env = { ...process.env, [SHARED_SECRETS_VARIABLE]: shared };
    const w = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker], { env, encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    assert.ok(!readFileSync(shared, 'utf8').includes(configured), 'a configured secret is never written to the shared file');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', runner], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `[REDACTED] [REDACTED] ${configured}`);
  });
});

// Playwright itself, with the suite's reporters: a worker learns a token, a failed expect prints it in every form,
// and no file the run wrote (JUnit, Allure results and attachments, test-results) keeps any of them.
describe('a Playwright run with the redaction reporters', () => {
  it('keeps a learned token and a configured secret out of junit.xml, allure-results and test-results, and removes the shared file', { timeout: 120_000 }, () => {
    const dir = join(work, 'playwright');
    const token = `tok"en\\${randomBytes(6).toString('hex')}`;
    const apiSecret = `CANARY"api\\secret ${randomBytes(6).toString('hex')}`;
    const project = new URL('./canary-project/', import.meta.url).pathname;
    const run = spawnSync(process.execPath, [join(process.cwd(), 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '-c', join(project, 'playwright.config.ts')], {
      cwd: process.cwd(),
      env: { ...process.env, KASM_CANARY_TOKEN: token, KASM_CANARY_DIR: dir, KASM_URL: 'https://kasm.example', KASM_API_KEY: 'canary-key', KASM_API_SECRET: apiSecret, KASM_USER: 'u@example.com', KASM_WORKSPACE: 'Ubuntu Jammy', KASM_REPORTS_DIR: join(dir, 'reports'), KASM_ENV: '', CI: '' },
      encoding: 'utf8',
      timeout: 110_000,
    });
    assert.equal(run.status, 1, `the canary spec fails on purpose\n${run.stdout}\n${run.stderr}`);
    const files = filesUnder(dir);
    for (const kind of ['junit.xml', 'allure-results', 'test-results']) assert.ok(files.some((f) => f.includes(kind)), `${kind} was written: ${files.join('\n')}`);
    const forms = { ...canaryForms('learned', token), ...canaryForms('canary-key', apiSecret) };
    delete forms['Basic credentials'];
    const basic = Buffer.from(`canary-key:${apiSecret}`).toString('base64');
    const leaks = files.flatMap((file) => survivors(readFileSync(file, 'latin1'), { ...forms, basic }).map((form) => `${file}: ${form}`));
    assert.deepEqual(leaks, [], leaks.join('\n'));
    assert.match(readFileSync(files.find((f) => f.endsWith('junit.xml'))!, 'utf8'), /\[REDACTED\]/, 'the failure text is there, redacted');
    for (const out of [run.stdout, run.stderr]) assert.deepEqual(survivors(out, { ...forms, basic }), [], 'the console output');
    const shared = readFileSync(join(dir, 'shared-path.txt'), 'utf8');
    assert.ok(shared && !existsSync(shared), `the shared secrets file ${shared} is removed when the run ends`);
  });
});
