// Chaos (issue 14): a mutating run's runner and workers SIGKILLed at random moments (Ctrl-C is kind; a CI job
// cancelled or a machine going down is not), each followed by a plain `npm run check`: every time the workspace's
// override is back byte for byte, no restore is pending and no session of the synthetic user is left.
// KASM_CHAOS_ROUNDS (20) and KASM_CHAOS_SEED (printed) make a failing round reproducible.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../helpers/config.ts';
import { ledgerDir } from '../../helpers/leftovers.ts';
import { pendingRestores } from '../../helpers/workspace-override.ts';
import { failureContext, labForSuite, runSuite, startSuite } from './suite-run.ts';

const MUTATIONS = { KASM_ALLOW_MUTATIONS: 'true' };
const ROUNDS = Number(process.env.KASM_CHAOS_ROUNDS ?? 20);

/** A small seeded generator (mulberry32), so the moments of a failing run can be drawn again. */
export function moments(seed: number, count: number, spanMs: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return Array.from({ length: count }, () => Math.round(next() * spanMs));
}

describe('a mutating run killed at random moments', { concurrency: false }, () => {
  const suite = labForSuite('kasm-chaos-');

  it('draws the same moments from the same seed, spread over the run', () => {
    const drawn = moments(7, 20, 10_000);
    assert.deepEqual(moments(7, 20, 10_000), drawn);
    assert.ok(drawn.every((m) => m >= 0 && m <= 10_000) && new Set(drawn).size > 15, String(drawn));
  });

  it(`${ROUNDS} times: killed with SIGKILL, then npm run check puts everything back`, { timeout: ROUNDS * 180_000 }, async () => {
    const lab = suite.lab;
    const original = lab.workspace.run_config;
    const user = lab.env.KASM_USER!;
    const live = () => [...lab.api.sessions.values()].filter((s) => s.status !== 'stopped' && s.user.username === user).map((s) => s.kasmId);
    // The span the moments are drawn from: one whole mutating run here.
    const started = Date.now();
    const whole = await runSuite(lab, join(suite.work, 'whole'), MUTATIONS);
    assert.equal(whole.code, 0, failureContext(whole));
    const span = Date.now() - started;
    const seed = Number(process.env.KASM_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const at = moments(seed, ROUNDS, span);
    console.log(`chaos: ${ROUNDS} kills over a ${span} ms run, KASM_CHAOS_SEED=${seed}: ${at.join(', ')} ms`);
    for (const [round, ms] of at.entries()) {
      const where = `round ${round + 1} (killed at ${ms} ms, KASM_CHAOS_SEED=${seed})`;
      const killedAt = Date.now();
      const run = startSuite(lab, join(suite.work, `killed-${round}`), MUTATIONS);
      const timer = setTimeout(run.kill, ms);
      const killed = await run.finished;
      clearTimeout(timer);
      const check = await runSuite(lab, join(suite.work, `check-${round}`));
      assert.equal(check.code, 0, `${where}: the next npm run check${failureContext(check)}`);
      assert.equal(lab.workspace.run_config, original, `${where}: the override is back byte for byte (killed run: ${killed.signal ?? `exit ${killed.code}`})`);
      assert.deepEqual(pendingRestores(lab.env.KASM_STATE_DIR!, lab.url), [], `${where}: no restore is pending`);
      const left = live();
      if (left.length) {
        // What the next run's cleanup saw and did, the ledger as it stands, and the session's own record.
        const sessions = left.map((id) => lab.api.sessions.get(id)!).map((s) => `${s.kasmId} ${s.status} created ${s.created.toISOString()}`);
        const ledger = readdirSync(ledgerDir(parseConfig({ ...lab.env })), { withFileTypes: true }).map((d) => d.name);
        const said = check.output.split('\n').filter((l) => /Cleanup|Restore|Observing/.test(l));
        assert.fail(`${where}: sessions left: ${sessions.join('; ')}\nkilled run started ${new Date(killedAt).toISOString()}\nledger: ${ledger.join(', ') || '(empty)'}\nthe next run said: ${said.join(' | ') || '(nothing about cleanup)'}`);
      }
    }
  });
});
