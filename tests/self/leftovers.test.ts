import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../helpers/config.ts';
import { KasmApiClient } from '../../helpers/kasm-api.ts';
import { forget, ledgerDir, remember, sweepLeftovers } from '../../helpers/leftovers.ts';
import { createDispatcher } from '../../helpers/net.ts';
import { resolveIdentity } from '../../helpers/fixtures/session.ts';
import { startLab, type Lab } from '../../lab/index.ts';

describe('sessions left behind', () => {
  let lab: Lab;
  let api: KasmApiClient;
  let userId: string;
  let imageId: string;
  const dispatcher = createDispatcher({ insecureTls: true, connectTimeoutMs: 5_000 });
  const ledger = mkdtempSync(join(tmpdir(), 'kasm-ledger-'));
  const live = () => [...lab.api.sessions.values()].filter((s) => s.status !== 'stopped').map((s) => s.kasmId);
  const launch = async () => String((await api.call('request_kasm', { user_id: userId, image_id: imageId })).body.kasm_id);

  before(async () => {
    lab = await startLab();
    const config = parseConfig({ ...lab.env, KASM_ENV: 'lab' });
    api = new KasmApiClient(config, dispatcher);
    ({ userId, imageId } = await resolveIdentity(api, config));
  });
  after(async () => {
    await dispatcher.close();
    await lab.stop();
    rmSync(ledger, { recursive: true, force: true });
  });

  it('destroys what a dead run recorded in the ledger, and leaves a live run alone', async () => {
    const orphan = await launch();
    const ours = await launch();
    remember(ledger, ours, userId);
    writeFileSync(join(ledger, `${orphan}.json`), JSON.stringify({ kasmId: orphan, userId, pid: 2 ** 22 + 12345, createdAt: new Date().toISOString() }));
    const swept = await sweepLeftovers(api, userId, ledger);
    assert.deepEqual(swept.destroyed, [orphan]);
    assert.deepEqual(live(), [ours]);
    assert.deepEqual(readdirSync(ledger), [`${ours}.json`]);
    forget(ledger, ours);
    await api.call('destroy_kasm', { user_id: userId, kasm_id: ours });
  });

  it("finds the synthetic user's stale sessions through get_kasms on a machine without the ledger, only when asked to", async () => {
    const stale = await launch();
    const notAsked = await sweepLeftovers(api, userId, ledger, { now: Date.now() + 2 * 3_600_000 });
    assert.deepEqual(notAsked.destroyed, [], 'without the opt-in only the ledger is swept');
    const fresh = await sweepLeftovers(api, userId, ledger, { olderThanMs: 3_600_000 });
    assert.deepEqual(fresh.destroyed, [], 'a session younger than the limit may belong to a run in progress');
    const later = await sweepLeftovers(api, userId, ledger, { olderThanMs: 3_600_000, now: Date.now() + 2 * 3_600_000 });
    assert.deepEqual(later.destroyed, [stale]);
    assert.deepEqual(live(), []);
  });

  it("never destroys a session a ledger entry names for another user id, and drops the entry", async () => {
    // A planted entry once made the suite destroy another user's session.
    const foreign = await launch();
    writeFileSync(join(ledger, `${foreign}.json`), JSON.stringify({ kasmId: foreign, userId: 'f'.repeat(32), pid: 2 ** 22 + 12346, createdAt: new Date().toISOString() }));
    const swept = await sweepLeftovers(api, userId, ledger);
    assert.deepEqual(swept.destroyed, []);
    assert.deepEqual(swept.ignored, [foreign]);
    assert.deepEqual(readdirSync(ledger), []);
    assert.ok(live().includes(foreign), 'the session stays');
    // An entry whose content names a path, or another file's session, is not the suite's: removed, nothing else.
    const outside = join(ledger, '..', `outside-${process.pid}.json`);
    writeFileSync(outside, '{}');
    writeFileSync(join(ledger, 'planted.json'), JSON.stringify({ kasmId: `../outside-${process.pid}`, userId, pid: 2 ** 22 + 12347 }));
    assert.deepEqual((await sweepLeftovers(api, userId, ledger)).destroyed, []);
    assert.deepEqual(readdirSync(ledger), []);
    assert.ok(existsSync(outside), 'a planted path reached outside the ledger');
    rmSync(outside);
    await api.call('destroy_kasm', { user_id: userId, kasm_id: foreign });
  });

  it('keeps the ledger in the state folder, owner-only', () => {
    const config = parseConfig({ ...lab.env, KASM_ENV: 'lab' });
    const dir = ledgerDir(config);
    assert.ok(dir.startsWith(config.stateDir), dir);
    remember(dir, 'k'.repeat(32), userId);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    forget(dir, 'k'.repeat(32));
  });
});
