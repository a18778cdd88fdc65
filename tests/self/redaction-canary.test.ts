// Canary secrets planted in a lab (API secret, the user's password) plus every secret the lab handed out during the
// runs (session tokens, one-time link tokens, KasmVNC passwords and their Basic headers) must not survive anywhere
// under reports/ or test-results/: not as written, not base64-encoded (Allure embeds attachments that way), not
// percent-encoded. One run logs in through the UI (the password is typed) with the override on; one fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { filesUnder, labForSuite, runCli, runSuite } from './suite-run.ts';

/** The forms a secret takes in files: as is, percent-encoded, and base64 at each of the three byte alignments. */
export function encodings(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  for (const pad of ['', 'x', 'xx']) {
    const encoded = Buffer.from(pad + secret).toString('base64');
    // Only whole 3-byte groups of the secret's own bytes encode the same whatever surrounds it.
    const stable = encoded.slice(pad.length === 0 ? 0 : 4, Math.floor((pad.length + secret.length) / 3) * 4);
    if (stable.length >= 8) forms.add(stable);
  }
  return [...forms];
}

describe('redaction canaries', { concurrency: false }, () => {
  const canaries = { apiSecret: `CANARYapiSECRET${randomBytes(9).toString('hex')}`, userPassword: `CANARYpassWORD${randomBytes(9).toString('hex')}` };
  const suite = labForSuite('kasm-canary-', { credentials: canaries });

  it('the encodings helper finds a secret inside base64 at any offset', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const encoded = Buffer.from(`${prefix}${canaries.apiSecret}tail`).toString('base64');
      assert.ok(encodings(canaries.apiSecret).some((form) => encoded.includes(form)), `offset ${prefix.length}`);
    }
  });

  it('no canary or issued secret survives under reports/ or test-results/, the incident report included', { timeout: 300_000 }, async () => {
    // The override the suite reads, merges and restores holds a secret of its own, as real ones do.
    const overrideSecret = `CANARYoverride${randomBytes(9).toString('hex')}`;
    suite.lab.workspace.run_config = JSON.stringify({ hostname: 'kasm', environment: { UPSTREAM_CRED: overrideSecret } });
    const ui = await runSuite(suite.lab, join(suite.work, 'ui'), { KASM_SESSION_VIA: 'ui', KASM_ALLOW_MUTATIONS: 'true' });
    assert.match(suite.lab.workspace.run_config, new RegExp(`"UPSTREAM_CRED":"${overrideSecret}"}}$`), 'the override came back as it was');
    assert.equal(ui.code, 0, ui.output.slice(-3000));
    suite.lab.faults.set(['websocket-malformed']);
    const failing = await runSuite(suite.lab, join(suite.work, 'failing'));
    suite.lab.faults.set([]);
    assert.equal(failing.code, 1, failing.output.slice(-3000));
    const report = await runCli(suite.lab, join(suite.work, 'failing'), 'report');
    assert.equal(report.code, 0, report.output);

    const secrets = [canaries.apiSecret, canaries.userPassword, overrideSecret, ...suite.lab.api.issued];
    assert.ok(suite.lab.api.issued.size >= 10, `the runs handed out secrets to look for (${suite.lab.api.issued.size})`);
    const files = filesUnder(suite.work);
    assert.ok(files.some((f) => f.includes(`${join('failing', 'reports', 'incident')}`)), 'the incident report was written');
    assert.ok(files.some((f) => f.includes('test-results')), 'test-results/ was searched too');
    const leaks: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'latin1');
      for (const secret of secrets) {
        const form = encodings(secret).find((f) => text.includes(f));
        if (form) leaks.push(`${file}: ${secret === form ? 'as is' : 'encoded'} (${secret.slice(0, 6)}…)`);
      }
    }
    assert.deepEqual(leaks, [], `secrets leaked:\n${leaks.join('\n')}`);
    for (const run of [ui, failing]) for (const secret of secrets) assert.ok(!run.output.includes(secret), 'a secret reached the console output');
    // The last pass over the files is a backstop: what the suite writes is redacted where it is written.
    for (const run of [ui, failing]) assert.doesNotMatch(run.output, /Redaction: \d+ file/, 'a file left redacted only by the last pass');
  });
});
