// A run's temporary folders (its observed session's records and screenshots, the shared secrets) go when it ends;
// a run killed before its teardown leaves them, and the next run removes those of runners no longer alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reapDeadRuns } from '../../helpers/global-setup.ts';

describe('run folders', () => {
  it("removes a dead runner's folders, keeps a live one's, and removes unnamed ones only once a day old", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kasm-reap-test-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      const make = (name: string) => {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, 'session.closed.json'), '{}');
      };
      for (const name of [`kasm-run-${dead}-aB3dE`, `kasm-secrets-${dead}-xY9zQ`, `kasm-run-${process.pid}-live1`, 'kasm-run-Old123', 'kasm-run-New456', 'kasm-lab-keep']) make(name);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      utimesSync(join(dir, 'kasm-run-Old123'), twoDaysAgo, twoDaysAgo);
      assert.deepEqual(reapDeadRuns(dir).sort(), [`kasm-run-${dead}-aB3dE`, 'kasm-run-Old123', `kasm-secrets-${dead}-xY9zQ`].sort());
      assert.deepEqual(readdirSync(dir).sort(), [`kasm-run-${process.pid}-live1`, 'kasm-lab-keep', 'kasm-run-New456'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
