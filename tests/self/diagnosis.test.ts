import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHECKS, HOPS, isCheckId, type CheckId } from '../../helpers/diagnosis/catalog.ts';
import { diagnose } from '../../helpers/diagnosis/diagnose.ts';
import type { Finding } from '../../helpers/diagnosis/finding.ts';

const finding = (check: CheckId, status: Finding['status']): Finding => ({
  check,
  hop: CHECKS[check].hop,
  status,
  summary: `${check} ${status}`,
  remediation: status === 'fail' ? CHECKS[check].remediation : '',
  guideSection: CHECKS[check].guideSection,
  evidence: {},
});

describe('check catalog', () => {
  it('uses dotted ids whose prefix is a hop, and depends only on known checks', () => {
    for (const [id, spec] of Object.entries(CHECKS)) {
      assert.match(id, /^[a-z]+\.[a-z0-9-]+$/);
      assert.ok(HOPS.includes(spec.hop));
      assert.ok(spec.remediation.length > 40, `${id} needs a remediation`);
      for (const dependency of spec.dependsOn) assert.ok(isCheckId(dependency), `${id} depends on unknown ${dependency}`);
    }
  });
});

describe('diagnose', () => {
  it('is healthy when nothing fails', () => {
    const result = diagnose([finding('api.health', 'pass'), finding('session.stream', 'pass')], 'https://k');
    assert.equal(result.verdict, 'healthy');
    assert.equal(result.faultyHop, null);
  });

  it('blames the failing hop and marks dependants as blocked', () => {
    const result = diagnose([finding('session.stream', 'fail'), finding('api.session-create', 'fail'), finding('api.health', 'fail')], 'https://k');
    assert.equal(result.verdict, 'broken');
    assert.equal(result.faultyHop, 'api');
    assert.deepEqual(
      result.findings.map((f) => [f.check, f.status, f.blockedBy]),
      [
        ['api.health', 'fail', undefined],
        ['api.session-create', 'skip', 'api.health'],
        ['session.stream', 'skip', 'api.health'],
      ],
    );
    assert.match(result.findings[2]!.summary, /^blocked by api\.health: /);
  });

  it('keeps a later failure when what it depends on passed', () => {
    const result = diagnose([finding('api.health', 'pass'), finding('api.session-create', 'pass'), finding('session.stream', 'fail')], 'https://k');
    assert.equal(result.faultyHop, 'session');
    assert.equal(result.findings.find((f) => f.check === 'session.stream')!.status, 'fail');
  });

  it('keeps a check blocked early (skipped at once) blocked by the check that failed, naming the root when that one is blocked too', () => {
    const early = (check: CheckId, by: CheckId): Finding => ({ ...finding(check, 'skip'), blockedBy: by, summary: `blocked by ${by}: the desktop stream never upgraded; ${check} failed` });
    const direct = diagnose([finding('path.websocket-upgrade', 'fail'), early('session.stream', 'path.websocket-upgrade')], 'https://k');
    assert.equal(direct.faultyHop, 'path');
    assert.deepEqual(direct.findings.find((f) => f.check === 'session.stream')!.blockedBy, 'path.websocket-upgrade');
    const root = diagnose([finding('api.kasm-connect', 'fail'), finding('path.websocket-upgrade', 'fail'), early('session.stream', 'path.websocket-upgrade')], 'https://k');
    const stream = root.findings.find((f) => f.check === 'session.stream')!;
    assert.equal(stream.blockedBy, 'api.kasm-connect');
    assert.match(stream.summary, /^blocked by api\.kasm-connect \(through path\.websocket-upgrade\): the desktop stream never upgraded/);
  });

  it('reports a check blocked early as not judged (a warning) when its blocker passed on a retry', () => {
    const early: Finding = { ...finding('session.stream', 'skip'), blockedBy: 'path.websocket-upgrade', summary: 'blocked by path.websocket-upgrade: the desktop stream never upgraded; no frame' };
    const result = diagnose([finding('path.websocket-upgrade', 'warn'), early], 'https://k');
    const stream = result.findings.find((f) => f.check === 'session.stream')!;
    assert.equal(stream.status, 'warn');
    assert.equal(stream.blockedBy, undefined);
    assert.match(stream.summary, /^not judged: the desktop stream never upgraded; no frame \(path\.websocket-upgrade did not fail in the end/);
    assert.equal(result.verdict, 'healthy');
  });

  it('keeps a check blocked early as a failure when its blocker did not run (a narrower run): nothing else reports the fault', () => {
    const early: Finding = { ...finding('agent.websocket-log', 'skip'), blockedBy: 'path.websocket-upgrade', summary: 'blocked by path.websocket-upgrade: the desktop stream never upgraded; no websockify line' };
    const result = diagnose([finding('api.kasm-connect', 'pass'), early], 'https://k');
    const log = result.findings.find((f) => f.check === 'agent.websocket-log')!;
    assert.deepEqual([log.status, log.blockedBy, log.summary], ['fail', undefined, 'the desktop stream never upgraded; no websockify line']);
    assert.equal(result.verdict, 'broken');
    assert.equal(result.faultyHop, 'path');
  });

  it('orders findings by hop in request order', () => {
    const result = diagnose([finding('session.stream', 'pass'), finding('api.health', 'pass')], 'https://k');
    assert.deepEqual(result.findings.map((f) => f.hop), ['api', 'session']);
  });
});

describe('correlation by evidence', () => {
  it('reports a failure another finding explains as blocked by it', () => {
    const stale = { ...finding('webapp.local-connectivity', 'fail'), explains: ['api.health' as const] };
    const result = diagnose([finding('api.health', 'fail'), stale], 'https://k');
    assert.equal(result.faultyHop, 'webapp');
    assert.deepEqual(result.findings.filter((f) => f.status === 'fail').map((f) => f.check), ['webapp.local-connectivity']);
    assert.equal(result.findings.find((f) => f.check === 'api.health')!.blockedBy, 'webapp.local-connectivity');
  });

  it('never blocks a check by the failure its own evidence explains, and still blocks what depends on that failure', () => {
    const handshake = { ...finding('session.websocket-handshake', 'fail'), hop: 'path' as const, explains: ['path.websocket-upgrade' as const] };
    const result = diagnose([finding('path.websocket-upgrade', 'fail'), handshake, finding('session.stream', 'fail'), finding('session.auth', 'pass')], 'https://k');
    assert.deepEqual(result.findings.filter((f) => f.status === 'fail').map((f) => f.check), ['session.websocket-handshake']);
    assert.equal(result.faultyHop, 'path');
    assert.equal(result.findings.find((f) => f.check === 'path.websocket-upgrade')!.blockedBy, 'session.websocket-handshake');
    // Blocked by a check that is blocked in turn: the root is named, with the check in between.
    const stream = result.findings.find((f) => f.check === 'session.stream')!;
    assert.equal(stream.blockedBy, 'session.websocket-handshake');
    assert.match(stream.summary, /^blocked by session\.websocket-handshake \(through path\.websocket-upgrade\): /);
  });

  it('two failures explaining the same check are both faults, whichever finished last', () => {
    const stream = ['path.websocket-upgrade' as const, 'session.stream' as const];
    const auth = { ...finding('session.auth', 'fail'), hop: 'agent' as const, explains: stream };
    const crash = { ...finding('session.crash', 'fail'), explains: stream };
    for (const order of [[auth, crash], [crash, auth]]) {
      const result = diagnose([finding('path.websocket-upgrade', 'fail'), ...order], 'https://k');
      assert.deepEqual(result.findings.filter((f) => f.status === 'fail').map((f) => f.check).sort(), ['session.auth', 'session.crash']);
    }
  });

  it('a setting the run could not restore makes the run broken even when every check passed', () => {
    const failed = { setting: 'Docker Run Config Override', workspace: 'W', change: 'c', state: 'restore-failed' as const, detail: 'd' };
    assert.equal(diagnose([finding('api.health', 'pass')], 'https://k', new Date(0), [failed]).verdict, 'broken');
  });

  it('carries the settings the run changed', () => {
    const change = { setting: 'Docker Run Config Override', workspace: 'W', change: 'environment.KASM_DEBUG: absent -> 1', state: 'restored' as const, detail: 'byte-for-byte' };
    assert.deepEqual(diagnose([], 'https://k', new Date(0), [change]).changes, [change]);
    assert.deepEqual(diagnose([], 'https://k').changes, []);
  });
});
