// The KasmVNC checks as a new user would try them on the lab: with KASM_ALLOW_MUTATIONS=true they run on a session
// launched with KASM_DEBUG=1 and the workspace's override ends byte-for-byte as it was; a run killed after the
// change is undone by `npm run restore` or by the next run; without the opt-in nothing changes; on KasmVNC 1.5.1+
// (log level 30) they warn instead of guessing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { judgeAuth, judgeCrash, judgeHandshake, type KasmVncEvidence } from '../../helpers/judge/kasmvnc-session.ts';
import { groupByHandler, parseKasmVncLog } from '../../helpers/logs/kasmvnc.ts';
import { pendingRestores } from '../../helpers/workspace-override.ts';
import { startLab } from '../../lab/index.ts';
import { failureContext, filesUnder, labForSuite, runCli, runSuite, startSuite } from './suite-run.ts';
import { waitFor } from './wait.ts';

// With the opt-in the KasmVNC checks are a project of their own (after the override); read-only, they are tagged.
const KASMVNC_ONLY = ['--project', 'kasmvnc'];
const KASMVNC_READ_ONLY = ['--grep', '@kasmvnc'];
const MUTATIONS = { KASM_ALLOW_MUTATIONS: 'true' };

describe('the KASM_DEBUG override, end to end', { concurrency: false }, () => {
  const suite = labForSuite('kasm-override-');
  let original: string;
  let runs = 0;
  const dir = () => join(suite.work, `run-${++runs}`);
  const pending = () => pendingRestores(suite.lab.env.KASM_STATE_DIR!, suite.lab.url);
  const live = () => [...suite.lab.api.sessions.values()].filter((s) => s.status !== 'stopped').length;

  before(() => {
    original = suite.lab.workspace.run_config;
  });

  /** Starts a mutating run and kills it (-9) as soon as the workspace carries the change. */
  async function killAfterChange(): Promise<void> {
    const started = startSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    try {
      await waitFor('the override to be changed', () => pending().length === 1 && suite.lab.workspace.run_config.includes('"KASM_DEBUG":1'), 60_000);
    } finally {
      started.kill();
    }
    const run = await started.finished;
    assert.equal(run.signal, 'SIGKILL', failureContext(run));
  }

  it('runs the KasmVNC checks on a session launched with KASM_DEBUG=1 and restores the override byte for byte', { timeout: 120_000 }, async () => {
    const run = await runSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    const changes = run.diagnosis!.changes;
    assert.deepEqual(changes.map((c) => [c.state, c.change]), [['applied', 'environment.KASM_DEBUG: absent -> 1'], ['restored', 'environment.KASM_DEBUG: absent -> 1']]);
    assert.match(changes[1]!.detail, /get_images shows the original override \(\d+ bytes\), byte-for-byte/);
    const handshake = run.diagnosis!.findings.find((f) => f.check === 'session.websocket-handshake')!;
    assert.match(handshake.summary, /using protocol HyBi\/IETF 6455 13 .*KASM_DEBUG override applied \(reached the container\)/);
    const reading = handshake.evidence['KasmVNC log, grouped by request'] as Record<string, unknown>;
    assert.deepEqual(reading.debugOverride, { state: 'applied', change: 'environment.KASM_DEBUG: absent -> 1' });
    assert.deepEqual(reading.containerEnvironment, { KASM_DEBUG: '1', variables: 5 });
    assert.equal(suite.lab.workspace.run_config, original);
    assert.deepEqual(pending(), []);
    assert.equal(live(), 0, 'the suite left sessions behind');
    // docker inspect shows every variable of the container, VNC_PW (the session's Basic auth password) among them.
    const passwords = [...suite.lab.api.sessions.values()].map((s) => s.container?.vncPassword).filter((p): p is string => Boolean(p));
    assert.ok(passwords.length >= 1, 'the run launched its session');
    for (const file of filesUnder(run.dir)) {
      const text = readFileSync(file, 'latin1');
      for (const password of passwords) assert.ok(!text.includes(password), `a session's VNC_PW leaked into ${file}`);
    }
    assert.match(run.output, /Kasm settings this run touched \(KASM_ALLOW_MUTATIONS=true\):\n.*\[applied\].*\n.*\[restored\] restored: .*byte-for-byte/);
  });

  it('leaves a restore file when killed after the change, and npm run restore puts the original back', { timeout: 120_000 }, async () => {
    await killAfterChange();
    assert.notEqual(suite.lab.workspace.run_config, original);
    const restore = await runCli(suite.lab, dir(), 'restore');
    assert.equal(restore.code, 0, restore.output);
    assert.match(restore.output, /^Restored: workspace "Ubuntu Jammy" Docker Run Config Override \(environment\.KASM_DEBUG: absent -> 1, changed .* by pid \d+\); get_images shows the original, byte-for-byte \(\d+ bytes\)\.$/m);
    assert.equal(suite.lab.workspace.run_config, original);
    assert.deepEqual(pending(), []);
  });

  it('restores what a killed run left changed at the start of the next run, which then passes', { timeout: 150_000 }, async () => {
    await killAfterChange();
    const run = await runSuite(suite.lab, dir(), MUTATIONS, KASMVNC_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    assert.match(run.output, /Restore: workspace "Ubuntu Jammy" Docker Run Config Override, left changed by an interrupted run \(pid \d+, .*\): restored, byte-for-byte the original/);
    assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['applied', 'restored']);
    assert.equal(suite.lab.workspace.run_config, original);
    assert.equal(live(), 0, 'no session is left, the killed run\'s included');
  });

  it('changes nothing without the opt-in, and the checks say the override was skipped', { timeout: 120_000 }, async () => {
    const run = await runSuite(suite.lab, dir(), {}, KASMVNC_READ_ONLY);
    assert.equal(run.code, 0, failureContext(run));
    assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['skipped']);
    for (const check of ['session.websocket-handshake', 'session.auth']) {
      assert.match(run.diagnosis!.findings.find((f) => f.check === check)!.summary, /debug override skipped/);
    }
    assert.match(run.output, /Kasm settings: none changed \(Docker Run Config Override: KASM_ALLOW_MUTATIONS is not true/);
    assert.equal(suite.lab.workspace.run_config, original);
  });
});

