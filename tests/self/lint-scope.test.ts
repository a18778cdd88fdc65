// ESLint lints the project's files, not a scratch file beside them (issue 15): an untracked, not ignored file is
// left out (`git add` it to lint it), a tracked one is linted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { projectRoot } from '../../helpers/config.ts';

describe('ESLint scope', () => {
  it('leaves an untracked scratch file out and lints the tracked ones', async () => {
    const scratch = join(projectRoot, `kasm-scratch-${randomBytes(4).toString('hex')}.ts`);
    writeFileSync(scratch, "const unused: number = 'not a number';\n");
    try {
      const eslint = new ESLint({ cwd: projectRoot });
      assert.equal(await eslint.isPathIgnored(scratch), true, 'an untracked file is not the project\'s');
      assert.equal(await eslint.isPathIgnored(join(projectRoot, 'helpers', 'config.ts')), false, 'a tracked file is linted');
      // Linting the folder does not stop on it (the "project service" error it used to raise).
      const [result] = await eslint.lintFiles([join(projectRoot, 'helpers', 'report', 'text.ts')]);
      assert.equal(result?.errorCount, 0, JSON.stringify(result?.messages));
    } finally {
      rmSync(scratch, { force: true });
    }
  });
});
