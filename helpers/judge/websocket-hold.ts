// The verdict of path.websocket-hold, and what a cut of the held desktop stream says about the device that cut it.
// The hold is an idle viewer (helpers/probes/websocket.ts), so how long the stream had been quiet when it was cut
// tells an idle timeout (the cut comes a fixed time after the last byte) from a cut while data still flowed (a
// maximum-duration limit, a dropped connection).
import { describeClose, type HoldResult } from '../probes/websocket.ts';
import type { Verdict } from './verdict.ts';

/** A quiet stretch this long, and most of the stream's life, is what an idle timer cuts. */
const IDLE_AT_LEAST_MS = 1_000;

export function describeCut(held: Pick<HoldResult, 'cutAfterMs' | 'quietBeforeCutMs' | 'closeCode' | 'bytes'>, holdMs: number): { summary: string; remediation: string } {
  const quiet = held.quietBeforeCutMs;
  const base = `the stream was cut ${held.cutAfterMs} ms after it opened (of ${holdMs} ms), close code ${describeClose(held.closeCode)}, after ${held.bytes} bytes`;
  if (quiet !== undefined && held.cutAfterMs !== undefined && quiet >= IDLE_AT_LEAST_MS && quiet >= held.cutAfterMs / 2) {
    return {
      summary: `${base}; nothing had crossed it for ${quiet} ms: an idle timeout of about ${Math.round(quiet / 100) / 10} s on a device in the path`,
      remediation: `Raise the idle timeout for WebSockets on the load balancer / proxy in front of Kasm above what users leave a session idle for (nginx \`proxy_read_timeout\` and \`proxy_send_timeout\`, e.g. 1800s as Kasm's own proxy sets; an AWS ALB's idle timeout; an F5's TCP idle timeout). Kasm's own nginx reports \`upstream timed out (110: Connection timed out) while proxying upgraded connection\` in its error log when it is the one cutting.`,
    };
  }
  return {
    summary: `${base}${quiet !== undefined ? `, ${quiet} ms after the last byte: data was still flowing, so a maximum connection duration or a dropped connection, not an idle timeout` : ''}`,
    remediation: 'Find the device that limits how long a connection may live, or that drops it (a firewall session limit, an L7 proxy, a NAT timeout), and exempt Kasm\'s /desktop/ WebSockets; the load balancer\'s and firewall\'s logs name it.',
  };
}

export interface WebsocketHoldEvidence {
  /** The hold of the stream from outside the browser; undefined when the observation made none. */
  hold: Pick<HoldResult, 'ok' | 'openedAfterMs' | 'heldMs' | 'cutAfterMs' | 'quietBeforeCutMs' | 'closeCode' | 'bytes' | 'error' | 'rfbFailure'> | undefined;
  /** How long the hold was to last (KASM_WEBSOCKET_HOLD_MS). */
  holdMs: number;
}

/** path.websocket-hold: the stream opened and stayed open for the whole hold. */
export function judgeWebsocketHold(e: WebsocketHoldEvidence): Verdict {
  const held = e.hold;
  if (!held) return { status: 'fail', summary: 'the observation made no hold of the stream' };
  // The WebSocket opened and KasmVNC refused the desktop protocol on it: nothing in the path cut anything.
  if (held.rfbFailure !== undefined) {
    return { status: 'fail', summary: `the stream opened, but it could not be held: the RFB handshake on it failed: ${held.rfbFailure}`, remediation: 'KasmVNC in the session container refused the viewer: see session.stream and session.auth for why.', hop: 'session' };
  }
  if (held.openedAfterMs === undefined) return { status: 'fail', summary: `the stream could not be opened to hold it: ${held.error ?? 'no 101'}` };
  if (!held.ok) return { status: 'fail', ...describeCut(held, e.holdMs) };
  return { status: 'pass', summary: `held ${held.heldMs} ms, ${held.bytes} bytes, not cut` };
}