describe('the KASM_DEBUG override when Kasm refuses the change', () => {
  it('fails the setup with the fix, lists the KasmVNC checks as not run, and changes nothing', { timeout: 120_000 }, async () => {
    const lab = await startLab({ updateImageForms: [] });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-override-refused-'));
    try {
      const original = lab.workspace.run_config;
      const run = await runSuite(lab, dir, MUTATIONS, KASMVNC_ONLY);
      assert.equal(run.code, 1, run.output.slice(-4000));
      assert.match(run.output, /\[api\] the KASM_DEBUG override could not be applied \(OVERRIDE_SAVE_FAILED\): Kasm refused both ways of saving the Docker Run Config Override: admin update_image \(target_image\): .*; public update_image \(workspace\): .*\n.*Fix: Give the API key permission to edit workspaces/);
      assert.deepEqual(run.diagnosis!.changes.map((c) => c.state), ['apply-failed']);
      const notRun = run.diagnosis!.findings.filter((f) => f.check.startsWith('session.'));
      assert.deepEqual(notRun.map((f) => [f.check, f.status]).sort(), [['session.auth', 'skip'], ['session.crash', 'skip'], ['session.websocket-handshake', 'skip']]);
      for (const finding of notRun) assert.match(finding.summary, /^not run: a setup project it depends on failed/);
      assert.equal(lab.workspace.run_config, original);
      assert.deepEqual(pendingRestores(lab.env.KASM_STATE_DIR!), [], 'a change Kasm refused leaves nothing to restore');
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the KasmVNC checks on KasmVNC 1.5.1 and later (log level 30)', () => {
  it('warn that the handshake and auth lines are not logged, and say how to raise the level; the crash check still judges', { timeout: 120_000 }, async () => {
    const lab = await startLab({ kasmvncLogLevel: 30 });
    const dir = mkdtempSync(join(tmpdir(), 'kasm-level30-'));
    try {
      const run = await runSuite(lab, dir, {}, KASMVNC_READ_ONLY);
      assert.equal(run.code, 0, run.output.slice(-4000));
      assert.equal(run.diagnosis!.verdict, 'healthy');
      const by = (check: string) => run.diagnosis!.findings.find((f) => f.check === check)!;
      for (const check of ['session.websocket-handshake', 'session.auth']) {
        assert.equal(by(check).status, 'warn', check);
        assert.match(by(check).summary, /has no \[DEBUG\] lines, so the (websocket handshake|Basic auth result) cannot be seen \(KasmVNC logs below level 100\)/);
        assert.match(by(check).remediation, /From KasmVNC 1\.5\.1 the default is 30, and KASM_DEBUG does not change it: set `logging: \{ level: 100 \}`/);
      }
      assert.equal(by('session.crash').status, 'pass');
    } finally {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the KasmVNC checks' verdicts on the lines real KasmVNC writes", () => {
  const container = { name: 'synthetic_6ae80946', id: '6ae80946', image: 'kasmweb/ubuntu-jammy-desktop:1.16.0', status: 'Up 1 minute' } as unknown as KasmVncEvidence['container'];
  const reading = (lines: string[]): KasmVncEvidence => {
    const log = parseKasmVncLog(lines.join('\n'));
    return { container, logPath: '~/.vnc/kasm:1.log', log, groups: groupByHandler(log.entries), debugLines: log.entries.filter((e) => e.level === 'DEBUG').length, override: { state: 'skipped', reason: 'no opt-in' }, environment: undefined };
  };
  const ws = (message: string, level = 'INFO') => ` 2024-11-01 06:19:30,101 [${level}] websocket 7: ${message}`;

  it('an unknown user is named as such (its first line), on the agent hop, with the fix in the image', () => {
    const verdict = judgeAuth(reading([ws('got client connection from 172.18.0.5'), ws('Authentication attempt failed, user bob does not exist'), ws('Authentication attempt failed, wrong password for user bob'), ws('172.18.0.5 172.18.0.5 bob "GET /websockify HTTP/1.1" 401 2')]));
    assert.deepEqual(verdict, {
      status: 'fail',
      summary: 'KasmVNC refused 1 of the session\'s requests in synthetic_6ae80946: the Basic credentials name a user KasmVNC does not know (handler 7: GET /websockify -> auth-failed, auth unknown-user, HTTP 401, 2 bytes; "Authentication attempt failed, user bob does not exist")',
      remediation:
        "Kasm's agent injects the user kasm_user (its password is the session's VNC_PW), so the workspace image must create that user in ~/.kasmpasswd (`kasmvncpasswd -u kasm_user -wo`, as Kasm's vnc_startup.sh does); an image with another user name cannot be logged into.",
      hop: 'agent',
      explains: ['path.websocket-upgrade', 'path.websocket-hold', 'session.stream', 'agent.websocket-log'],
    });
  });

  it("a missing password file is the session image's, quoting KasmVNC's error rather than the wrong-password line after it", () => {
    const error = "Error: BasicAuth configured to read password from file /home/kasm-user/.kasmpasswd, but the file doesn't exist or has no valid users";
    const verdict = judgeAuth(reading([ws('got client connection from 172.18.0.5'), ws(error), ws('Authentication attempt failed, wrong password for user -'), ws('172.18.0.5 172.18.0.5 - "GET /websockify HTTP/1.1" 401 2')]));
    assert.equal(verdict.summary, `KasmVNC refused 1 of the session's requests in synthetic_6ae80946: KasmVNC has no password file (or one without a valid user) to check the credentials against (handler 7: GET /websockify -> auth-failed, auth no-password-file, HTTP 401, 2 bytes; "${error}")`);
    assert.equal(verdict.hop, 'session');
    assert.match(verdict.remediation!, /^The workspace image must write KasmVNC's password file when the session starts: Kasm's vnc_startup\.sh runs `kasmvncpasswd -u kasm_user -wo` with VNC_PW into ~\/\.kasmpasswd\./);
  });

  it("`missing or malformed <X> header` (KasmVNC's master) names X, not `or`", () => {
    const r = reading([ws('got client connection from 172.18.0.5'), ws('BasicAuth matched', 'DEBUG'), ws('/websockify request failed websocket checks, missing or malformed Sec-WebSocket-Protocol header'), ws('172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 404 180')]);
    const sent = judgeHandshake(r, { 'sec-websocket-protocol': 'binary' });
    assert.deepEqual(sent, {
      status: 'fail',
      summary: 'KasmVNC could not identify the /websockify request as a WebSocket: "missing or malformed Sec-WebSocket-Protocol header" (handler 7, answered 404); the browser sent Sec-WebSocket-Protocol, so a device between the browser and KasmVNC removed it',
      remediation: 'Make every load balancer, L7 firewall and proxy in front of Kasm forward the WebSocket handshake unchanged, Sec-WebSocket-Protocol included (an "HTTP normalisation" or header-allowlist feature typically drops it).',
      hop: 'path',
      explains: ['path.websocket-upgrade', 'path.websocket-hold', 'session.stream', 'agent.websocket-log'],
    });
    assert.equal(judgeHandshake(r, {}).hop, 'client');
    const upgrade = reading([ws('/websockify request failed websocket checks, not a GET request, or missing or malformed Upgrade header'), ws('172.18.0.5 172.18.0.5 kasm_user "GET /websockify HTTP/1.1" 404 180')]);
    // A missing Upgrade header is path.websocket-upgrade's own fault, which this check does not explain away.
    assert.deepEqual(judgeHandshake(upgrade, undefined).explains, []);
  });

  it('the crash check fails a display vncserver refused, which no backtrace shows', () => {
    const verdict = judgeCrash(reading(['Warning: kasm:1 is taken because of /tmp/.X1-lock', 'Remove this file if there is no X server kasm:1', 'A VNC server is already running as :1']), 'KasmVNC 1.3.2');
    assert.deepEqual(verdict, {
      status: 'fail',
      summary: 'vncserver refused to start display :1 ("A VNC server is already running as :1"): /tmp/.X1-lock is there, so vncserver counts the display as taken; no Xvnc started, so the session cannot load in synthetic_6ae80946 (KasmVNC 1.3.2)',
      remediation: 'If no Xvnc runs in the container (`ps aux | grep Xvnc`), the lock is stale (an image committed from a running session keeps it): remove /tmp/.X1-lock and /tmp/.X11-unix/X1 from the image, or before vncserver starts, then start a new session.',
      explains: ['path.websocket-upgrade', 'path.websocket-hold', 'session.stream', 'agent.websocket-log'],
    });
  });
});
