// Runs Allure 3's own CLI (`allure generate`) with allurerc.mjs on a results folder and returns the single-file page.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';
import { redact } from '../redact.ts';
import { ReportError } from './errors.ts';

export interface GenerateOptions {
  resultsDir: string;
  outputDir: string;
  /** A JSON file of category rules allurerc.mjs reads (KASM_ALLURE_CATEGORIES). */
  categoriesFile: string;
  timeoutMs?: number;
}

// Allure runs with a bare environment: no PATH, so its local-CI detector cannot run git and write the origin
// remote's URL (which may carry a token) and branch into a report that leaves the team, and none of the suite's
// secrets, which Allure has no use for.
function allureEnv(options: GenerateOptions, emptyPath: string): NodeJS.ProcessEnv {
  const keep = ['HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ'];
  const env: NodeJS.ProcessEnv = { PATH: emptyPath, KASM_ALLURE_CATEGORIES: options.categoriesFile, NO_COLOR: '1' };
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

export async function generateAllure(options: GenerateOptions): Promise<string> {
  const emptyPath = join(options.outputDir, '..', '.no-path');
  mkdirSync(emptyPath, { recursive: true });
  const cli = join(projectRoot, 'node_modules', 'allure', 'cli.js');
  const args = [cli, 'generate', options.resultsDir, '--config', join(projectRoot, 'allurerc.mjs'), '--output', options.outputDir, '--cwd', projectRoot];
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: allureEnv(options, emptyPath), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  // Alone, the awesome plugin writes at the top of the output; beside other reporting plugins, in awesome/.
  const page = [join(options.outputDir, 'awesome', 'index.html'), join(options.outputDir, 'index.html')].find((file) => existsSync(file)) ?? join(options.outputDir, 'index.html');
  if (code !== 0 || !existsSync(page)) {
    const tail = redact(output.trim().split('\n').slice(-15).join('\n'));
    throw new ReportError('KASM_REPORT_ALLURE_FAILED', `allure generate ${code === null ? 'was killed (timeout)' : `exited ${code}`}${existsSync(page) ? '' : ` and wrote no ${page}`}:\n${tail}`);
  }
  return readFileSync(page, 'utf8');
}
