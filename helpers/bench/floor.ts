// The floor of a run: only the I/O no run of the suite can avoid, done as fast as it can be done. The browser
// starts, one session is opened in it until the first framebuffer update arrives, and meanwhile every host gets one
// SSH connection, one command and one time-windowed log read. `npm run bench` divides the suite's time by this.
// Prints one JSON line: { phases: { name: ms } }.
import { chromium } from '@playwright/test';
import { launchOptions, resolveBrowser } from '../browser.ts';
import { loadConfig, type KasmConfig } from '../config.ts';
import { connectOptions } from '../fixtures/servers.ts';
import { resolveIdentity } from '../fixtures/session.ts';
import { withKasmApi, type KasmApiClient } from '../kasm-api.ts';
import { RfbServerStream } from '../probes/rfb.ts';
import { SshPool } from '../probes/ssh.ts';

const started = performance.now();
const phases: Record<string, number> = {};
const since = (from: number) => Math.round(performance.now() - from);

async function firstFrame(config: KasmConfig, api: KasmApiClient): Promise<void> {
  const launched = performance.now();
  const browser = await chromium.launch(launchOptions(resolveBrowser(config.browserPath)));
  phases.browserStart = since(launched);
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: config.tls.insecure });
    const page = await context.newPage();
    const requested = performance.now();
    const { userId, imageId } = await resolveIdentity(api, config);
    const { body } = await api.call<{ kasm_id: string }>('request_kasm', { user_id: userId, image_id: imageId });
    try {
      let status: { operational_status?: string; kasm_url?: string; kasm?: object } = {};
      for (const deadline = Date.now() + config.timeouts.sessionStart; status.operational_status !== 'running' || !status.kasm; ) {
        if (Date.now() > deadline) throw new Error(`floor: session ${body.kasm_id} did not reach running within ${config.timeouts.sessionStart} ms`);
        status = (await api.call<typeof status>('get_kasm_status', { user_id: userId, kasm_id: body.kasm_id })).body;
        if (status.operational_status !== 'running') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      phases.sessionRunning = since(requested);
      const rfb = new RfbServerStream();
      const frame = new Promise<void>((resolve, reject) => {
        page.on('websocket', (ws) => {
          if (!ws.url().includes('/websockify')) return;
          ws.on('framereceived', ({ payload }) => {
            rfb.server(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
            if (rfb.progress.firstUpdateAt !== undefined) resolve();
            if (rfb.progress.phase === 'failed') reject(new Error(`floor: the stream failed: ${rfb.progress.failure}`));
          });
        });
      });
      const opened = performance.now();
      await page.goto(new URL(String(status.kasm_url), config.url).href);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`floor: no first frame within ${config.timeouts.firstFrame} ms`)), config.timeouts.firstFrame)));
      await Promise.race([frame, late]).finally(() => clearTimeout(timer));
      phases.firstFrame = since(opened);
    } finally {
      await api.call('destroy_kasm', { user_id: userId, kasm_id: body.kasm_id });
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
