import { execFileSync } from 'node:child_process';
import playwright from 'eslint-plugin-playwright';
import tseslint from 'typescript-eslint';

/**
 * Files git does not track and does not ignore (a scratch file beside the project): not the project's, so not
 * linted (`git add` a new file to lint it; tsc still checks what tsconfig includes). Outside a git checkout, none.
 */
function untracked() {
  try {
    return execFileSync('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: import.meta.dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export default tseslint.config(
  { ignores: ['node_modules/', 'reports/', 'test-results/', 'lab/www/', ...untracked()] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'allurerc.mjs', 'helpers/cli/*.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-empty-pattern': 'off',
    },
  },
  {
    files: ['tests/**/*.ts', 'helpers/**/*.ts'],
    plugins: { playwright },
    rules: {
      'playwright/missing-playwright-await': 'error',
      'playwright/no-focused-test': 'error',
    },
  },
);
