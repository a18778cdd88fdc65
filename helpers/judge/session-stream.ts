// The verdict of session.stream: the desktop's stream delivered the RFB banner and a first framebuffer update within
// the limit, from the browser's RFB progress (helpers/probes/rfb.ts) and its /websockify handshake. Evidence in, one
// verdict out.
import type { WebSocketRecord } from '../probes/devtools.ts';
import type { RfbProgress } from '../probes/rfb.ts';
import type { Verdict } from './verdict.ts';

export interface SessionStreamEvidence {
  progress: RfbProgress;
  /** When the session was asked for, on the clock of progress's times. */
  openedAt: number;
  /** The browser's /websockify WebSocket; undefined when the page never opened one. */
  websocket: Pick<WebSocketRecord, 'status' | 'error'> | undefined;
  /** KASM_TIMEOUT_FIRST_FRAME_MS. */
  firstFrameTimeoutMs: number;
}

/** Why no framebuffer update came: how far the stream got. */
function stalled(progress: RfbProgress, ws: SessionStreamEvidence['websocket']): string {
  if (!ws) return 'the page never opened a /websockify WebSocket';
  if (progress.phase === 'failed') return `the RFB handshake failed: ${progress.failure}`;
  if (progress.bytes === 0) return `the WebSocket ${ws.status === 101 ? 'opened but no RFB byte arrived' : ws.status ? `was answered ${ws.status}` : 'got no handshake response'}`;
  // Refused, with the reason string still to come: the refusal is known, its words are not.
  if (progress.phase === 'security-result' && progress.securityResult !== undefined && progress.securityResult !== 0) {
    return `KasmVNC refused the viewer (SecurityResult ${progress.securityResult}); its reason did not arrive`;
  }
  const waiting = WAITING[progress.phase];
  return `the stream stopped in phase "${progress.phase}" after ${progress.bytes} bytes${waiting ? `: ${waiting}` : ''}`;
}

/** What a stream stalled in a phase was waiting for, where the phase name alone does not tell an engineer. */
const WAITING: Partial<Record<RfbProgress['phase'], string>> = {
  'vnc-challenge': "KasmVNC offered VncAuth but its 16-byte challenge did not come",
  'vnc-response': "the viewer did not answer KasmVNC's VncAuth challenge (Kasm's web client answers it with the empty password)",
  'security-result': 'KasmVNC did not say whether it accepted the viewer (its SecurityResult did not come)',
  'server-init': "KasmVNC accepted the viewer but did not describe its desktop (ServerInit): Xvnc behind KasmVNC's websocket may not be answering",
};

export function judgeSessionStream(e: SessionStreamEvidence): Verdict {
  const { progress } = e;
  if (progress.firstUpdateAt === undefined) {
    return { status: 'fail', summary: `no framebuffer update within ${e.firstFrameTimeoutMs} ms: ${stalled(progress, e.websocket)}` };
  }
  const firstFrameMs = Math.round(progress.firstUpdateAt - e.openedAt);
  return { status: 'pass', summary: `${progress.banner}, ${progress.serverInit?.width}x${progress.serverInit?.height} desktop, first framebuffer update ${firstFrameMs} ms after opening the session` };
}
