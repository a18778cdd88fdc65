// The guide's KasmVNC Troubleshooting, per fresh session: its container's KasmVNC log grouped by request (handler)
// id and read the way the guide reads it. With KASM_ALLOW_MUTATIONS=true the session is launched after the
// kasmvnc-debug setup set KASM_DEBUG=1 in the workspace's Docker Run Config Override.
import { check, test, type Check, type KasmVncReading, type OpenedDesktop } from '../helpers/fixtures/index.ts';
import type { DesktopOpener } from '../helpers/fixtures/desktop.ts';
import type { KasmVncReader } from '../helpers/fixtures/kasmvnc.ts';
import { skipWithoutHosts } from '../helpers/fixtures/servers.ts';
import type { CheckId } from '../helpers/diagnosis/catalog.ts';
import { isWebsockifyPath, type HandlerAuth, type HandlerGroup, type KasmVncCrash } from '../helpers/logs/kasmvnc.ts';
import type { KasmConfig } from '../helpers/config.ts';
import { plural } from '../helpers/report/text.ts';

/** What a KasmVNC-side failure leaves behind on the way to it: explained by it, not faults of their own. */
const STREAM_CHECKS: CheckId[] = ['path.websocket-upgrade', 'path.websocket-hold', 'session.stream', 'agent.websocket-log'];

const AUTH_TEXT: Record<Exclude<HandlerAuth, 'matched' | 'not-seen'>, string> = {
  'none-sent': "BasicAuth required, but the request carried no Authorization header",
  invalid: 'the Authorization header was not valid Basic credentials',
  'unknown-user': 'the Basic credentials name a user KasmVNC does not know',
  'wrong-password': "the Basic credentials' password is not the session's",
};

/** `missing Sec-WebSocket-Protocol header` -> the header KasmVNC did not get. */
const MISSING_HEADER = /missing (\S+) header/;
const UPGRADE_MISSING = /missing Upgrade header/;

const LEVEL_REMEDIATION =
  "KasmVNC logs its handshake lines only at log level 100. From KasmVNC 1.5.1 the default is 30, and KASM_DEBUG does not change it: set `logging: { level: 100 }` in the image's ~/.vnc/kasmvnc.yaml (or /etc/kasmvnc/kasmvnc.yaml), launch a new session and run again.";

function describeGroup(g: HandlerGroup): string {
  const request = g.path !== undefined ? `${g.method ?? 'GET'} ${g.path}` : g.protocol ? 'websocket' : 'request';
  const parts = [`handler ${g.id}: ${request} -> ${g.result}`, g.protocol && `protocol ${g.protocol}`, `auth ${g.auth}`, g.status !== undefined && `HTTP ${g.status}`, g.bytes !== undefined && `${g.bytes} bytes`, g.failedChecks && `failed checks: ${g.failedChecks}${g.misleading ? ' (harmless: not /websockify)' : ''}`];
  return parts.filter(Boolean).join(', ');
}

function readingEvidence(r: KasmVncReading): Record<string, unknown> {
  return {
    container: `${r.container.name} (${r.container.image}, ${r.container.status}) on ${r.container.host.name}`,
    log: `${r.logPath}: ${r.bytes} bytes${r.truncated ? ' (its last KASM_LOG_MAX_BYTES only)' : ''}, ${r.log.entries.length} dated lines (${r.debugLines} at DEBUG), ${r.log.crashes.length} crash(es), ${r.log.unparsed.length} unreadable`,
    debugOverride: r.override,
    containerEnvironment: r.environment ? { KASM_DEBUG: r.environment.kasmDebug ?? 'absent', variables: r.environment.names.length } : 'docker inspect gave no environment',
    requests: r.groups.slice(-30).map(describeGroup),
  };
}

