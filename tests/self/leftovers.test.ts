import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../helpers/config.ts';
import { KasmApiClient, KasmApiError } from '../../helpers/kasm-api.ts';
import { afterDestroy, alive, destroyConfirmed, forget, launchedBy, ledgerDir, markLaunch, processStart, remember, sweepLeftovers } from '../../helpers/leftovers.ts';
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

  it("destroys the session a run killed mid-launch left unnamed (its launch mark), and no other of the user's", async () => {
    const keptByLiveRun = await launch();
    remember(ledger, keptByLiveRun, userId);
    // A run killed between Kasm making its session and the answer naming it: only its launch mark is left.
    const settle = markLaunch(ledger, userId, 2 ** 22 + 12349);
    const unnamed = await launch();
    const swept = await sweepLeftovers(api, userId, ledger, { launchWindowMs: 5_000 });
    assert.deepEqual(swept.destroyed, [unnamed]);
    assert.ok(!live().includes(unnamed), 'the unnamed session is destroyed');
    assert.ok(live().includes(keptByLiveRun), 'a session a live run named stays');
    assert.deepEqual(readdirSync(ledger).filter((n) => n.endsWith('.mark')), [], 'the mark is removed once swept');
    settle();
    forget(ledger, keptByLiveRun);
    await api.call('destroy_kasm', { user_id: userId, kasm_id: keptByLiveRun });
  });

  it('takes a pid another process now has (pids wrap) for the dead run it was, by its start time', async () => {
    const reused = await launch();
    // This test's own pid, alive, but recorded with another start: the run that wrote it is gone.
    writeFileSync(join(ledger, `${reused}.json`), JSON.stringify({ kasmId: reused, userId, pid: process.pid, started: '1', createdAt: new Date().toISOString() }));
    assert.equal(processStart(process.pid) === '1', false);
    assert.deepEqual((await sweepLeftovers(api, userId, ledger)).destroyed, [reused]);
    assert.ok(!live().includes(reused));
    // The same pid with its true start is alive, and its session stays.
    const own = await launch();
    remember(ledger, own, userId);
    assert.deepEqual((await sweepLeftovers(api, userId, ledger)).destroyed, []);
    forget(ledger, own);
    await api.call('destroy_kasm', { user_id: userId, kasm_id: own });
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

describe('which sessions a killed launch made', () => {
  const at = Date.parse('2026-12-03T10:00:00Z');
  const mark = { userId: 'b'.repeat(32), pid: 1, at };
  const kasm = (id: string, user: string, offsetMs: number) => ({ kasm_id: id, user_id: user, created: at + offsetMs });
  it("takes the user's sessions created in the mark's window that no ledger entry names", () => {
    const kasms = [kasm('1'.repeat(32), 'b'.repeat(32), 500), kasm('2'.repeat(32), 'b'.repeat(32), 20_000), kasm('3'.repeat(32), 'c'.repeat(32), 500), kasm('4'.repeat(32), 'b'.repeat(32), -1_500), kasm('5'.repeat(32), 'b'.repeat(32), 700), kasm('6'.repeat(32), 'b'.repeat(32), -3_000)];
    assert.deepEqual(launchedBy([mark], kasms, new Set(['5'.repeat(32)]), 12_000), ['1'.repeat(32), '4'.repeat(32)]);
    assert.deepEqual(launchedBy([], kasms, new Set(), 12_000), []);
  });
});

// Kasm "may destroy the session immediately or queue the task": a destroy counts once a status call says the
// session is gone, and a session still there after the budget is a failure that keeps its ledger entry.
describe('a destroy is confirmed by the status', () => {
  const gone = new KasmApiError('KASM_API_ERROR', 'get_kasm_status', 'answered 200 with error_message "Kasm not found"');

  it('reads an error_message, or a state that names an end, as gone; any other state as still there', () => {
    assert.deepEqual(afterDestroy({ error: gone }), { gone: true });
    assert.deepEqual(afterDestroy({ body: { operational_status: 'deleted' } }), { gone: true });
    assert.deepEqual(afterDestroy({ body: { kasm: { operational_status: 'Destroyed' } } }), { gone: true });
    assert.deepEqual(afterDestroy({ body: { operational_status: 'destroying' } }), { gone: false, status: 'destroying' });
    assert.deepEqual(afterDestroy({ body: { kasm: { operational_status: 'delete_pending' } } }), { gone: false, status: 'delete_pending' });
    // "stopped" in Kasm is a session that can be resumed, not one that is gone.
    assert.deepEqual(afterDestroy({ body: { operational_status: 'stopped' } }), { gone: false, status: 'stopped' });
    assert.deepEqual(afterDestroy({ body: {} }), { gone: false, status: 'unknown' });
    const unreachable = new KasmApiError('KASM_API_UNREACHABLE', 'get_kasm_status', 'refused');
    assert.throws(() => afterDestroy({ error: unreachable }), /refused/);
  });

  let server: http.Server;
  let api: KasmApiClient;
  const dispatcher = createDispatcher({ insecureTls: false, connectTimeoutMs: 2_000 });
  // What the fake Kasm does: how long destroy_kasm takes to answer, and how many status calls still find the session.
  let script = { destroyMs: 0, destroyAnswer: {} as Record<string, unknown>, stillThere: 0 };
  let statusCalls = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      const answer = (value: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
      if (req.url?.endsWith('/destroy_kasm')) return void setTimeout(() => !res.destroyed && answer(script.destroyAnswer), script.destroyMs);
      statusCalls++;
      answer(statusCalls <= script.stillThere ? { operational_status: 'destroying', operational_message: 'Destroying session' } : { error_message: 'Kasm not found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const config = parseConfig({ KASM_URL: `http://127.0.0.1:${port}`, KASM_API_KEY: 'k', KASM_API_SECRET: 's', KASM_USER: 'u@example.com', KASM_WORKSPACE: 'Ubuntu Jammy', KASM_TIMEOUT_HTTP_MS: '300' });
    api = new KasmApiClient(config, dispatcher);
  });
  after(async () => {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const session = { kasmId: 'a'.repeat(32), userId: 'b'.repeat(32) };
  const play = (next: typeof script) => {
    script = next;
    statusCalls = 0;
  };

  it('waits while Kasm answers destroying, and is done when the status finds nothing', async () => {
    play({ destroyMs: 0, destroyAnswer: {}, stillThere: 3 });
    assert.equal(await destroyConfirmed(api, session, 10_000), 'destroyed');
    assert.equal(statusCalls, 4);
  });

  it('takes a destroy_kasm that times out as under way, and one that says the session is not found as gone already', async () => {
    play({ destroyMs: 1_000, destroyAnswer: {}, stillThere: 1 });
    assert.equal(await destroyConfirmed(api, session, 10_000), 'destroyed');
    play({ destroyMs: 0, destroyAnswer: { error_message: 'Kasm not found' }, stillThere: 0 });
    assert.equal(await destroyConfirmed(api, session, 10_000), 'gone already');
  });

  it('fails, naming the session and the state Kasm answers, when the session is still there after the budget', async () => {
    play({ destroyMs: 0, destroyAnswer: {}, stillThere: Infinity });
    const started = Date.now();
    await assert.rejects(destroyConfirmed(api, session, 1_500), new RegExp(`session ${session.kasmId} is still there \\d+ ms after destroy_kasm: get_kasm_status says operational_status "destroying"`));
    assert.ok(Date.now() - started < 3_000, 'the budget holds');
  });

  it('keeps a session it could not confirm gone in the ledger, for the next run', async () => {
    play({ destroyMs: 0, destroyAnswer: {}, stillThere: Infinity });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-ledger-'));
    writeFileSync(join(dir, `${session.kasmId}.json`), JSON.stringify({ ...session, pid: 2 ** 22 + 12348, createdAt: new Date().toISOString() }));
    const swept = await sweepLeftovers(api, session.userId, dir, { budgetMs: 800 });
    assert.deepEqual(swept.destroyed, []);
    assert.match(swept.failed[0]?.reason ?? '', /still there/);
    assert.deepEqual(readdirSync(dir), [`${session.kasmId}.json`]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('alive', () => {
  it('counts a zombie as dead: a killed run\'s workers stay zombies until reaped, and kill(pid, 0) still answers', async () => {
    // The shell starts a child and becomes `sleep`, which never reaps it: the child, once exited, is a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.doesNotThrow(() => process.kill(zombie, 0), 'kill(pid, 0) answers for the zombie');
      assert.equal(alive(zombie), false);
      assert.equal(alive(process.pid), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
