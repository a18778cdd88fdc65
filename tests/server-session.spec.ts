// Validate Session Authorization and the websocket at the agent, for a fresh session opened in the browser:
// kasm_api's kasm_connect and internal_auth lines, and the agent kasm_proxy's websockify 101 line (nginx writes it
// when the stream closes, so the page is closed before the logs are read).
import { check, expect, test, type Check } from '../helpers/fixtures/index.ts';
import { skipWithoutHosts } from '../helpers/fixtures/servers.ts';
import { judgeApiCall, wantsAgentLine } from '../helpers/judge/api-call.ts';
import { judgeWebsocketLog } from '../helpers/judge/websocket-log.ts';
import { applyVerdict } from '../helpers/fixtures/check.ts';
import { sessionCalls } from '../helpers/judge/session-calls.ts';
import { resolveIdentity } from '../helpers/fixtures/session.ts';
import { kasmIdsIn, parseKasmApiLog, type KasmApiEntry } from '../helpers/logs/kasm-api.ts';
import { maskOtherSessions, namesOtherSession, type OwnSession } from '../helpers/logs/kasm-id.ts';
import { parseNginxAccessLog } from '../helpers/logs/nginx.ts';
import type { Servers } from '../helpers/fixtures/servers.ts';
import type { CommandResult } from '../helpers/probes/ssh.ts';
import type { OpenedDesktop } from '../helpers/fixtures/desktop.ts';
import type { KasmConfig } from '../helpers/config.ts';
import type { ServerHost } from '../helpers/inventory.ts';

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
    const page = opened.vncHtml();
    const evidence = {
      check: id,
      path,
      kasmId: opened.kasmId,
      since,
      hosts: logs.map((l) => l.host),
      calls: own,
      warnings,
      browserSentBoth: ['username', 'session_token'].every((name) => page?.cookieHeaderNames.includes(name)),
      unreadable: logs.flatMap((l) => (l.unread ? [{ host: l.host, why: l.unread.why, timedOut: l.unread.timedOut }] : [])),
    };
    let verdict = judgeApiCall(evidence);
    // The agent's 101 line is written when the stream closes: read only when the verdict needs it.
    if (wantsAgentLine(evidence, verdict)) {
      const closed = await desktop.open({ closed: true });
      const agent = await test.step("agent: docker logs kasm_proxy for the session's websockify 101", () => agentWebsockify({ servers, check, config, opened: closed, candidates: undefined }));
      if (agent.found?.status === 101) {
        await check.evidence("agent kasm_proxy's websockify line", `${agent.found.host}: ${agent.found.line}`);
        verdict = judgeApiCall({ ...evidence, agentServed: { host: agent.found.host, line: agent.found.line } });
      }
    }
    applyVerdict(check, verdict);
  });
}

interface AgentLine {
  host: string;
  line: string;
  status: number;
  bytes: number;
}

/**
 * The agent kasm_proxy's access line for the session's websockify, on the agent Kasm says runs it (or every agent),
 * since the session started: the 101 line when there is one.
 */
async function agentWebsockify(o: { servers: Servers; check: Check; config: KasmConfig; opened: OpenedDesktop; candidates: ServerHost[] | undefined }) {
  const since = new Date(o.opened.startedAt.getTime() - o.config.clockSkewMs);
  const wanted = `/desktop/${o.opened.kasmId}/vnc/websockify`;
  const candidates = o.candidates ?? (await o.servers.hosts('agent'));
  const state = { found: undefined as AgentLine | undefined, seen: [] as string[], cut: new Set<string>(), unreadable: new Map<string, Unread>(), since, wanted, candidates };
  const read = async () => {
    await Promise.all(
      candidates.map(async (host) => {
        // The agent's kasm_proxy logs every session on it: the transcript keeps the session's own lines.
        const keep = (stdout: string) => maskOtherSessions(stdout, { ids: [o.opened.kasmId, o.opened.userId] });
        const result = await o.servers.run(host, { kind: 'docker-logs', container: 'kasm_proxy', since, tail: o.config.logTailLines }, o.check, { keep });
        if (lineCount(result.stdout) >= o.config.logTailLines) state.cut.add(host.name);
        const failed = unread(result);
        if (failed) state.unreadable.set(host.name, failed);
        else state.unreadable.delete(host.name);
        const lines = parseNginxAccessLog(result.stdout).entries.filter((e) => e.path === wanted);
        state.seen.push(...lines.map((e) => `${host.name}: ${e.raw}`));
        const line = lines.find((e) => e.status === 101) ?? lines[0];
        if (line && state.found?.status !== 101) state.found = { host: host.name, line: line.raw, status: line.status, bytes: line.bytes };
      }),
    );
    return state.found?.status === 101;
  };
  // nginx writes a WebSocket's line when it closes; the page is closed, so it comes within moments. A stream that
  // never upgraded (browser, probe and hold all refused) has no 101 line to wait for: one read decides.
  // The first read is outside the poll, so a host the suite cannot read ends the check as not judged at once.
  if (!(await read()) && o.opened.upgraded) await expect.poll(read, { timeout: 10_000, intervals: [250, 500, 1_000] }).toBe(true).catch(() => undefined);
  return state;
}

test("the agent's kasm_proxy logged the session's websockify with 101", check('agent.websocket-log', ['@smoke', '@logs']), async ({ check, servers, desktop, kasmApi, config }, testInfo) => {
  skipWithoutHosts(await servers.hosts('agent'), 'agent', testInfo);
  const opened = await desktop.open({ closed: true });
  const status = (await kasmApi.call<{ kasm?: { hostname?: string } }>('get_kasm_status', { user_id: opened.userId, kasm_id: opened.kasmId }).catch(() => ({ body: {} as { kasm?: { hostname?: string } } }))).body;
  const agents = await servers.hosts('agent');
  const own = agents.filter((a) => a.target.host === status.kasm?.hostname);
  const { found, seen, cut, unreadable, since, wanted, candidates } = await agentWebsockify({ servers, check, config, opened, candidates: own.length ? own : agents });
  await check.evidence('kasm_proxy lines', { agents: candidates.map((c) => c.name), since: since.toISOString(), tail: config.logTailLines, ...(cut.size ? { cut: `${[...cut].join(', ')}: ${tailNote(config.logTailLines)}` } : {}), lines: [...new Set(seen)].slice(-10) });
  applyVerdict(check, judgeWebsocketLog({ wanted, agents: candidates.map((c) => c.name), since, found, unreadable: [...unreadable].map(([host, failed]) => ({ host, ...failed })) }));
});
