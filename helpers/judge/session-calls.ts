// Which of kasm_api's auth calls in a time window were for the suite's own session. On a busy Kasm every user's
// session makes kasm_connect and internal_auth calls, so a 202 in the window proves nothing about ours: a call is
// ours only when its own line names our kasm id. nginx's auth sub-request carries the original request's headers, so
// CherryPy's access line logs the session page's Referer (`.../desktop/<kasm_id>/vnc/vnc.html?...`), and kasm_api's
// `Authenticated kasm_connect request for (/desktop/<kasm_id>/...)` names it too.
import { kasmIdsIn, type KasmApiEntry } from '../logs/kasm-api.ts';

export interface HostEntry {
  host: string;
  entry: KasmApiEntry;
}

export interface SessionCalls {
  /** Our session's calls that kasm_api accepted (202), or said it authenticated. */
  accepted: HostEntry[];
  /** Our session's calls kasm_api refused (401, 403). */
  denied: HostEntry[];
  /** Calls in the window whose lines name no kasm id: they may be ours, but nothing shows it. */
  unattributed: HostEntry[];
  /** Calls in the window for other sessions (other users' traffic), counted, never blamed on ours. */
  others: number;
}

const AUTHENTICATED = /^Authenticated kasm_connect request for \(\/[^/()]+\/([0-9a-f-]{32,36})\//;

/** `path`: the call judged; only kasm_connect has a message line of its own that names the session. */
export function sessionCalls(path: string, calls: HostEntry[], messages: HostEntry[], kasmId: string): SessionCalls {
  const result: SessionCalls = { accepted: [], denied: [], unattributed: [], others: 0 };
  const id = kasmId.replaceAll('-', '');
  const ours = (entry: KasmApiEntry) => kasmIdsIn(entry).map((k) => k.replaceAll('-', '')).includes(id);
  for (const call of calls) {
    if (call.entry.kind !== 'access') continue;
    if (!ours(call.entry)) {
      if (kasmIdsIn(call.entry).length) result.others++;
      else result.unattributed.push(call);
      continue;
    }
    if (call.entry.status === 202) result.accepted.push(call);
    else if (call.entry.status === 401 || call.entry.status === 403) result.denied.push(call);
  }
  for (const message of path.startsWith('/api/kasm_connect') ? messages : []) {
    if (message.entry.kind !== 'message') continue;
    const named = AUTHENTICATED.exec(message.entry.message)?.[1];
    if (named && named.replaceAll('-', '') === id) result.accepted.push(message);
  }
  return result;
}
