// The verdict of agent.websocket-log: whether the agent's kasm_proxy logged the session's websockify with 101 (nginx
// writes the line when the stream closes), from the lines the spec read on the agents. Evidence in, one verdict out.
import { UNREAD_FIX } from './api-call.ts';
import type { Verdict } from './verdict.ts';

export interface WebsocketLogEvidence {
  /** `/desktop/<kasm_id>/vnc/websockify`. */
  wanted: string;
  /** The agents whose kasm_proxy log was read. */
  agents: string[];
  since: Date;
  /** The session's line: its 101 when there is one, else the first. */
  found?: { host: string; line: string; status: number; bytes: number };
  /** Reads that returned nothing to trust: host and why, and whether a retry may help. */
  unreadable: Array<{ host: string; why: string; timedOut: boolean }>;
}

export function judgeWebsocketLog(e: WebsocketLogEvidence): Verdict {
  const { found } = e;
  if (!found && e.unreadable.length) {
    return {
      status: 'fail',
      summary: `kasm_proxy's log could not be read on ${e.unreadable.map((u) => `${u.host} (${u.why})`).join(', ')}, so whether the websockify reached the agent is not known`,
      remediation: UNREAD_FIX,
      hop: 'agent',
      transient: e.unreadable.some((u) => u.timedOut),
    };
  }
  if (!found) return { status: 'fail', summary: `no GET ${e.wanted} line in kasm_proxy on ${e.agents.join(', ')} since ${e.since.toISOString()}: the websocket never reached the agent` };
  if (found.status !== 101) {
    return { status: 'fail', summary: `the agent's kasm_proxy answered the websockify with ${found.status} (${found.host}: ${found.line})`, remediation: 'The agent refused the stream: read the agent kasm_proxy error log and api.internal-auth.', hop: 'agent' };
  }
  return { status: 'pass', summary: `${found.host}: websockify 101, ${found.bytes} bytes` };
}
