// Which Chromium runs the client hop: Playwright's own when installed, else a system Chromium/Chrome
// (KASM_BROWSER_PATH first), else a clear error naming both ways to get one.
import { accessSync, constants } from 'node:fs';
import { chromium } from '@playwright/test';

export const SYSTEM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/snap/bin/chromium',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Flags for a distro Chromium on a locked-down CI machine (no sandbox as root, no calls home). */
export const SYSTEM_CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface BrowserChoice {
  kind: 'configured' | 'playwright' | 'system';
  executablePath: string | undefined;
  args: string[];
}

export class BrowserNotFoundError extends Error {
  readonly code = 'KASM_BROWSER_NOT_FOUND';
  constructor(detail: string) {
    super(
      `No Chromium to run the client checks (${detail}). Either install Playwright's browser: \`npx playwright install chromium\`, ` +
        'or a system Chromium/Chrome (`sudo apt-get install -y chromium` on Debian/Ubuntu) and, if it is not on a standard path, set KASM_BROWSER_PATH=/path/to/chrome.',
    );
  }
}

export const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function resolveBrowser(configuredPath = process.env.KASM_BROWSER_PATH): BrowserChoice {
  if (configuredPath) {
    if (!executable(configuredPath)) throw new BrowserNotFoundError(`KASM_BROWSER_PATH=${configuredPath} is not an executable file`);
    return { kind: 'configured', executablePath: configuredPath, args: SYSTEM_CHROMIUM_ARGS };
  }
  const bundled = chromium.executablePath();
  if (bundled && executable(bundled)) return { kind: 'playwright', executablePath: undefined, args: [] };
  const system = SYSTEM_CANDIDATES.find(executable);
  if (system) return { kind: 'system', executablePath: system, args: SYSTEM_CHROMIUM_ARGS };
  throw new BrowserNotFoundError(`Playwright's Chromium is not at ${bundled} and none of ${SYSTEM_CANDIDATES.slice(0, 5).join(', ')} exists`);
}

/**
 * How the client hop's Chromium starts. Site isolation is off: the session iframe (another port or zone host) stays
 * in the page's process, so the page's DevTools session sees its requests, cookies and WebSocket handshake.
 */
export function launchOptions(choice: BrowserChoice): { executablePath: string | undefined; args: string[] } {
  return { executablePath: choice.executablePath, args: [...choice.args, '--disable-site-isolation-trials', '--disable-features=IsolateOrigins,site-per-process'] };
}
