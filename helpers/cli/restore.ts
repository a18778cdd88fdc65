// `npm run restore [-- --force]`: puts back Kasm settings a run changed and did not restore (it was killed, or the
// machine went down), from the restore files in KASM_STATE_DIR. Exit 0 when nothing is left pending, 1 when
// something could not be restored, 2 when the environment is unusable.
import { ConfigError, loadConfig } from '../config.ts';
import { describeRestoreError, pendingRestores, restorePending } from '../workspace-override.ts';
import { plural } from '../report/text.ts';

const USAGE = 'usage: npm run restore [-- --force]\n  --force  restore even when the setting changed again after the suite changed it';

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== '--force');
  if (unknown.length || argv.includes('--help')) {
    console.error(unknown.length ? `restore: unknown argument ${unknown.join(' ')}\n${USAGE}` : USAGE);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  const pending = pendingRestores(config.stateDir, config.url.href);
  const others = pendingRestores(config.stateDir).length - pending.length;
  if (!pending.length) {
    console.log(`Nothing to restore for ${config.url.origin} (${config.stateDir}).${others ? ` ${plural(others, 'restore file')} there ${others === 1 ? 'belongs' : 'belong'} to other Kasm URLs.` : ''}`);
    return 0;
  }
  let failed = 0;
  for (const { item, restored, error } of await restorePending(config, { force: argv.includes('--force') })) {
    if (restored) {
      console.log(`${restored.state === 'restored' ? 'Restored' : 'Already back'}: workspace "${restored.workspace}" Docker Run Config Override (${item.record!.change}, changed ${item.record!.at} by pid ${item.record!.pid}); get_images shows the original, ${restored.comparison} (${restored.bytes} bytes).`);
    } else {
      failed += 1;
      console.error(`NOT restored (${item.file}): ${describeRestoreError(error)}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
