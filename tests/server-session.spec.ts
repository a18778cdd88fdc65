// Validate Session Authorization and the websocket at the agent, for a fresh session opened in the browser:
// kasm_api's kasm_connect and internal_auth lines, and the agent kasm_proxy's websockify 101 line (nginx writes it
// when the stream closes, so the page is closed before the logs are read).
import { check, expect, test, type Check } from '../helpers/fixtures/index.ts';
import { skipWithoutHosts } from '../helpers/fixtures/servers.ts';
import { sessionCalls } from '../helpers/judge/session-calls.ts';
import { resolveIdentity } from '../helpers/fixtures/session.ts';
import { kasmIdsIn, parseKasmApiLog, type KasmApiEntry } from '../helpers/logs/kasm-api.ts';
import { maskOtherSessions, namesOtherSession, type OwnSession } from '../helpers/logs/kasm-id.ts';
import { parseNginxAccessLog } from '../helpers/logs/nginx.ts';
import type { Servers } from '../helpers/fixtures/servers.ts';
import type { CommandResult } from '../helpers/probes/ssh.ts';
import { plural } from '../helpers/report/text.ts';

interface ApiLines {
  host: string;
  entries: KasmApiEntry[];
  unparsed: string[];
  tailReached: boolean;
  unread: Unread | undefined;
}


async function kasmApiLines(servers: Servers, since: Date, tail: number, check: Check, own: OwnSession): Promise<ApiLines[]> {
  const webapps = await servers.hosts('webapp');
  return Promise.all(
    webapps.map(async (host) => {
      const result = await servers.run(host, { kind: 'docker-logs', container: 'kasm_api', since, tail }, check, { keep: (stdout) => maskOtherSessions(stdout, own) });
      return { host: host.name, ...parseKasmApiLog(result.stdout), tailReached: lineCount(result.stdout) >= tail, unread: unread(result) };
    }),
  );
}

const ownLines = (lines: string[], own: OwnSession) => (lines.length ? maskOtherSessions(lines.join('\n'), own).split('\n') : []);

const lineCount = (text: string) => text.split('\n').filter(Boolean).length;
interface Unread {
  why: string;
  /** A timeout may pass on a retry; a failing docker does not. */
  timedOut: boolean;
}
/** Why a log read tells nothing (it timed out or docker failed), or undefined when its lines can be trusted. */
function unread(result: CommandResult): Unread | undefined {
  if (result.timedOut) return { why: `docker logs timed out after ${Math.round(result.durationMs)} ms`, timedOut: true };
  if (result.exitCode !== 0) return { why: `docker logs failed (exit ${result.exitCode ?? result.signal}): ${(result.stderr || result.stdout).trim().slice(-200)}`, timedOut: false };
  return undefined;
}
const UNREAD_FIX = 'Check docker on that server (`sudo docker logs --tail 10 <container>` by hand); on a slow server raise KASM_TIMEOUT_SSH_MS. Reads ask for --tail KASM_LOG_TAIL_LINES, so a long history alone does not slow them.';
/** For the evidence: a read that returned --tail lines may have missed the window's oldest lines. */
const tailNote = (tail: number) => `the read returned the ${tail} lines KASM_LOG_TAIL_LINES allows: the window's oldest lines may be missing (raise KASM_LOG_TAIL_LINES)`;

const line = (e: KasmApiEntry) => e.raw.slice(0, 400);

