// The floor of a run: only the I/O no run of the suite can avoid, done as fast as it can be done. The browser
// starts, one session is opened in it until the first framebuffer update arrives, and meanwhile every host gets one
// SSH connection, one command and one time-windowed log read. `npm run bench` divides the suite's time by this.
// Prints one JSON line: { phases: { name: ms } }.
import { chromium } from '@playwright/test';
import { launchOptions, resolveBrowser } from '../browser.ts';
import { loadConfig, type KasmConfig } from '../config.ts';
import { connectOptions } from '../fixtures/servers.ts';
import { destroySession, startSession } from '../fixtures/session.ts';
import { ledgerDir, remember } from '../leftovers.ts';
import { withKasmApi, type KasmApiClient } from '../kasm-api.ts';
import { frameBytes, RfbServerStream } from '../probes/rfb.ts';
import { SshPool } from '../probes/ssh.ts';
import { browserSkipsTls } from '../transport.ts';

const started = performance.now();
const phases: Record<string, number> = {};
const since = (from: number) => Math.round(performance.now() - from);

async function firstFrame(config: KasmConfig, api: KasmApiClient): Promise<void> {
  const launched = performance.now();
  const browser = await chromium.launch(launchOptions(resolveBrowser(config.browserPath)));
  phases.browserStart = since(launched);
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: browserSkipsTls(config) });
    const page = await context.newPage();
    const requested = performance.now();
    // The suite's own way to a running session, so both sides wait for Kasm alike.
    let session: { kasmId: string; userId: string } | undefined;
    const track = (kasmId: string, userId: string) => {
      session = { kasmId, userId };
      remember(ledgerDir(config), kasmId, userId);
    };
    try {
      const { kasmUrl } = await startSession(api, config, track);
      phases.sessionRunning = since(requested);
      const rfb = new RfbServerStream();
      const frame = new Promise<void>((resolve, reject) => {
        page.on('websocket', (ws) => {
          if (!ws.url().includes('/websockify')) return;
          ws.on('framereceived', ({ payload }) => {
            rfb.server(frameBytes(payload));
            if (rfb.progress.firstUpdateAt !== undefined) resolve();
            if (rfb.progress.phase === 'failed') reject(new Error(`floor: the stream failed: ${rfb.progress.failure}`));
          });
        });
      });
      const opened = performance.now();
      await page.goto(new URL(kasmUrl, config.url).href);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`floor: no first frame within ${config.timeouts.firstFrame} ms`)), config.timeouts.firstFrame)));
      await Promise.race([frame, late]).finally(() => clearTimeout(timer));
      phases.firstFrame = since(opened);
    } finally {
      if (session) await destroySession(api, config, session);
    }
  } finally {
    await browser.close();
  }
}

async function everyHost(config: KasmConfig): Promise<void> {
  const pool = new SshPool();
  const from = performance.now();
  const window = new Date(Date.now() - 60_000);
  try {
    const hosts = [...config.ssh.webapp.map((target) => ({ target, logOf: 'kasm_api' })), ...config.ssh.agents.map((target) => ({ target, logOf: 'kasm_proxy' }))];
    await Promise.all(
      hosts.map(async ({ target, logOf }) => {
        const ssh = await pool.get(`${target.host}:${target.port}`, connectOptions(config, target));
        await ssh.run({ kind: 'docker-ps' });
        await ssh.run({ kind: 'docker-logs', container: logOf, since: window, tail: config.logTailLines });
      }),
    );
    phases.hosts = since(from);
  } finally {
    await pool.closeAll();
  }
}

const config = loadConfig();
await withKasmApi(config, ({ client }) => Promise.all([firstFrame(config, client), everyHost(config)]));
phases.total = since(started);
console.log(JSON.stringify({ phases }));
