// `npm run check [-- --compare] [playwright test options]`: makes sure a browser exists, then runs the suite.
// --compare is the suite's own flag (Playwright would refuse it): it lists what changed since the last healthy run.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';

const args = process.argv.slice(2);
const compare = args.includes('--compare');
const forwarded = args.filter((arg) => arg !== '--compare');

const bin = (name: string) => join(projectRoot, 'node_modules', '.bin', name);
const browser = spawnSync(bin('tsx'), [join(projectRoot, 'helpers/cli/ensure-browser.ts')], { stdio: 'inherit' });
if (browser.status !== 0) process.exit(browser.status ?? 2);

const env = compare ? { ...process.env, KASM_COMPARE: 'true' } : process.env;
const child = spawn(bin('playwright'), ['test', ...forwarded], { stdio: 'inherit', env, cwd: projectRoot });
// Ctrl-C reaches the runner through the terminal; forward what a supervisor sends to this process only.
for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 2)));