for (const [id, path] of [
  ['api.kasm-connect', '/api/kasm_connect/'],
  ['api.internal-auth', '/api/internal_auth/'],
] as const) {
  test(`kasm_api logged GET ${path} with 202 for the session`, check(id, ['@logs']), async ({ check, servers, desktop, config, kasmApi }, testInfo) => {
    skipWithoutHosts(await servers.hosts('webapp'), 'webapp', testInfo);
    const opened = await desktop.open();
    const since = new Date(opened.startedAt.getTime() - config.clockSkewMs);
    const { imageId } = await resolveIdentity(kasmApi, config);
    const ours: OwnSession = { ids: [opened.kasmId, opened.userId, imageId], user: config.user.name };
    const logs = await test.step(`webapp: docker logs --since ${since.toISOString()} --tail ${config.logTailLines} kasm_api on every WebApp server`, () => kasmApiLines(servers, since, config.logTailLines, check, ours));
    const calls = logs.flatMap((l) => l.entries.filter((e) => e.kind === 'access' && e.path === path && e.at >= since).map((e) => ({ host: l.host, entry: e })));
    const mentions = logs.flatMap((l) => l.entries.filter((e) => e.kind === 'message' && kasmIdsIn(e).includes(opened.kasmId)).map((e) => ({ host: l.host, entry: e })));
    // Warnings about other users' sessions say nothing of ours (and are theirs to keep).
    const warnings = logs.flatMap((l) => l.entries.filter((e) => e.kind === 'message' && e.at >= since && /missing required username or token|Invalid token|Unauthorized/i.test(e.message) && !namesOtherSession(e.raw, ours)).map((e) => ({ host: l.host, entry: e })));
    await check.evidence('kasm_api lines', {
      window: { since: since.toISOString(), tail: config.logTailLines, ...(logs.some((l) => l.tailReached) ? { cut: `${logs.filter((l) => l.tailReached).map((l) => l.host).join(', ')}: ${tailNote(config.logTailLines)}` } : {}) },
      // Other users' calls and warnings are judged (and counted), never written down.
      calls: ownLines(calls.slice(-20).map((c) => `${c.host}: ${line(c.entry)}`), ours),
      sessionLines: mentions.slice(-10).map((c) => `${c.host}: ${line(c.entry)}`),
      warnings: ownLines(warnings.slice(-10).map((c) => `${c.host}: ${line(c.entry)}`), ours),
      unparsed: logs.map((l) => ({ host: l.host, count: l.unparsed.length, sample: ownLines(l.unparsed.slice(0, 3), ours) })),
    });
    const own = sessionCalls(path, calls, mentions, opened.kasmId);
    const elsewhere = own.others ? `; ${plural(own.others, 'call')} in the window ${own.others === 1 ? 'was' : 'were'} for other sessions` : '';
    if (own.accepted.length) {
      check.pass(`${path} answered 202 for session ${opened.kasmId} (${plural(own.accepted.length, 'line')} naming it on ${[...new Set(own.accepted.map((c) => c.host))].join(', ')}${elsewhere})`);
      return;
    }
    const denials = own.denied.length ? own.denied : own.unattributed.filter((c) => c.entry.kind === 'access' && (c.entry.status === 401 || c.entry.status === 403));
    if (denials.length) {
      const first = denials.at(-1)!;
      const missingValues = warnings.some((w) => /missing required username or token/i.test(w.entry.kind === 'message' ? w.entry.message : ''));
      const page = opened.vncHtml();
      const browserSentBoth = ['username', 'session_token'].every((name) => page?.cookieHeaderNames.includes(name));
      if (id === 'api.kasm-connect' && missingValues && browserSentBoth) {
        check.fail({
          summary: `the browser sent username and session_token, but kasm_api logged kasm_connect ${first.entry.kind === 'access' ? first.entry.status : ''} "missing required username or token": a device in front of Kasm stripped the Cookie header (${first.host}: ${line(first.entry)})`,
          remediation: 'Configure the load balancer / proxy / L7 firewall in front of Kasm to pass the Cookie header on /desktop/ requests (and WebSocket upgrades) unchanged.',
          hop: 'path',
        });
      }
      check.fail({ summary: `kasm_api answered ${path} with ${first.entry.kind === 'access' ? first.entry.status : '?'} on ${first.host}: ${line(first.entry)}${warnings[0] ? ` / ${line(warnings[0].entry)}` : ''}` });
    }
    const unattributedOk = own.unattributed.filter((c) => c.entry.kind === 'access' && c.entry.status === 202);
    if (unattributedOk.length) {
      check.warn({
        summary: `${plural(unattributedOk.length, `${path} call`)} answered 202 in the session's window, but no line names a session (no Referer logged), so whether session ${opened.kasmId}'s was accepted is not shown${elsewhere}`,
        remediation: "Nothing is known to be broken: kasm_api's access lines carry no Referer here, so calls cannot be told apart by session. Check the agent's kasm_proxy logged the session's websockify (agent.websocket-log).",
      });
      return;
    }
    const unreadable = logs.filter((l) => l.unread);
    if (unreadable.length) {
      check.fail({
        summary: `kasm_api's log could not be read on ${unreadable.map((l) => `${l.host} (${l.unread!.why})`).join(', ')}, so whether ${path} reached kasm_api is not known`,
        remediation: UNREAD_FIX,
        hop: 'webapp',
        transient: unreadable.some((l) => l.unread!.timedOut),
      });
    }
    check.fail({
      summary: `no ${path} call for session ${opened.kasmId} reached kasm_api on ${logs.map((l) => l.host).join(', ')} since ${since.toISOString()}${elsewhere}`,
      remediation:
        id === 'api.kasm-connect'
          ? 'The desktop request never reached a WebApp kasm_proxy, or it could not call kasm_api: check the load balancer in front of the WebApp servers and `sudo docker logs kasm_proxy` there.'
          : "The agent never called kasm_api: check the zone's Upstream Auth Address resolves and is reachable from the agents (agent.upstream-auth-reachable).",
      hop: id === 'api.kasm-connect' ? 'path' : 'agent',
    });
  });
}

