// The verdicts of the KasmVNC checks (the guide's KasmVNC Troubleshooting) on the session container's log, grouped
// by handler: the websocket handshake, the Basic auth the agent injected, crashes. Evidence in, one verdict out.
import type { CheckId } from '../diagnosis/catalog.ts';
import type { KasmVncReading } from '../fixtures/kasmvnc.ts';
import { explainStartFailure, IMAGE_AUTH_FIX, isWebsockifyPath, type HandlerAuth, type HandlerGroup, type KasmVncCrash } from '../logs/kasmvnc.ts';
import { plural } from '../report/text.ts';
import type { Verdict } from './verdict.ts';

/** What a KasmVNC-side failure leaves behind on the way to it: explained by it, not faults of their own. */
export const STREAM_CHECKS: CheckId[] = ['path.websocket-upgrade', 'path.websocket-hold', 'session.stream', 'agent.websocket-log'];

const AUTH_TEXT: Record<Exclude<HandlerAuth, 'matched' | 'not-seen'>, string> = {
  'none-sent': 'BasicAuth required, but the request carried no Authorization header',
  invalid: 'the Authorization header was not valid Basic credentials',
  'unknown-user': 'the Basic credentials name a user KasmVNC does not know',
  'no-password-file': 'KasmVNC has no password file (or one without a valid user) to check the credentials against',
  'wrong-password': "the Basic credentials' password is not the session's",
};

/**
 * `missing Sec-WebSocket-Protocol header` -> the header KasmVNC did not get. KasmVNC's unreleased master writes
 * `missing or malformed <X> header`, whose header is the word before `header`, not `or`.
 */
const MISSING_HEADER = /missing (?:or malformed )?(\S+) header/;
const UPGRADE_MISSING = /missing (?:or malformed )?Upgrade header/;

export const LEVEL_REMEDIATION =
  "KasmVNC logs its handshake lines only at log level 100. From KasmVNC 1.5.1 the default is 30, and KASM_DEBUG does not change it: set `logging: { level: 100 }` in the image's ~/.vnc/kasmvnc.yaml (or /etc/kasmvnc/kasmvnc.yaml), launch a new session and run again.";

/** What the log can show of a reading: the groups, the DEBUG lines, the crashes, the override and environment. */
export type KasmVncEvidence = Pick<KasmVncReading, 'container' | 'logPath' | 'log' | 'groups' | 'debugLines' | 'override' | 'environment'>;

export function describeGroup(g: HandlerGroup): string {
  const request = g.path !== undefined ? `${g.method ?? 'GET'} ${g.path}` : g.protocol ? 'websocket' : 'request';
  const parts = [`handler ${g.id}: ${request} -> ${g.result}`, g.protocol && `protocol ${g.protocol}`, `auth ${g.auth}`, g.status !== undefined && `HTTP ${g.status}`, g.bytes !== undefined && `${g.bytes} bytes`, g.failedChecks && `failed checks: ${g.failedChecks}${g.misleading ? ' (harmless: not /websockify)' : ''}`];
  return parts.filter(Boolean).join(', ');
}

export function overrideNote(r: Pick<KasmVncEvidence, 'override' | 'environment'>): string {
  if (r.override.state === 'skipped') return 'debug override skipped';
  if (r.override.state !== 'applied') return 'debug override not changed';
  if (!r.environment) return 'KASM_DEBUG override applied (the container environment could not be read)';
  return `KASM_DEBUG override applied (${r.environment.kasmDebug === '1' ? 'reached the container' : 'NOT in the container environment'})`;
}

/** The desktop's WebSocket request: KasmVNC named its protocol, or the access line shows /websockify. */
export const isWebsocket = (g: HandlerGroup) => g.protocol !== undefined || isWebsockifyPath(g.path);

/**
 * No verdict in the log. Requests that reached KasmVNC but left no DEBUG line mean a log level below 100 (a warning:
 * nothing to judge); no request at all means the stream never got to the container.
 */
