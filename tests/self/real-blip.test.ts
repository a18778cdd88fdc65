// network-blip on the real-parts lab: the load balancer's nginx answers the health path with 444 (no answer) while a
// marker exists, and the lab's watcher removes the marker once nginx's access log shows the cut, so exactly one
// request is cut each time the fault is switched on.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blipWatcher } from '../../lab/real/blip.ts';
import { lbConf, type LbOptions } from '../../lab/real/nginx.ts';
import type { FaultName } from '../../lab/faults.ts';

const dir = mkdtempSync(join(tmpdir(), 'kasm-blip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (path: string, status: number) => `10.0.0.1 - - [04/Dec/2026:02:40:00 +0000] "GET ${path} HTTP/1.1" ${status} 0 "-" "undici" "-"\n`;
const until = async (what: string, ok: () => boolean, ms = 2_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('network-blip on real nginx', () => {
  it('keeps the marker through other lines and removes it on the cut of the health path, also when nginx writes the line in pieces', async () => {
    const log = join(dir, 'access.log');
    const marker = join(dir, 'pending');
    writeFileSync(log, line('/api/__healthcheck', 444)); // an earlier cut, before this arming: not this one
    const blip = blipWatcher(marker, log);
    blip.arm();
    assert.ok(existsSync(marker));
    appendFileSync(log, line('/api/__healthcheck', 200) + line('/api/public/get_token', 444) + line('/', 200));
    await settle();
    assert.ok(existsSync(marker), 'only a 444 of the health path is the cut');
    const cut = line('/api/__healthcheck?x=1', 444);
    appendFileSync(log, cut.slice(0, 30));
    await settle();
    assert.ok(existsSync(marker), 'half a line is not a line');
    appendFileSync(log, cut.slice(30));
    await until('the marker is removed', () => !existsSync(marker));
    assert.equal(blip.armed, false);
  });

  it('arms again when the fault is switched on again, and disarming leaves no marker', async () => {
    const log = join(dir, 'access2.log');
    const marker = join(dir, 'pending2');
    const blip = blipWatcher(marker, log); // no log yet: nginx writes it on its first request
    blip.arm();
    blip.arm();
    appendFileSync(log, line('/api/__healthcheck', 444));
    await until('the first cut is seen', () => !existsSync(marker));
    blip.arm();
    assert.ok(existsSync(marker), 'armed again');
    blip.disarm();
    assert.ok(!existsSync(marker));
    assert.equal(blip.armed, false);
  });

  it("puts the cut in the load balancer's config only while the fault is on, in front of the catch-all location", () => {
    const options = (faults: FaultName[]): LbOptions => ({ listen: '10.0.0.2:443', webapps: ['10.0.0.3:443'], faults: new Set(faults), idleCutSeconds: 2, inspectorListen: '10.0.0.2:9443', blipMarker: '/etc/nginx/blip-pending' });
    assert.doesNotMatch(lbConf(options([])), /444|blip-pending/);
    const conf = lbConf(options(['network-blip']));
    const at = conf.indexOf('location = /api/__healthcheck {');
    assert.ok(at > 0 && at < conf.indexOf('location / {'), conf);
    assert.match(conf.slice(at), /^location = \/api\/__healthcheck \{\n\s+if \(-f \/etc\/nginx\/blip-pending\) \{ return 444; \}\n[^}]*proxy_pass https:\/\/kasm_webapps;\n\s+\}/);
  });
});
