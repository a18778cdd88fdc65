import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, parseConfig, parseSshTarget, projectRoot, readEnvironmentFiles } from '../../helpers/config.ts';
import { problems } from './config-problems.ts';

const valid = {
  KASM_ENV: 'staging',
  KASM_URL: 'https://kasm.example.com',
  KASM_API_KEY: 'key',
  KASM_API_SECRET: 'secret',
  KASM_USER: 'synthetic@kasm.local',
  KASM_WORKSPACE: 'Ubuntu Jammy',
};

describe('config schema', () => {
  it('reads a complete environment with defaults', () => {
    const config = parseConfig(valid);
    assert.equal(config.url.href, 'https://kasm.example.com/');
    assert.equal(config.clientPort, 443);
    assert.equal(config.api.auth, 'auto');
    assert.equal(config.api.path, '/api/public');
    assert.equal(config.allowMutations, false);
    assert.equal(config.ssh.sudo, true);
    assert.equal(config.labPending, false);
    assert.equal(config.timeouts.http, 10_000);
  });

  it('takes the client-facing port from the URL unless set', () => {
    assert.equal(parseConfig({ ...valid, KASM_URL: 'https://kasm.example.com:8443' }).clientPort, 8443);
    assert.equal(parseConfig({ ...valid, KASM_CLIENT_PORT: '443', KASM_URL: 'https://kasm.example.com:8443' }).clientPort, 443);
  });

  it('names the variable, what is wrong and an example when KASM_URL is missing', () => {
    const { KASM_URL: _url, ...rest } = valid;
    assert.deepEqual(problems(rest), ['KASM_URL: is required: the address users open Kasm at. Example: KASM_URL=https://kasm.example.com']);
  });

  it('rejects KASM_URL=notaurl', () => {
    assert.deepEqual(problems({ ...valid, KASM_URL: 'notaurl' }), ['KASM_URL: "notaurl" is not a URL. Example: KASM_URL=https://kasm.example.com']);
  });

  it('reports every problem at once', () => {
    const found = problems({ KASM_ENV: 'x', KASM_URL: 'ftp://kasm', KASM_API_AUTH: 'token', KASM_TIMEOUT_HTTP_MS: '-1', KASM_ALLOW_MUTATIONS: 'maybe', KASM_SSH_AGENTS: 'bad target:99999' });
    const variables = found.map((p) => p.split(':')[0]);
    assert.deepEqual(variables.sort(), ['KASM_ALLOW_MUTATIONS', 'KASM_API_AUTH', 'KASM_SSH_AGENTS', 'KASM_TIMEOUT_HTTP_MS', 'KASM_URL'].sort());
    assert.ok(found.every((p) => p.includes('Example: ')));
  });

  it('asks for the login password only on the UI path', () => {
    assert.deepEqual(problems({ ...valid, KASM_SESSION_VIA: 'ui' }), [
      'KASM_USER_PASSWORD: is required: the UI login path types the password. Example: KASM_USER_PASSWORD=<password> (in environments/<name>.local.env or CI secrets)',
    ]);
  });

  it('needs host-key checking and a key file or an agent once SSH hosts are set', () => {
    const found = problems({ ...valid, KASM_SSH_AGENTS: 'ubuntu@10.0.2.20' });
    assert.match(found[0]!, /^KASM_SSH_KNOWN_HOSTS: is required when SSH hosts are set \(or pin keys with KASM_SSH_FINGERPRINTS/);
    assert.match(found[1]!, /^KASM_SSH_KEY_FILE: is required when SSH hosts are set/);
    const config = parseConfig({ ...valid, KASM_SSH_AGENTS: 'ubuntu@10.0.2.20', KASM_SSH_AGENT: 'true', KASM_SSH_FINGERPRINTS: '10.0.2.20=SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' });
    assert.equal(config.ssh.agents[0]!.host, '10.0.2.20');
    assert.deepEqual(config.ssh.fingerprints, { '10.0.2.20': ['SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'] });
    assert.match(problems({ ...valid, KASM_SSH_FINGERPRINTS: 'host=MD5:aa' })[0]!, /^KASM_SSH_FINGERPRINTS: "host=MD5:aa" is not host=SHA256/);
  });

  it('lets the embedded lab fill in URL and credentials later', () => {
    const config = parseConfig({ KASM_ENV: 'lab', KASM_LAB: 'embedded', KASM_LAB_FAULTS: 'api-down, ' });
    assert.equal(config.labPending, true);
    assert.deepEqual(config.lab.faults, ['api-down']);
  });

  it('parses SSH targets', () => {
    assert.deepEqual(parseSshTarget('ubuntu@10.0.0.5:2222'), { user: 'ubuntu', host: '10.0.0.5', port: 2222, spec: 'ubuntu@10.0.0.5:2222' });
    assert.deepEqual(parseSshTarget('[::1]:22'), { user: undefined, host: '::1', port: 22, spec: '[::1]:22' });
    assert.equal(parseSshTarget('a@b@c'), undefined);
  });
});

describe('environment files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kasm-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses secrets in the committed file and says where they go', () => {
    const file = join(dir, 'leaky.env');
    writeFileSync(file, 'KASM_URL=https://kasm.example.com\nKASM_API_SECRET=oops\n');
    assert.throws(() => readEnvironmentFiles({ KASM_ENV: 'leaky', KASM_ENV_FILE: file }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems[0]!, /^KASM_API_SECRET: must not be set in .*leaky\.env \(a committed file\)\. Example: put it in .*leaky\.local\.env/);
      return true;
    });
  });

  it('layers the local file and the process environment over the committed file', () => {
    const file = join(dir, 'layered.env');
    writeFileSync(file, 'KASM_URL=https://a.example.com\nKASM_USER=from-file\nKASM_WORKSPACE=W\n');
    writeFileSync(join(dir, 'layered.local.env'), 'KASM_API_SECRET=from-local\nKASM_USER=from-local\n');
    const { variables, files } = readEnvironmentFiles({ KASM_ENV: 'layered', KASM_ENV_FILE: file, KASM_USER: 'from-process' });
    assert.equal(files.length, 2);
    assert.equal(variables.KASM_API_SECRET, 'from-local');
    assert.equal(variables.KASM_USER, 'from-process');
    assert.equal(variables.KASM_URL, 'https://a.example.com');
  });

  it('names the missing environment file', () => {
    assert.throws(() => readEnvironmentFiles({ KASM_ENV: 'nope' }), /KASM_ENV: .*environments\/nope\.env does not exist/);
  });

  for (const [title, url] of [
    ['without KASM_URL', undefined],
    ['with KASM_URL=notaurl', 'notaurl'],
  ] as const) {
    it(`stops the suite ${title} before any browser starts, exit 2`, () => {
      const file = join(dir, 'broken.env');
      writeFileSync(file, `KASM_API_KEY=k\nKASM_USER=u\nKASM_WORKSPACE=w\n${url ? `KASM_URL=${url}\n` : ''}`);
      const env: NodeJS.ProcessEnv = { ...process.env, KASM_ENV: 'broken', KASM_ENV_FILE: file, KASM_API_SECRET: 's' };
      delete env.KASM_URL;
      const run = spawnSync(join(projectRoot, 'node_modules/.bin/playwright'), ['test'], { cwd: projectRoot, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 2, run.stderr + run.stdout);
      assert.match(run.stderr, /KASM_URL: /);
      assert.doesNotMatch(run.stdout, /Running \d+ test/);
    });
  }
});