function overrideNote(r: KasmVncReading): string {
  if (r.override.state === 'skipped') return 'debug override skipped';
  if (r.override.state !== 'applied') return 'debug override not changed';
  if (!r.environment) return 'KASM_DEBUG override applied (the container environment could not be read)';
  return `KASM_DEBUG override applied (${r.environment.kasmDebug === '1' ? 'reached the container' : 'NOT in the container environment'})`;
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

/** The desktop's WebSocket request: KasmVNC named its protocol, or the access line shows /websockify. */
const isWebsocket = (g: HandlerGroup) => g.protocol !== undefined || isWebsockifyPath(g.path);

/**
 * No verdict in the log. Requests that reached KasmVNC but left no DEBUG line mean a log level below 100 (a warning:
 * nothing to judge); no request at all means the stream never got to the container.
 */
function nothingSeen(check: Check, reading: KasmVncReading, what: string): void {
  if (reading.groups.length > 0 && reading.debugLines === 0) {
    check.warn({ summary: `${reading.logPath} in ${reading.container.name} has no [DEBUG] lines, so ${what} cannot be seen (KasmVNC logs below level 100)`, remediation: LEVEL_REMEDIATION });
    return;
  }
  check.fail({
    summary: reading.groups.length
      ? `no /websockify request reached KasmVNC in ${reading.container.name} (${plural(reading.groups.length, 'other request')} logged: ${reading.groups.slice(-5).map((g) => g.path ?? g.result).join(', ')})`
      : `no request at all reached KasmVNC in ${reading.container.name} (${reading.logPath} holds no websocket line)`,
    remediation: "The desktop's WebSocket never got to the container: follow path.websocket-upgrade and agent.websocket-log (something in front of Kasm, or the agent's kasm_proxy, stopped it).",
    hop: 'path',
  });
}

test.describe('KasmVNC in the session container', { tag: ['@kasmvnc', '@agent'] }, () => {
  test('KasmVNC identified the websockify request as HyBi/IETF 6455', check('session.websocket-handshake'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { opened, reading } = await readSession({ desktop, kasmvnc, check, config });
    const websockify = reading.groups.filter(isWebsocket);
    const accepted = websockify.find((g) => g.protocol?.startsWith('HyBi/IETF 6455'));
    if (accepted) {
      check.pass(`handler ${accepted.id} in ${reading.container.name}: using protocol ${accepted.protocol} (BasicAuth ${accepted.auth}); ${overrideNote(reading)}`);
      if (reading.override.state === 'applied' && reading.environment && reading.environment.kasmDebug !== '1') {
        check.warn({
          summary: `the handshake is fine, but KASM_DEBUG=1 from the Docker Run Config Override is not in ${reading.container.name}'s environment (KASM_DEBUG=${reading.environment.kasmDebug ?? 'absent'})`,
          remediation: 'The agent launched the session without the saved override: check the workspace saved (Workspaces > Edit) and that this session was launched after the change.',
        });
      }
      return;
    }
    const older = websockify.find((g) => g.protocol !== undefined);
    if (older) {
      check.fail({ summary: `KasmVNC identified the websockify request as ${older.protocol} (handler ${older.id}), a pre-RFC 6455 protocol: something between the browser and Kasm rewrote the handshake`, hop: 'path', explains: STREAM_CHECKS });
    }
    const rejected = websockify.find((g) => g.failedChecks !== undefined && !g.misleading);
    if (rejected) {
      // A missing Upgrade header is what path.websocket-upgrade sees from outside too (KasmVNC answering a plain
      // GET); it keeps that fault, and this check is blocked by it. Any other reason only KasmVNC can tell.
      const upgradeMissing = UPGRADE_MISSING.test(rejected.failedChecks ?? '');
      const header = MISSING_HEADER.exec(rejected.failedChecks ?? '')?.[1];
      const sent = opened.socket()?.requestHeaders;
      const browserSent = header && sent ? Object.keys(sent).some((name) => name.toLowerCase() === header.toLowerCase()) : undefined;
      check.fail({
        summary: `KasmVNC could not identify the /websockify request as a WebSocket: "${rejected.failedChecks}" (handler ${rejected.id}, answered ${rejected.status ?? '?'})${browserSent ? `; the browser sent ${header}, so a device between the browser and KasmVNC removed it` : ''}`,
        remediation: header
          ? `Make every load balancer, L7 firewall and proxy in front of Kasm forward the WebSocket handshake unchanged, ${header} included (an "HTTP normalisation" or header-allowlist feature typically drops it).`
          : undefined,
        hop: browserSent === false ? 'client' : 'path',
        explains: upgradeMissing ? [] : STREAM_CHECKS,
      });
    }
    const undecided = websockify.find((g) => g.result !== 'auth-failed');
    if (undecided && reading.debugLines > 0) {
      check.fail({
        summary: `the /websockify request reached KasmVNC (${describeGroup(undecided)}) but the log shows no protocol line and no failed check for it`,
        remediation: 'Read the handler\'s lines in the attached log: KasmVNC stopped before its verdict (a closed or cut connection during the handshake, or a crash).',
      });
    }
    nothingSeen(check, reading, 'the websocket handshake');
  });

  test('KasmVNC accepted the session credentials the agent injected', check('session.auth'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { reading } = await readSession({ desktop, kasmvnc, check, config });
    // The session's own requests decide: vnc.html and the websocket. Anything else without credentials (a scanner,
    // a health probe straight at the container) is shown, not blamed on the agent.
    const ofSession = (g: HandlerGroup) => isWebsocket(g) || /\/vnc\.html$/.test(g.path ?? '');
    const refused = reading.groups.filter((g) => g.result === 'auth-failed');
    const refusedSession = refused.filter(ofSession);
    if (refusedSession.length) {
      const first = refusedSession.find(isWebsocket) ?? refusedSession[0]!;
      const reason = AUTH_TEXT[first.auth as keyof typeof AUTH_TEXT] ?? first.auth;
      const line = first.lines.find((l) => l.message.startsWith('Authentication attempt failed'))?.message ?? '';
      check.fail({
        summary: `KasmVNC refused ${refusedSession.length} of the session's ${refusedSession.length === 1 ? 'request' : 'requests'} in ${reading.container.name}: ${reason} (${describeGroup(first)}; "${line}")`,
        hop: 'agent',
        explains: STREAM_CHECKS,
      });
    }
    const socket = reading.groups.find((g) => isWebsocket(g) && g.auth === 'matched');
    if (socket) {
      const others = refused.length ? `; ${plural(refused.length, 'other request')} came without valid credentials (${refused.slice(0, 3).map((g) => g.path ?? 'path not logged').join(', ')}), not the session's` : '';
      check.pass(`BasicAuth matched for the websocket (handler ${socket.id}) in ${reading.container.name}${others}; ${overrideNote(reading)}`);
      return;
    }
    nothingSeen(check, reading, 'the Basic auth result');
  });

  test('KasmVNC did not crash', check('session.crash'), async ({ check, servers, desktop, kasmvnc, config }, testInfo) => {
    skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
    const { opened, reading } = await readSession({ desktop, kasmvnc, check, config, closed: true });
    await check.evidence('stream held', opened.browserHold ? `the browser kept the stream ${opened.browserHold.heldMs} ms of ${config.websocketHoldMs} ms${opened.browserHold.closedEarly ? ', and it closed before the end' : ''}` : 'the browser had no stream to hold');
    const version = await test.step('agent: Xvnc -version inside the container', () => kasmvnc.xvncVersion(reading.container, check));
    const build = /Xvnc (KasmVNC \S+) - built/.exec(version)?.[1] ?? version.split('\n')[0];
    const crashes = reading.log.crashes;
    if (!reading.log.entries.length) {
      // Nothing read is nothing judged: a crash before the first line, or a log elsewhere, would look the same.
      check.warn({
        summary: `not judged: ${reading.logPath} in ${reading.container.name} holds no line for this session, so a crash could not show (${build})`,
        remediation: 'If the stream checks failed, the session never reached KasmVNC: follow them first. Otherwise this KasmVNC writes its lines elsewhere: open a shell in the session container (`sudo docker exec -it <container> bash`) and look at `ls -la ~/.vnc/`.',
      });
      return;
    }
    if (!crashes.length) {
      check.pass(`no crash in ${plural(reading.log.entries.length, 'line')} of ${reading.logPath} in ${reading.container.name} (${build})`);
      return;
    }
    await check.evidence('KasmVNC support bundle', supportBundle(opened.kasmId, reading, version));
    const first = crashes[0]!;
    check.fail({
      summary: `KasmVNC crashed ${plural(crashes.length, 'time')} in ${reading.container.name}: ${signalText(first)}, ${first.frames.length}-frame backtrace; ${first.restarted ? `restarted${first.restartedAt ? ` at ${first.restartedAt.toISOString()}` : ''}` : 'not restarted yet'} (${build}); the support bundle holds the backtrace and Xvnc -version`,
      explains: STREAM_CHECKS,
    });
  });
});

function signalText(crash: KasmVncCrash): string {
  if (crash.signal === null) return 'a fatal server error';
  return `Caught signal ${crash.signal}${crash.signalName ? ` (${crash.signalName})` : ''}${crash.aborting ? ', Server aborting' : ''}`;
}

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