test("the agent's kasm_proxy logged the session's websockify with 101", check('agent.websocket-log', ['@smoke', '@logs']), async ({ check, servers, desktop, kasmApi, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
  const opened = await desktop.open({ closed: true });
  const status = (await kasmApi.call<{ kasm?: { hostname?: string } }>('get_kasm_status', { user_id: opened.userId, kasm_id: opened.kasmId }).catch(() => ({ body: {} as { kasm?: { hostname?: string } } }))).body;
  const agents = await servers.hosts('agent');
  const own = agents.filter((a) => a.target.host === status.kasm?.hostname);
  const candidates = own.length ? own : agents;
  const since = new Date(opened.startedAt.getTime() - config.clockSkewMs);
  const wanted = `/desktop/${opened.kasmId}/vnc/websockify`;
  let found: { host: string; line: string; status: number; bytes: number } | undefined;
  const seen: string[] = [];
  const cut = new Set<string>();
  const unreadable = new Map<string, Unread>();
  const read = async () => {
    await Promise.all(
      candidates.map(async (host) => {
        // The agent's kasm_proxy logs every session on it: the transcript keeps the session's own lines.
        const keep = (stdout: string) => maskOtherSessions(stdout, { ids: [opened.kasmId, opened.userId] });
        const result = await servers.run(host, { kind: 'docker-logs', container: 'kasm_proxy', since, tail: config.logTailLines }, check, { keep });
        if (lineCount(result.stdout) >= config.logTailLines) cut.add(host.name);
        const failed = unread(result);
        if (failed) unreadable.set(host.name, failed);
        else unreadable.delete(host.name);
        const lines = parseNginxAccessLog(result.stdout).entries.filter((e) => e.path === wanted);
        seen.push(...lines.map((e) => `${host.name}: ${e.raw}`));
        const line = lines.find((e) => e.status === 101) ?? lines[0];
        if (line && found?.status !== 101) found = { host: host.name, line: line.raw, status: line.status, bytes: line.bytes };
      }),
    );
    return found?.status === 101;
  };
  // nginx writes a WebSocket's line when it closes; the page is closed, so it comes within moments. A stream that
  // never upgraded (browser, probe and hold all refused) has no 101 line to wait for: one read decides.
  // The first read is outside the poll, so a host the suite cannot read ends the check as not judged at once.
  if (!(await read()) && opened.upgraded) await expect.poll(read, { timeout: 10_000, intervals: [250, 500, 1_000] }).toBe(true).catch(() => undefined);
  await check.evidence('kasm_proxy lines', { agents: candidates.map((c) => c.name), since: since.toISOString(), tail: config.logTailLines, ...(cut.size ? { cut: `${[...cut].join(', ')}: ${tailNote(config.logTailLines)}` } : {}), lines: [...new Set(seen)].slice(-10) });
  if (!found && unreadable.size) {
    return check.fail({
      summary: `kasm_proxy's log could not be read on ${[...unreadable].map(([host, failed]) => `${host} (${failed.why})`).join(', ')}, so whether the websockify reached the agent is not known`,
      remediation: UNREAD_FIX,
      hop: 'agent',
      transient: [...unreadable.values()].some((failed) => failed.timedOut),
    });
  }
  if (!found) {
    return check.fail({ summary: `no GET ${wanted} line in kasm_proxy on ${candidates.map((c) => c.name).join(', ')} since ${since.toISOString()}: the websocket never reached the agent` });
  }
  if (found.status !== 101) return check.fail({ summary: `the agent's kasm_proxy answered the websockify with ${found.status} (${found.host}: ${found.line})`, remediation: 'The agent refused the stream: read the agent kasm_proxy error log and api.internal-auth.', hop: 'agent' });
  check.pass(`${found.host}: websockify 101, ${found.bytes} bytes`);
});
