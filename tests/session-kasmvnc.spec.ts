// The guide's KasmVNC Troubleshooting, per fresh session: its container's KasmVNC log grouped by request (handler)
// id and read the way the guide reads it. With KASM_ALLOW_MUTATIONS=true the session is launched after the
// kasmvnc-debug setup set KASM_DEBUG=1 in the workspace's Docker Run Config Override.
import { check, test, type Check, type KasmVncReading, type OpenedDesktop } from '../helpers/fixtures/index.ts';
import type { DesktopOpener } from '../helpers/fixtures/desktop.ts';
import type { KasmVncReader } from '../helpers/fixtures/kasmvnc.ts';
import { skipWithoutHosts } from '../helpers/fixtures/servers.ts';
import type { KasmConfig } from '../helpers/config.ts';
import { applyVerdict } from '../helpers/fixtures/check.ts';
import { describeGroup, judgeAuth, judgeCrash, judgeHandshake, signalText } from '../helpers/judge/kasmvnc-session.ts';
import { plural } from '../helpers/report/text.ts';

function readingEvidence(r: KasmVncReading): Record<string, unknown> {
  return {
    container: `${r.container.name} (${r.container.image}, ${r.container.status}) on ${r.container.host.name}`,
    log: `${r.logPath}: ${r.bytes} bytes${r.truncated ? ' (its last KASM_LOG_MAX_BYTES only)' : ''}, ${r.log.entries.length} dated lines (${r.debugLines} at DEBUG), ${plural(r.log.crashes.length, 'crash', 'crashes')}, ${r.log.unparsed.length} unreadable`,
    debugOverride: r.override,
    containerEnvironment: r.environment ? { KASM_DEBUG: r.environment.kasmDebug ?? 'absent', variables: r.environment.names.length } : 'docker inspect gave no environment',
    requests: r.groups.slice(-30).map(describeGroup),
  };
}

interface Use {
  desktop: DesktopOpener;
  kasmvnc: KasmVncReader;
  check: Check;
  config: KasmConfig;
  /** After the hold and the close (a crash in use, not only at connect), not only after the first frame. */
  closed?: boolean;
}

/**
 * The run's observed session (streamed, held for KASM_WEBSOCKET_HOLD_MS so a crash in use shows, then closed), and
 * its container's KasmVNC log. Under the debug override it is a session of its own, launched after the change.
 */
async function readSession({ desktop, kasmvnc, check, config, closed }: Use): Promise<{ opened: OpenedDesktop; reading: KasmVncReading }> {
  const variant = config.allowMutations ? 'session-debug' : undefined;
  // The container is found as soon as the session runs; only the log waits for the hold to end.
  const located = closed ? await test.step('agent: find the session container', async () => kasmvnc.locate(await desktop.open({ variant }), check)) : undefined;
  const opened = await desktop.open({ variant, closed });
  const reading = await test.step(`agent: ${located ? '' : 'find the session container, '}read ~/.vnc/<hostname>:1.log`, () => kasmvnc.read(opened, check, located));
  await check.evidence('KasmVNC log, grouped by request', readingEvidence(reading));
  return { opened, reading };
}

test.describe('KasmVNC in the session container', { tag: ['@kasmvnc', '@agent'] }, () => {
  test('KasmVNC identified the websockify request as HyBi/IETF 6455', check('session.websocket-handshake'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { opened, reading } = await readSession({ desktop, kasmvnc, check, config });
    applyVerdict(check, judgeHandshake(reading, opened.socket()?.requestHeaders));
  });

  test('KasmVNC accepted the session credentials the agent injected', check('session.auth'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { reading } = await readSession({ desktop, kasmvnc, check, config });
    applyVerdict(check, judgeAuth(reading));
  });

  test('KasmVNC did not crash', check('session.crash'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { opened, reading } = await readSession({ desktop, kasmvnc, check, config, closed: true });
    await check.evidence('stream held', opened.browserHold ? `the browser kept the stream ${opened.browserHold.heldMs} ms of ${config.websocketHoldMs} ms${opened.browserHold.closedEarly ? ', and it closed before the end' : ''}` : 'the browser had no stream to hold');
    const version = await test.step('agent: Xvnc -version inside the container', () => kasmvnc.xvncVersion(reading.container, check));
    const build = /Xvnc (KasmVNC \S+) - built/.exec(version)?.[1] ?? version.split('\n')[0];
    const verdict = judgeCrash(reading, build ?? version);
    if (verdict.status === 'fail') await check.evidence('KasmVNC support bundle', supportBundle(opened.kasmId, reading, version));
    applyVerdict(check, verdict);
  });
});

/** What the guide asks to send to Kasm support, ready to paste into a ticket. */
function supportBundle(kasmId: string, reading: KasmVncReading, version: string): string {
  const sections = [
    'KasmVNC crash: support bundle (send to Kasm support with the image name and tag)',
    `session ${kasmId}, container ${reading.container.name}, image ${reading.container.image}, agent ${reading.container.host.name}`,
    '',
    '$ Xvnc -version',
    version,
  ];
  for (const [index, crash] of reading.log.crashes.entries()) {
    sections.push('', `--- crash ${index + 1} of ${reading.log.crashes.length}: ${signalText(crash)}; after ${crash.after?.toISOString() ?? 'the first dated line'}; ${crash.restarted ? `restarted${crash.restartedAt ? ` at ${crash.restartedAt.toISOString()}` : ''}` : 'no restart seen'}`, ...crash.lines);
  }
  return sections.join('\n');
}
