// `npm run check [-- --compare] [playwright test options]`: makes sure a browser exists, then runs the suite.
// --compare is the suite's own flag (Playwright would refuse it): it lists what changed since the last healthy run.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../config.ts';

const args = process.argv.slice(2);
const compare = args.includes('--compare');
const forwarded = args.filter((arg) => arg !== '--compare');

const bin = (name: string) => join(projectRoot, 'node_modules', '.bin', name);
const browser = spawnSync(bin('tsx'), [join(projectRoot, 'helpers/cli/ensure-browser.ts')], { stdio: 'inherit', timeout: 15 * 60_000 });
if (browser.status !== 0) process.exit(browser.status ?? 2);

const env = compare ? { ...process.env, KASM_COMPARE: 'true' } : process.env;
const child = spawn(bin('playwright'), ['test', ...forwarded], { stdio: 'inherit', env, cwd: projectRoot });
// Playwright winds down cleanly (restores, teardown, reports) only on SIGINT. Ctrl-C reaches it from the terminal;
// a supervisor's SIGTERM/SIGHUP is turned into SIGINT, and a second one ends it at once.
let stopping = false;
process.on('SIGINT', () => undefined);
for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    child.kill(stopping ? 'SIGKILL' : 'SIGINT');
    stopping = true;
  });
}
// A runner that died of a signal did not decide anything about Kasm: that is "could not run" (2), not "a check failed".
child.on('close', (code) => process.exit(code ?? 2));
