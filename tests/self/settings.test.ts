// No silent setting: a KASM_* name the suite does not know stops the run with what it may have meant.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KNOWN_SETTINGS, parseConfig, projectRoot } from '../../helpers/config.ts';
import { clashingSettings, describeClashes, suggest, unknownSettings } from '../../helpers/settings.ts';
import { problems } from './config-problems.ts';

const valid = { KASM_URL: 'https://kasm.example.com', KASM_API_KEY: 'key', KASM_API_SECRET: 'secret', KASM_USER: 'synthetic@kasm.local', KASM_WORKSPACE: 'Ubuntu Jammy' };

describe('unknown KASM_* settings', () => {
  it('says what a slip of the finger meant', () => {
    assert.deepEqual(suggest('KASM_SSH_AGENS', KNOWN_SETTINGS), ['KASM_SSH_AGENTS']);
    assert.deepEqual(suggest('KASM_LAB_FAULT', KNOWN_SETTINGS), ['KASM_LAB_FAULTS']);
    assert.deepEqual(suggest('KASM_WORKSAPCE', KNOWN_SETTINGS), ['KASM_WORKSPACE']);
    assert.deepEqual(suggest('KASM_TIMEOUT_SSH', KNOWN_SETTINGS), ['KASM_TIMEOUT_SSH_MS']);
    assert.deepEqual(suggest('KASM_FROBNICATE', KNOWN_SETTINGS), [], 'nothing near: no guess');
  });

  it('names a tie rather than pick one', () => {
    assert.deepEqual(suggest('KASM_AB', ['KASM_AX', 'KASM_XB', 'KASM_QQQQ']), ['KASM_AX', 'KASM_XB']);
  });

  it('looks only at KASM_* names, once each', () => {
    assert.deepEqual(unknownSettings(['PATH', 'KASM_URL', 'KASM_URLL', 'KASM_URLL'], KNOWN_SETTINGS), [{ name: 'KASM_URLL', suggestions: ['KASM_URL'] }]);
  });

  it('stops the configuration with "did you mean", and lets it through only when asked', () => {
    const found = problems({ ...valid, KASM_SSH_AGENS: 'root@host' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^KASM_SSH_AGENS: is not a setting of kasm-synthetics; did you mean KASM_SSH_AGENTS\?/);
    assert.match(found[0]!, /KASM_ALLOW_UNKNOWN_SETTINGS=true/);
    assert.doesNotThrow(() => parseConfig({ ...valid, KASM_SSH_AGENS: 'root@host', KASM_ALLOW_UNKNOWN_SETTINGS: 'true' }));
  });

  it('stops npm run check before anything starts, with exit 2', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'helpers/cli/check.ts')], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KASM_SSH_AGENS: 'root@host', FORCE_COLOR: '0' } });
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /did you mean KASM_SSH_AGENTS/);
    assert.doesNotMatch(run.stdout + run.stderr, /Embedded Kasm lab/, 'no lab was started');
  });

  it('knows every KASM_* name the project reads', () => {
    const files = spawnSync('git', ['ls-files', '*.ts', '*.mts', '*.mjs', '*.yml', 'Dockerfile', '.ci/run'], { cwd: projectRoot, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.ok(files.length > 50, 'git lists the project files');
    const read = new Map<string, string>();
    const patterns = [/process\.env\.(KASM_[A-Z0-9_]+)/g, /process\.env\[['"](KASM_[A-Z0-9_]+)['"]\]/g, /\b(?:env|variables|processEnv)\.(KASM_[A-Z0-9_]+)\b/g, /_VARIABLE = '(KASM_[A-Z0-9_]+)'/g];
    // In CI templates and the Dockerfile every KASM_* word is a setting, but these two: Kasm's own variable in a
    // description, and a heredoc delimiter.
    const notSettings = new Set(['KASM_DEBUG', 'KASM_VARS_']);
    for (const file of files) {
      const text = readFileSync(join(projectRoot, file), 'utf8');
      const found = /\.yml$|Dockerfile$/.test(file) ? [...text.matchAll(/\b(KASM_[A-Z0-9_]+)/g)].map((m) => m[1]!).filter((n) => !notSettings.has(n)) : patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1]!));
      for (const name of found) read.set(name, file);
    }
    assert.ok(read.size > 40, `found ${read.size} names`);
    const missing = [...read].filter(([name]) => !KNOWN_SETTINGS.has(name)).map(([name, file]) => `${name} (${file})`);
    assert.deepEqual(missing, [], 'add them to OTHER_SETTINGS in helpers/settings.ts or to the schema');
  });

  it("finds the embedded lab's variables the user already set to another value, and names them without values", () => {
    const lab = { KASM_URL: 'https://kasm.localhost:4443', KASM_INSECURE_TLS: 'true', KASM_API_SECRET: 'lab-secret' };
    assert.deepEqual(clashingSettings(lab, { KASM_INSECURE_TLS: 'true', PATH: '/usr/bin' }), [], 'the same value is no clash');
    assert.deepEqual(clashingSettings(lab, { KASM_API_SECRET: 'users-secret', KASM_URL: 'https://kasm.example.com' }), ['KASM_API_SECRET', 'KASM_URL']);
    const text = describeClashes(['KASM_API_SECRET', 'KASM_URL']);
    assert.match(text, /KASM_API_SECRET, KASM_URL are already set/);
    assert.doesNotMatch(text, /users-secret|lab-secret|example\.com/);
    assert.match(describeClashes(['KASM_SSH_AGENTS']), /KASM_SSH_AGENTS is already set .* Unset it /);
  });
});
