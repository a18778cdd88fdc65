// Before `npm run check` / `npm test`: make sure a Chromium exists. On Debian/Ubuntu as root it installs the
// distro's chromium with apt; anywhere else it says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { BrowserNotFoundError, resolveBrowser } from '../browser.ts';

function found(): boolean {
  try {
    const choice = resolveBrowser();
    console.log(`browser: ${choice.kind === 'playwright' ? "Playwright's Chromium" : choice.executablePath}`);
    return true;
  } catch (error) {
    if (error instanceof BrowserNotFoundError) return false;
    throw error;
  }
}

if (!found()) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(new BrowserNotFoundError('and it cannot install one by itself here: that needs root and apt-get').message);
    process.exit(2);
  }
  console.log('browser: none found; installing the distro Chromium with apt-get (Debian package "chromium")');
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  const installed = apt(['update', '-qq']) && (apt(['install', '-y', '-qq', 'chromium']) || apt(['install', '-y', '-qq', 'chromium-browser']));
  if (!installed || !found()) {
    console.error(new BrowserNotFoundError('apt-get could not install chromium').message);
    process.exit(2);
  }
}
