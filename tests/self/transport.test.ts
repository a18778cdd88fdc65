// Insecure transport is visible: a plain-HTTP KASM_URL, KASM_INSECURE_TLS=true and an SSH host key accepted without
// checking are stated on every finding that used them and once in the run's summary; KASM_CA_FILE verifies a
// private CA's certificates on the suite's own connections.
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import selfsigned from 'selfsigned';
import { ConfigError, parseConfig } from '../../helpers/config.ts';
import { KasmApiClient, KasmApiError } from '../../helpers/kasm-api.ts';
import { createDispatcher } from '../../helpers/net.ts';
import { diagnose } from '../../helpers/diagnosis/diagnose.ts';
import { formatDiagnosis } from '../../helpers/diagnosis/reporter.ts';
import { diagnosisMarkdown } from '../../helpers/report/markdown.ts';
import { browserSkipsTls, hostKeyNote, kasmTransportNote, takeTransportNotes, usedKasm, usedSsh } from '../../helpers/transport.ts';
import type { Finding } from '../../helpers/diagnosis/finding.ts';
import { failureContext, labForSuite, runSuite } from './suite-run.ts';

const base = { KASM_API_KEY: 'k', KASM_API_SECRET: 's', KASM_USER: 'u@example.com', KASM_WORKSPACE: 'Ubuntu Jammy' };
const work = mkdtempSync(join(tmpdir(), 'kasm-transport-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('what a check used without verifying it', () => {
  it('names a plain-HTTP KASM_URL, TLS unchecked, and the browser that takes no CA file; nothing for verified HTTPS', () => {
    assert.match(kasmTransportNote(parseConfig({ ...base, KASM_URL: 'http://kasm.example' }))!, /http:\/\/kasm\.example is plain HTTP \(KASM_URL\)/);
    assert.match(kasmTransportNote(parseConfig({ ...base, KASM_URL: 'https://kasm.example', KASM_INSECURE_TLS: 'true' }))!, /certificate of https:\/\/kasm\.example was not verified \(KASM_INSECURE_TLS=true\)/);
    assert.equal(kasmTransportNote(parseConfig({ ...base, KASM_URL: 'https://kasm.example' })), undefined);
    const ca = join(work, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const withCa = parseConfig({ ...base, KASM_URL: 'https://kasm.example', KASM_CA_FILE: ca });
    assert.equal(kasmTransportNote(withCa, 'api'), undefined, 'the suite verifies against the CA itself');
    assert.match(kasmTransportNote(withCa, 'browser')!, /browser did not check TLS certificates \(Chromium takes no CA file\).*KASM_CA_FILE/);
    assert.equal(browserSkipsTls(withCa), true);
    assert.equal(browserSkipsTls(parseConfig({ ...base, KASM_URL: 'https://kasm.example' })), false);
  });

  it('names an SSH host key accepted unchecked, the jump host included, and nothing for a verified one', () => {
    const unverified = { fingerprint: 'SHA256:abc', type: 'ssh-ed25519', verifiedBy: 'NOT VERIFIED (insecure opt-out)' } as const;
    const known = { fingerprint: 'SHA256:def', type: 'ssh-ed25519', verifiedBy: 'known_hosts' } as const;
    assert.equal(hostKeyNote('kasm@10.0.0.5:22', known as never), undefined);
    takeTransportNotes();
    usedSsh({ label: 'kasm@10.0.0.5:22', hostKey: known as never, jumpHostKey: unverified as never, jumpLabel: 'ops@bastion:22' });
    usedSsh({ label: 'kasm@10.0.0.6:22', hostKey: unverified as never });
    usedSsh({ label: 'kasm@10.0.0.6:22', hostKey: unverified as never });
    usedKasm(parseConfig({ ...base, KASM_URL: 'http://kasm.example' }));
    assert.deepEqual(takeTransportNotes(), [
      'the SSH host key of jump host ops@bastion:22 (SHA256:abc) was not verified (KASM_SSH_INSECURE_HOST_KEYS=true)',
      'the SSH host key of kasm@10.0.0.6:22 (SHA256:abc) was not verified (KASM_SSH_INSECURE_HOST_KEYS=true)',
      'http://kasm.example is plain HTTP (KASM_URL): API secret, password and session cookies travel unencrypted',
    ]);
    assert.deepEqual(takeTransportNotes(), [], 'taken once: the next check starts with none');
  });

  it('states them once in the run summary, and on each finding in the console and the markdown', () => {
    const note = 'the TLS certificate of https://kasm.example was not verified (KASM_INSECURE_TLS=true)';
    const finding = (check: Finding['check'], status: Finding['status'], unverified?: string[]): Finding => ({ check, hop: 'api', status, summary: `${check} summary`, remediation: 'do the thing that fixes it', guideSection: 'API', evidence: {}, ...(unverified ? { unverified } : {}) });
    const d = diagnose([finding('api.health', 'fail', [note]), finding('api.session-create', 'pass', [note]), finding('client.cookies', 'pass')], 'https://kasm.example');
    assert.deepEqual(d.unverified, [note]);
    const text = formatDiagnosis(d);
    assert.match(text, /NOT VERIFIED in this run[^\n]*\n {2}! the TLS certificate of https:\/\/kasm\.example was not verified/);
    assert.match(text, /api\.health \(api[^\n]*\n[^\n]*\n[^\n]*Fix: [^\n]*\n {2}Not verified: the TLS certificate/);
    assert.match(diagnosisMarkdown(d), /- \*\*Not verified:\*\* the TLS certificate/);
    assert.equal(diagnose([finding('client.cookies', 'pass')], 'https://kasm.example').unverified, undefined);
  });
});

describe('KASM_CA_FILE', () => {
  let server: https.Server;
  let caFile: string;
  let url: string;
  before(async () => {
    const ca = await selfsigned.generate([{ name: 'commonName', value: 'Example Private Root CA' }], { keyType: 'ec', algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true, critical: true }] });
    const leaf = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert }, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }] });
    caFile = join(work, 'private-ca.pem');
    writeFileSync(caFile, ca.cert);
    server = https.createServer({ key: leaf.private, cert: leaf.cert }, (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const health = async (variables: Record<string, string>) => {
    const config = parseConfig({ ...base, KASM_URL: url, ...variables });
    const dispatcher = createDispatcher({ insecureTls: config.tls.insecure, connectTimeoutMs: 3_000, ca: config.tls.ca?.pem });
    try {
      return await new KasmApiClient(config, dispatcher).health();
    } finally {
      await dispatcher.close();
    }
  };

  it("verifies a private CA's certificate with it, and refuses the same certificate without it", async () => {
    assert.equal((await health({ KASM_CA_FILE: caFile })).status, 200);
    await assert.rejects(health({}), (error: unknown) => error instanceof KasmApiError && /certificate/i.test(`${error.message} ${String((error.cause as Error | undefined)?.message)}`));
  });

  it('refuses a CA file that is missing or holds no certificate, naming it', () => {
    assert.throws(() => parseConfig({ ...base, KASM_URL: url, KASM_CA_FILE: join(work, 'absent.pem') }), (error: unknown) => error instanceof ConfigError && /KASM_CA_FILE: cannot read .*absent\.pem \(ENOENT\)/.test(error.message));
    const notPem = join(work, 'key.txt');
    writeFileSync(notPem, 'not a certificate');
    assert.throws(() => parseConfig({ ...base, KASM_URL: url, KASM_CA_FILE: notPem }), /KASM_CA_FILE: .*key\.txt holds no PEM certificate/);
  });
});