export function nothingSeen(r: KasmVncEvidence, what: string): Verdict {
  if (r.groups.length > 0 && r.debugLines === 0) {
    return { status: 'warn', summary: `${r.logPath} in ${r.container.name} has no [DEBUG] lines, so ${what} cannot be seen (KasmVNC logs below level 100)`, remediation: LEVEL_REMEDIATION };
  }
  return {
    status: 'fail',
    summary: r.groups.length
      ? `no /websockify request reached KasmVNC in ${r.container.name} (${plural(r.groups.length, 'other request')} logged: ${r.groups.slice(-5).map((g) => g.path ?? g.result).join(', ')})`
      : `no request at all reached KasmVNC in ${r.container.name} (${r.logPath} holds no websocket line)`,
    remediation: "The desktop's WebSocket never got to the container: follow path.websocket-upgrade and agent.websocket-log (something in front of Kasm, or the agent's kasm_proxy, stopped it).",
    hop: 'path',
  };
}

/** session.websocket-handshake: `sentHeaders` are the handshake headers the browser sent (DevTools). */
export function judgeHandshake(r: KasmVncEvidence, sentHeaders: Record<string, string> | undefined): Verdict {
  const websockify = r.groups.filter(isWebsocket);
  const accepted = websockify.find((g) => g.protocol?.startsWith('HyBi/IETF 6455'));
  if (accepted) {
    if (r.override.state === 'applied' && r.environment && r.environment.kasmDebug !== '1') {
      return {
        status: 'warn',
        summary: `the handshake is fine, but KASM_DEBUG=1 from the Docker Run Config Override is not in ${r.container.name}'s environment (KASM_DEBUG=${r.environment.kasmDebug ?? 'absent'})`,
        remediation: 'The agent launched the session without the saved override: check the workspace saved (Workspaces > Edit) and that this session was launched after the change.',
      };
    }
    return { status: 'pass', summary: `handler ${accepted.id} in ${r.container.name}: using protocol ${accepted.protocol} (BasicAuth ${accepted.auth}); ${overrideNote(r)}` };
  }
  const older = websockify.find((g) => g.protocol !== undefined);
  if (older) {
    return { status: 'fail', summary: `KasmVNC identified the websockify request as ${older.protocol} (handler ${older.id}), a pre-RFC 6455 protocol: something between the browser and Kasm rewrote the handshake`, hop: 'path', explains: STREAM_CHECKS };
  }
  const rejected = websockify.find((g) => g.failedChecks !== undefined && !g.misleading);
  if (rejected) {
    // A missing Upgrade header is what path.websocket-upgrade sees from outside too (KasmVNC answering a plain
    // GET); it keeps that fault, and this check is blocked by it. Any other reason only KasmVNC can tell.
    const upgradeMissing = UPGRADE_MISSING.test(rejected.failedChecks ?? '');
    const header = MISSING_HEADER.exec(rejected.failedChecks ?? '')?.[1];
    const browserSent = header && sentHeaders ? Object.keys(sentHeaders).some((name) => name.toLowerCase() === header.toLowerCase()) : undefined;
    return {
      status: 'fail',
      summary: `KasmVNC could not identify the /websockify request as a WebSocket: "${rejected.failedChecks}" (handler ${rejected.id}, answered ${rejected.status ?? '?'})${browserSent ? `; the browser sent ${header}, so a device between the browser and KasmVNC removed it` : ''}`,
      ...(header ? { remediation: `Make every load balancer, L7 firewall and proxy in front of Kasm forward the WebSocket handshake unchanged, ${header} included (an "HTTP normalisation" or header-allowlist feature typically drops it).` } : {}),
      hop: browserSent === false ? 'client' : 'path',
      explains: upgradeMissing ? [] : STREAM_CHECKS,
    };
  }
  const undecided = websockify.find((g) => g.result !== 'auth-failed');
  if (undecided && r.debugLines > 0) {
    return {
      status: 'fail',
      summary: `the /websockify request reached KasmVNC (${describeGroup(undecided)}) but the log shows no protocol line and no failed check for it`,
      remediation: "Read the handler's lines in the attached log: KasmVNC stopped before its verdict (a closed or cut connection during the handshake, or a crash).",
    };
  }
  return nothingSeen(r, 'the websocket handshake');
}

