// The verdict of api.kasm-connect and api.internal-auth: whether kasm_api's log shows the session's call accepted,
// from what the spec read (its calls sorted by session, the warnings, what the browser sent, which reads failed, and
// whether the agent's kasm_proxy served the session's stream). Evidence in, one verdict out.
import type { Verdict } from './verdict.ts';
import type { HostEntry, SessionCalls } from './session-calls.ts';
import { plural } from '../report/text.ts';

export interface ApiCallEvidence {
  check: 'api.kasm-connect' | 'api.internal-auth';
  path: string;
  kasmId: string;
  since: Date;
  /** The WebApp servers whose kasm_api log was read. */
  hosts: string[];
  calls: SessionCalls;
  /** kasm_api's warnings in the window that are not another session's. */
  warnings: HostEntry[];
  /** The session page's request carried both cookies (client.cookies' evidence). */
  browserSentBoth: boolean;
  /** Reads that returned nothing to trust: host and why, and whether a retry may help. */
  unreadable: Array<{ host: string; why: string; timedOut: boolean }>;
  /** The agent's kasm_proxy logged the session's websockify with 101 (read only for internal_auth, when no call is found). */
  agentServed?: { host: string; line: string };
}

export type ApiCallVerdict = Verdict;

const line = (e: HostEntry) => e.entry.raw.slice(0, 400);
const message = (e: HostEntry) => (e.entry.kind === 'message' ? e.entry.message : '');
const status = (e: HostEntry) => (e.entry.kind === 'access' ? e.entry.status : undefined);

export const UNREAD_FIX = 'Check docker on that server (`sudo docker logs --tail 10 <container>` by hand); on a slow server raise KASM_TIMEOUT_SSH_MS. Reads ask for --tail KASM_LOG_TAIL_LINES, so a long history alone does not slow them.';

/**
 * No internal_auth line at all, nothing refused and every log read: whether the agent served the stream then decides
 * between a fault and a topology that does not log the call, so the spec reads the agent's 101 line and judges again.
 */
export function wantsAgentLine(e: ApiCallEvidence, verdict: ApiCallVerdict): boolean {
  return verdict.status === 'fail' && e.check === 'api.internal-auth' && e.calls.denied.length === 0 && e.unreadable.length === 0 && e.agentServed === undefined;
}

export function judgeApiCall(e: ApiCallEvidence): ApiCallVerdict {
  const { calls, path } = e;
  const elsewhere = calls.others ? `; ${plural(calls.others, 'call')} in the window ${calls.others === 1 ? 'was' : 'were'} for other sessions` : '';
  if (calls.accepted.length) {
    return { status: 'pass', summary: `${path} answered 202 for session ${e.kasmId} (${plural(calls.accepted.length, 'line')} naming it on ${[...new Set(calls.accepted.map((c) => c.host))].join(', ')}${elsewhere})` };
  }
  const denials = calls.denied.length ? calls.denied : calls.unattributed.filter((c) => status(c) === 401 || status(c) === 403);
  if (denials.length) {
    const first = denials.at(-1)!;
    const missingValues = e.warnings.some((w) => /missing required username or token/i.test(message(w)));
    if (e.check === 'api.kasm-connect' && missingValues && e.browserSentBoth) {
      return {
        status: 'fail',
        summary: `the browser sent username and session_token, but kasm_api logged kasm_connect ${status(first) ?? ''} "missing required username or token": a device in front of Kasm stripped the Cookie header (${first.host}: ${line(first)})`,
        remediation: 'Configure the load balancer / proxy / L7 firewall in front of Kasm to pass the Cookie header on /desktop/ requests (and WebSocket upgrades) unchanged.',
        hop: 'path',
      };
    }
    return { status: 'fail', summary: `kasm_api answered ${path} with ${status(first) ?? '?'} on ${first.host}: ${line(first)}${e.warnings[0] ? ` / ${line(e.warnings[0])}` : ''}` };
  }
  const unattributedOk = calls.unattributed.filter((c) => status(c) === 202);
  if (unattributedOk.length) {
    return {
      status: 'warn',
      summary: `${plural(unattributedOk.length, `${path} call`)} answered 202 in the session's window, but no line names a session (no Referer logged), so whether session ${e.kasmId}'s was accepted is not shown${elsewhere}`,
      remediation: "Nothing is known to be broken: kasm_api's access lines carry no Referer here, so calls cannot be told apart by session. Check the agent's kasm_proxy logged the session's websockify (agent.websocket-log).",
    };
  }
  if (e.unreadable.length) {
    return {
      status: 'fail',
      summary: `kasm_api's log could not be read on ${e.unreadable.map((u) => `${u.host} (${u.why})`).join(', ')}, so whether ${path} reached kasm_api is not known`,
      remediation: UNREAD_FIX,
      hop: 'webapp',
      transient: e.unreadable.some((u) => u.timedOut),
    };
  }
  // No public config shows every topology making the agent's internal_auth call through kasm_api's log: when the
  // agent served the session's stream anyway, the call's absence is not a fault the suite can prove.
  if (e.check === 'api.internal-auth' && e.agentServed) {
    return {
      status: 'warn',
      summary: `no ${path} line for session ${e.kasmId} in kasm_api's log on ${e.hosts.join(', ')} since ${e.since.toISOString()}, but the agent's kasm_proxy served the session's websockify with 101 (${e.agentServed.host}: ${e.agentServed.line.slice(0, 300)}): this deployment authorizes the stream without a logged internal_auth call${elsewhere}`,
      remediation: 'Nothing is known to be broken: the stream was authorized and served. If your Kasm version should log internal_auth, compare the agent\'s kasm_proxy config (its auth_request location) with a WebApp server\'s.',
    };
  }
  return {
    status: 'fail',
    summary: `no ${path} call for session ${e.kasmId} reached kasm_api on ${e.hosts.join(', ')} since ${e.since.toISOString()}${elsewhere}`,
    remediation:
      e.check === 'api.kasm-connect'
        ? 'The desktop request never reached a WebApp kasm_proxy, or it could not call kasm_api: check the load balancer in front of the WebApp servers and `sudo docker logs kasm_proxy` there.'
        : "The agent never called kasm_api: check the zone's Upstream Auth Address resolves and is reachable from the agents (agent.upstream-auth-reachable).",
    hop: e.check === 'api.kasm-connect' ? 'path' : 'agent',
  };
}