// The whole suite against the lab with host keys unchecked: every finding of a check that went over SSH says so,
// those that read through servers.run (no per-host outcome) and the jump host's included, and the summary says it once.
describe('a run with host-key checking off', () => {
  const suite = labForSuite('kasm-transport-run-');

  it('notes the unverified host keys and the unverified TLS on every finding that used them', { timeout: 300_000 }, async () => {
    const emptyKnownHosts = join(suite.work, 'known_hosts');
    writeFileSync(emptyKnownHosts, '');
    const run = await runSuite(suite.lab, join(suite.work, 'run'), { KASM_SSH_KNOWN_HOSTS: emptyKnownHosts, KASM_SSH_INSECURE_HOST_KEYS: 'true' });
    const context = failureContext(run);
    assert.equal(run.code, 0, context);
    const findings = run.diagnosis!.findings;
    const overSsh = findings.filter((f) => f.status !== 'skip' && /^(webapp|agent)\./.test(f.check));
    assert.ok(overSsh.length >= 8, `the server checks ran (${overSsh.length})${context}`);
    const hostKeyNote = /^the SSH host key of \S+ \(SHA256:[^)]+\) was not verified \(KASM_SSH_INSECURE_HOST_KEYS=true\)$/;
    for (const finding of overSsh) assert.ok(finding.unverified?.some((note) => hostKeyNote.test(note)), `${finding.check}${finding.target ? ` (${finding.target})` : ''} says its host key was not verified: ${JSON.stringify(finding.unverified)}`);
    const tlsNote = /^the TLS certificate of https:\/\/\S+ was not verified \(KASM_INSECURE_TLS=true\)$/;
    for (const finding of findings.filter((f) => f.status !== 'skip')) assert.ok(finding.unverified?.some((note) => tlsNote.test(note)), `${finding.check} says the TLS certificate was not verified: ${JSON.stringify(finding.unverified)}`);
    const summary = run.diagnosis!.unverified ?? [];
    assert.ok(summary.some((note) => tlsNote.test(note)) && summary.some((note) => hostKeyNote.test(note)), JSON.stringify(summary));
    assert.match(run.output, /NOT VERIFIED in this run/);
  });
});