/** session.auth: the session's own requests decide (vnc.html and the websocket); others are shown, not blamed. */
export function judgeAuth(r: KasmVncEvidence): Verdict {
  const ofSession = (g: HandlerGroup) => isWebsocket(g) || /\/vnc\.html$/.test(g.path ?? '');
  const refused = r.groups.filter((g) => g.result === 'auth-failed');
  const refusedSession = refused.filter(ofSession);
  if (refusedSession.length) {
    const first = refusedSession.find(isWebsocket) ?? refusedSession[0]!;
    const reason = AUTH_TEXT[first.auth as keyof typeof AUTH_TEXT] ?? first.auth;
    // The line that decided the result names the most specific reason (an unknown user, no password file).
    const line = first.authLine?.message ?? first.lines.find((l) => l.message.startsWith('Authentication attempt failed'))?.message ?? '';
    // The catalog's fix is the injected header's; a user or a password file the image lacks has its own.
    const remediation = IMAGE_AUTH_FIX[first.auth];
    return {
      status: 'fail',
      summary: `KasmVNC refused ${refusedSession.length} of the session's requests in ${r.container.name}: ${reason} (${describeGroup(first)}; "${line}")`,
      ...(remediation ? { remediation } : {}),
      hop: first.auth === 'no-password-file' ? 'session' : 'agent',
      explains: STREAM_CHECKS,
    };
  }
  const socket = r.groups.find((g) => isWebsocket(g) && g.auth === 'matched');
  if (socket) {
    const others = refused.length ? `; ${plural(refused.length, 'other request')} came without valid credentials (${refused.slice(0, 3).map((g) => g.path ?? 'path not logged').join(', ')}), not the session's` : '';
    return { status: 'pass', summary: `BasicAuth matched for the websocket (handler ${socket.id}) in ${r.container.name}${others}; ${overrideNote(r)}` };
  }
  return nothingSeen(r, 'the Basic auth result');
}

export function signalText(crash: KasmVncCrash): string {
  if (crash.signal === null) return 'a fatal server error';
  return `Caught signal ${crash.signal}${crash.signalName ? ` (${crash.signalName})` : ''}${crash.aborting ? ', Server aborting' : ''}`;
}

/** session.crash: `build` is what `Xvnc -version` said (`KasmVNC 1.3.2.<commit>`). */
export function judgeCrash(r: KasmVncEvidence, build: string): Verdict {
  // vncserver refusing the display, or Xvnc's fatal() at a TLS connection: no crash backtrace, but no desktop either.
  const stopped = r.log.startFailures[0];
  if (stopped && !r.log.crashes.length) {
    const { message, fix } = explainStartFailure(stopped);
    return { status: 'fail', summary: `${message} in ${r.container.name} (${build})`, remediation: fix, explains: STREAM_CHECKS };
  }
  if (!r.log.entries.length) {
    // Nothing read is nothing judged: a crash before the first line, or a log elsewhere, would look the same.
    return {
      status: 'warn',
      summary: `not judged: ${r.logPath} in ${r.container.name} holds no line for this session, so a crash could not show (${build})`,
      remediation: 'If the stream checks failed, the session never reached KasmVNC: follow them first. Otherwise this KasmVNC writes its lines elsewhere: open a shell in the session container (`sudo docker exec -it <container> bash`) and look at `ls -la ~/.vnc/`.',
    };
  }
  const crashes = r.log.crashes;
  if (!crashes.length) return { status: 'pass', summary: `no crash in ${plural(r.log.entries.length, 'line')} of ${r.logPath} in ${r.container.name} (${build})` };
  const first = crashes[0]!;
  return {
    status: 'fail',
    summary: `KasmVNC crashed ${plural(crashes.length, 'time')} in ${r.container.name}: ${signalText(first)}, ${first.frames.length}-frame backtrace; ${first.restarted ? `restarted${first.restartedAt ? ` at ${first.restartedAt.toISOString()}` : ''}` : 'not restarted yet'} (${build}); the support bundle holds the backtrace and Xvnc -version`,
    explains: STREAM_CHECKS,
  };
}
