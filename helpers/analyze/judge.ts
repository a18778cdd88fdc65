// The guide's reading of each log, offline: what an engineer would grep for on the host, turned into findings with
// the hop, the guide section and the fix the live checks would give (helpers/diagnosis/catalog.ts).
import { CHECKS, type Hop } from '../diagnosis/catalog.ts';
import { classifyCurl, type CurlClass } from '../logs/curl.ts';
import { justRestarted, parseDockerPs } from '../logs/docker-ps.ts';
import { htmlTitle } from '../http-answer.ts';
import { parseUiExport, type UiLogRecord } from '../logs/ui-export.ts';
import { EXCEPTION, parseKasmAgentLog, type AgentStop } from '../logs/kasm-agent.ts';
import { parseKasmApiLog, type KasmApiAccess, type KasmApiEntry } from '../logs/kasm-api.ts';
import { groupByHandler, judgeHandlers, parseKasmVncLog, type HandlerFinding, type KasmVncCrash } from '../logs/kasmvnc.ts';
import { parseNginxAccessLog, type NginxAccess, type NginxError } from '../logs/nginx.ts';
import type { Format } from './route.ts';
import { plural } from '../report/text.ts';

export type Severity = 'fail' | 'warn' | 'info';

export interface Finding {
  severity: Severity;
  format: Format;
  hop: Hop;
  title: string;
  evidence: string[];
  guideSection: string;
  fix: string;
}

export interface Judged {
  findings: Finding[];
  /** Lines the format's own parser could not read after routing sent them there. */
  unparsed: string[];
}

const SAMPLES = 3;
const sample = (lines: readonly string[]): string[] => lines.slice(0, SAMPLES);

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

const describeCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([status, n]) => `${status} x${n}`)
    .join(', ');

// kasm_api's WARNING lines that explain a refused kasm_connect / internal_auth (missing cookies, stale token).
const AUTH_WARNING = /missing required username or token|Invalid token|Unauthorized access attempt|Invalid API key|expired/i;

function authCall(access: KasmApiAccess[], warnings: string[], name: 'kasm_connect' | 'internal_auth'): Finding[] {
  const calls = access.filter((a) => a.path.startsWith(`/api/${name}`));
  if (calls.length === 0) return [];
  const counts = countBy(calls, (a) => String(a.status));
  const refused = calls.filter((a) => a.status < 200 || a.status >= 300);
  const check = name === 'kasm_connect' ? CHECKS['api.kasm-connect'] : CHECKS['api.internal-auth'];
  const base = { format: 'kasm_api' as const, hop: check.hop, guideSection: check.guideSection, fix: check.remediation };
  if (refused.length === 0) return [{ ...base, severity: 'info', title: `/api/${name}/: ${describeCounts(counts)}`, evidence: [] }];
  return [
    {
      ...base,
      severity: 'fail',
      title: `/api/${name}/ refused ${refused.length} of ${calls.length} times (${describeCounts(counts)}); a working session gets 202`,
      evidence: [...sample(refused.map((a) => a.raw)), ...sample(warnings)],
    },
  ];
}

function judgeKasmApi(lines: string[]): Judged {
  const log = parseKasmApiLog(lines.join('\n'));
  const access = log.entries.filter((e): e is KasmApiAccess => e.kind === 'access');
  const warnings = log.entries.filter((e: KasmApiEntry) => e.kind === 'message' && AUTH_WARNING.test(e.message)).map((e) => e.raw);
  const findings = [...authCall(access, warnings, 'kasm_connect'), ...authCall(access, warnings, 'internal_auth')];
  const otherDenied = access.filter((a) => (a.status === 401 || a.status === 403) && !/^\/api\/(kasm_connect|internal_auth)/.test(a.path));
  if (otherDenied.length > 0 || (warnings.length > 0 && findings.every((f) => f.severity !== 'fail'))) {
    findings.push({
      severity: 'warn',
      format: 'kasm_api',
      hop: 'api',
      title: `kasm_api refused ${otherDenied.length} other requests with 401/403 and logged ${warnings.length} authentication warnings`,
      evidence: [...sample(otherDenied.map((a) => a.raw)), ...sample(warnings)],
      guideSection: 'Validate Session Cookies',
      fix: CHECKS['client.cookies'].remediation,
    });
  }
  return { findings, unparsed: log.unparsed };
}

const WEBSOCKIFY = /\/vnc\/websockify$/;
const RESOLVER = /could not be resolved|no resolver defined|host not found in upstream|no live upstreams/i;

function websockifyFinding(entries: NginxAccess[]): Finding[] {
  const ws = entries.filter((e) => WEBSOCKIFY.test(e.path));
  if (ws.length === 0) return [];
  const notUpgraded = ws.filter((e) => e.status !== 101);
  const check = CHECKS['agent.websocket-log'];
  const base = { format: 'nginx' as const, hop: check.hop, guideSection: check.guideSection };
  if (notUpgraded.length === 0) return [{ ...base, severity: 'info', title: `/vnc/websockify upgraded with 101 ${ws.length} times`, evidence: [], fix: '' }];
  return [
    {
      ...base,
      severity: 'fail',
      title: `/vnc/websockify answered ${describeCounts(countBy(notUpgraded, (e) => String(e.status)))} instead of 101 (${ws.length - notUpgraded.length} upgraded)`,
      evidence: sample(notUpgraded.map((e) => e.raw)),
      fix: CHECKS['path.websocket-upgrade'].remediation,
    },
  ];
}

function serverErrors(entries: NginxAccess[]): Finding[] {
  const failed = entries.filter((e) => e.status >= 500);
  if (failed.length === 0) return [];
  const check = CHECKS['webapp.local-connectivity'];
  return [
    {
      severity: 'fail',
      format: 'nginx',
      hop: check.hop,
      title: `kasm_proxy answered ${plural(failed.length, 'request')} with 5xx (${describeCounts(countBy(failed, (e) => String(e.status)))})`,
      evidence: sample(failed.map((e) => e.raw)),
      guideSection: check.guideSection,
      fix: check.remediation,
    },
  ];
}

function resolverErrors(errors: NginxError[]): Finding[] {
  const stale = errors.filter((e) => RESOLVER.test(e.message));
  if (stale.length === 0) return [];
  return [
    {
      severity: 'fail',
      format: 'nginx',
      hop: 'webapp',
      title: `kasm_proxy could not resolve its upstreams ${stale.length} times: its DNS view of the other Kasm containers is stale`,
      evidence: sample(stale.map((e) => e.raw)),
      guideSection: 'Confirm Local Connectivity',
      fix: 'Restart Kasm\'s services in order so kasm_proxy re-resolves the other containers: `sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`.',
    },
  ];
}

// nginx's errno for a connect to an address nobody has (ARP failed), nobody listens on, or that never answered.
const CONNECT_FAILED = /while connecting to upstream/;
const CONNECT_ERRNOS = new Set([110, 111, 113]);

/** kasm_proxy could not connect to a container it proxies to: a stale address after a restart, or the service down. */
function upstreamConnectErrors(errors: NginxError[]): Finding[] {
  const failed = errors.filter((e) => CONNECT_FAILED.test(e.message) && e.errno !== undefined && CONNECT_ERRNOS.has(e.errno));
  if (failed.length === 0) return [];
  const upstreams = [...new Set(failed.map((e) => (e.upstream ?? '').replace(/^(\w+:\/\/[^/]+).*$/, '$1')).filter(Boolean))];
  return [
    {
      severity: 'fail',
      format: 'nginx',
      hop: 'webapp',
      title: `kasm_proxy could not connect to ${upstreams.join(', ') || 'its upstream'} ${failed.length} times (${describeCounts(countBy(failed, (e) => `${e.errno}: ${e.errnoText ?? ''}`))})`,
      evidence: sample(failed.map((e) => e.raw)),
      guideSection: 'Confirm Local Connectivity',
      fix: "If that container is Up (`sudo docker ps -a`), kasm_proxy holds its old address: restart Kasm's services in order (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`); if it is not running, start Kasm and read that container's log.",
    },
  ];
}

/** nginx ended a WebSocket that stayed quiet longer than its proxy_read_timeout: an idle cut on that proxy. */
function upgradedTimeouts(errors: NginxError[]): Finding[] {
  const cut = errors.filter((e) => /upstream timed out .*while proxying upgraded connection/.test(e.message));
  if (cut.length === 0) return [];
  const check = CHECKS['path.websocket-hold'];
  return [
    {
      severity: 'fail',
      format: 'nginx',
      hop: check.hop,
      title: `nginx closed ${plural(cut.length, 'WebSocket')} that ${cut.length === 1 ? 'was' : 'were'} quiet longer than its proxy_read_timeout ("upstream timed out ... while proxying upgraded connection"): an idle timeout cuts sessions whose user does not type or move`,
      evidence: sample(cut.map((e) => e.raw)),
      guideSection: check.guideSection,
      fix: 'Raise proxy_read_timeout (and proxy_send_timeout) for /desktop/ and /websockify on the nginx that logged this, e.g. to 1800s as kasm_proxy has.',
    },
  ];
}

function judgeNginx(lines: string[]): Judged {
  const log = parseNginxAccessLog(lines.join('\n'));
  return { findings: [...websockifyFinding(log.entries), ...serverErrors(log.entries), ...resolverErrors(log.errors), ...upstreamConnectErrors(log.errors), ...upgradedTimeouts(log.errors)], unparsed: log.unparsed };
}

function judgeDockerPs(lines: string[]): Judged {
  const ps = parseDockerPs(lines.join('\n'));
  const bad = ps.containers.filter((c) => c.state !== 'up' || c.health === 'unhealthy');
  const starting = ps.containers.filter((c) => c.state === 'up' && c.health === 'starting');
  const check = CHECKS['webapp.containers'];
  const base = { format: 'docker_ps' as const, hop: check.hop, guideSection: check.guideSection, fix: check.remediation };
  const findings: Finding[] = [];
  const rows = (list: typeof ps.containers) => list.map((c) => c.raw).slice(0, 12);
  if (bad.length > 0) findings.push({ ...base, severity: 'fail', title: `${bad.length} of ${plural(ps.containers.length, 'container')} ${bad.length === 1 ? 'is' : 'are'} not Up and healthy: ${bad.map((c) => `${c.names || c.id} (${c.status})`).join(', ')}${bad.some((c) => c.state === 'restarting') ? ': Restarting is a restart loop' : ''}`, evidence: rows(bad) });
  // Up a few seconds in a container created long ago has just restarted: once is a restart, again and again a loop.
  const fresh = ps.containers.filter((c) => !bad.includes(c) && justRestarted(c));
  if (fresh.length > 0) {
    const all = fresh.length === ps.containers.length && fresh.length > 1;
    findings.push({
      ...base,
      severity: 'warn',
      title: all
        ? `every container (${fresh.length}) was created ${fresh[0]!.created} but is Up less than a minute: all were just restarted together (Docker, the host or Kasm restarted), or the host's clock jumped; run \`sudo docker ps\` again: Up times that stay short are a restart loop`
        : `${fresh.map((c) => `${c.names || c.id} (created ${c.created}, ${c.status})`).join(', ')} just restarted: run \`sudo docker ps\` again; if it keeps restarting, read \`sudo docker logs --tail 100 <name>\``,
      evidence: rows(fresh),
    });
  }
  const stillStarting = starting.filter((c) => !fresh.includes(c));
  if (stillStarting.length > 0) findings.push({ ...base, severity: 'warn', title: `still starting: ${stillStarting.map((c) => c.names).join(', ')}`, evidence: rows(stillStarting) });
  if (findings.length === 0 && ps.containers.length > 0) findings.push({ ...base, severity: 'info', title: `${plural(ps.containers.length, 'container')} Up`, evidence: [], fix: '' });
  return { findings, unparsed: ps.unparsed };
}

const SEVERITY: Record<HandlerFinding['severity'], Severity> = { fail: 'fail', warn: 'warn', info: 'info' };
const VNC_CHECK = CHECKS['session.stream'];

function handlerFix(finding: HandlerFinding): string {
  if (/Basic auth failed/.test(finding.message)) return 'The agent\'s kasm_proxy injects the per-session Authorization header: destroy the session and start a new one; if it persists, read the agent\'s kasm_proxy log for the request.';
  if (/non-SSL connection disallowed/.test(finding.message)) return 'KasmVNC takes only TLS here: the agent\'s kasm_proxy (or whatever reaches the session container) must connect with https://, as Kasm\'s own proxy config does.';
  if (/blacklisted/.test(finding.message)) return 'KasmVNC blocks an address after repeated failed logins: fix the credentials that fail first (the Basic auth lines), then start a new session.';
  if (/rejected the request/.test(finding.message)) return 'KasmVNC refused the request itself: the quoted line says why; a device in the path that changes the request (method, headers) is the usual cause.';
  if (/could not identify/.test(finding.message)) return 'A device in the path (L7 firewall, proxy, client security software) altered the websocket handshake: let the Upgrade, Connection and Sec-WebSocket-* headers through unchanged.';
  return '';
}

const TLS_ALERT = /^[0-9A-F]+:error:[0-9A-F]+:SSL routines:.*?(?:alert ([a-z ]+?))?:.*SSL alert number (\d+)/;

function crashFinding(crash: KasmVncCrash, version: string | undefined): Finding {
  // No signal, a fatal error: Xvnc did not crash, it refused to run (a port taken, no GPU render node).
  const fatal = crash.lines.findIndex((l) => /^Fatal server error:/.test(l.trim()));
  if (crash.signal === null && fatal >= 0) {
    const reason = crash.lines.slice(fatal + 1).find((l) => /^\(EE\) \S/.test(l.trim()))?.trim().replace(/^\(EE\) /, '') ?? 'no reason logged';
    return {
      severity: 'fail',
      format: 'kasmvnc',
      hop: 'session',
      title: `Xvnc stopped with a fatal server error: ${reason}${version ? `; ${version}` : ''}`,
      evidence: crash.lines.filter((l) => l.trim() && l.trim() !== '(EE)').slice(0, 12),
      guideSection: 'KasmVNC Troubleshooting',
      fix: /bind socket|Address already in use/i.test(reason)
        ? 'Another process holds KasmVNC\'s port (host networking, or a second desktop in the container): stop it or give KasmVNC another port, then start the session again.'
        : 'Xvnc could not start in this container: fix what the line names (a device such as /dev/dri for GPU images, a setting), then start a new session.',
    };
  }
  const signal = crash.signal === null ? 'an unknown signal' : `signal ${crash.signal}${crash.signalName ? ` (${crash.signalName})` : ''}`;
  const restart = crash.restarted ? 'it restarted afterwards' : 'no restart seen after it';
  return {
    severity: 'fail',
    format: 'kasmvnc',
    hop: 'session',
    title: `KasmVNC crashed with ${signal}${crash.aborting ? ', Server aborting' : ''}; ${crash.frames.length} backtrace frames; ${restart}${version ? `; ${version}` : ''}`,
    evidence: crash.lines.slice(0, 12),
    guideSection: 'KasmVNC Troubleshooting',
    fix: 'Send the backtrace and `sudo docker exec <session container> Xvnc -version` to Kasm support; look for a device in the path that rewrites requests (very large cookies, off-spec websocket headers).',
  };
}

function judgeKasmVnc(all: string[]): Judged {
  const alerts = all.filter((l) => TLS_ALERT.test(l.trim()));
  const lines = all.filter((l) => !alerts.includes(l));
  const log = parseKasmVncLog(lines.join('\n'));
  const groups = groupByHandler(log.entries);
  const findings: Finding[] = judgeHandlers(groups).map((h) => ({
    severity: SEVERITY[h.severity],
    format: 'kasmvnc',
    hop: h.hop ?? 'session',
    title: h.message,
    // The lines that explain it first (the auth or rejection line), then the handler's others for context.
    evidence: sample([...new Set([...(h.lines ?? []), ...(groups.find((g) => g.id === h.handler)?.lines.map((l) => l.raw) ?? [])])]),
    guideSection: VNC_CHECK.guideSection,
    fix: handlerFix(h),
  }));
  findings.push(...log.crashes.map((c) => crashFinding(c, log.versions.at(-1))));
  if (alerts.length) {
    const m = TLS_ALERT.exec(alerts[0]!.trim());
    findings.push({
      severity: 'warn',
      format: 'kasmvnc',
      hop: 'client',
      title: `${plural(alerts.length, 'TLS client')} aborted the handshake with KasmVNC (SSL alert ${m?.[2] ?? '?'}${m?.[1] ? `: ${m[1]}` : ''}): the browser does not trust the certificate KasmVNC presents`,
      evidence: sample(alerts),
      guideSection: VNC_CHECK.guideSection,
      fix: "Give KasmVNC a certificate the browsers trust (or trust its CA on the clients); a browser that rejects it retries, so sessions may still open but slowly or not at all.",
    });
  }
  if (groups.length > 0) {
    const counts = describeCounts(countBy(groups, (g) => g.result));
    findings.push({ severity: 'info', format: 'kasmvnc', hop: 'session', title: `${plural(groups.length, 'websocket handler')}: ${counts}`, evidence: [], guideSection: VNC_CHECK.guideSection, fix: '' });
  }
  return { findings, unparsed: log.unparsed };
}

const AGENT_SECTION = 'Confirm Local Connectivity';

function stopLine(stop: AgentStop): string {
  if (stop.kind === 'terminated') return 'Terminated (killed)';
  return stop.exception ?? stop.lines.find((l) => /Failed to execute script/.test(l)) ?? stop.lines[0] ?? '';
}

/** kasm_agent's own log: each stop (a traceback, the launcher's failure, a kill) and whether it keeps coming back. */
function judgeKasmAgent(lines: string[]): Judged {
  const log = parseKasmAgentLog(lines);
  const findings: Finding[] = [];
  const base = { format: 'kasm_agent' as const, hop: 'agent' as const, guideSection: AGENT_SECTION };
  if (log.stops.length) {
    const first = log.stops[0]!;
    const loop = log.starts > 1 || log.stops.length > 1;
    const same = log.stops.every((s) => stopLine(s) === stopLine(first));
    findings.push({
      ...base,
      severity: 'fail',
      title: `kasm_agent stopped ${plural(log.stops.length, 'time')}${log.starts ? ` in ${plural(log.starts, 'start')}` : ''}${loop ? ': a crash loop' : ''}: ${stopLine(first)}${same || log.stops.length === 1 ? '' : ` (and ${log.stops.length - 1} other stops)`}`,
      evidence: sample([...new Set(log.stops.flatMap((s) => [s.exception ?? '', ...s.lines.filter((l) => /Failed to execute script|^Terminated$/.test(l.trim()))]).filter(Boolean))]),
      fix: first.kind === 'terminated'
        ? 'Something kills kasm_agent right after it starts: read `sudo docker inspect kasm_agent` (OOMKilled, restart policy) and the host\'s `dmesg`; then `sudo docker logs --tail 200 kasm_agent` for the last lines before it.'
        : 'kasm_agent exits on the exception above at every start, so the agent never checks in: search Kasm\'s issues for that exception, fix what it names (its config file, a container it trips over), and restart the agent (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`).',
    });
  }
  const heartbeat = log.problems.filter((l) => /heartbeat/i.test(l));
  const other = log.problems.filter((l) => !heartbeat.includes(l));
  if (heartbeat.length) {
    const to = [...new Set(heartbeat.map((l) => /heartbeat to (\S+?):/i.exec(l)?.[1]).filter(Boolean))];
    const why = heartbeat[0]!.replace(/^.*?heartbeat to \S+?: /i, '').replace(/^.*?\] \S+: /, '').trim();
    findings.push({ ...base, severity: 'warn', title: `kasm_agent could not send its heartbeat${to.length ? ` to ${to.join(', ')}` : ''} (${plural(heartbeat.length, 'time')}): ${why}`, evidence: sample(heartbeat), fix: 'Each manager address the agent lists (Infrastructure > Docker Agents > the agent, and the zone\'s manager addresses) must resolve and answer from the agent host: remove or fix the one that refuses.' });
  }
  if (other.length) findings.push({ ...base, severity: 'warn', title: `kasm_agent logged ${plural(other.length, 'warning or error')}: ${other[0]!.replace(/^.*?\] \S+: /, '').trim().slice(0, 160)}`, evidence: sample(other), fix: 'Read the lines around them in `sudo docker logs kasm_agent`.' });
  if (!findings.length && lines.length) findings.push({ ...base, severity: 'info', title: `kasm_agent: ${plural(log.starts, 'start')}, no stop, no warning in ${plural(lines.length, 'line')}`, evidence: [], fix: '' });
  return { findings, unparsed: [] };
}

function uiExportHop(r: UiLogRecord): Hop {
  const app = r.fields.application ?? '';
  const message = r.fields.message ?? '';
  if (/agent/i.test(app) || /No Agent slots available|No Agent can be contacted/i.test(message)) return 'agent';
  if (/gateway|guac|proxy|share/i.test(app)) return 'webapp';
  return 'api';
}

/** The message's point: a traceback's exception line (with the function it was raised in), else its first line. */
function uiExportSummary(message: string): string {
  const lines = message.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  if (!lines.some((l) => /^Traceback \(most recent call last\):/.test(l.trim()))) return (lines[0] ?? '').trim().slice(0, 200);
  const exception = [...lines].reverse().find((l) => EXCEPTION.test(l.trim()))?.trim() ?? lines.at(-1)!.trim();
  const where = [...lines].reverse().find((l) => /^\s*File ".*", line \d+, in \S+/.test(l))?.match(/in (\S+)\s*$/)?.[1];
  return `${exception}${where ? ` (raised in ${where})` : ''}`;
}

/** The Kasm UI's log export: each ERROR or WARNING record, by the application that logged it. */
function judgeUiExport(lines: string[]): Judged {
  const records = parseUiExport(lines);
  const seen = new Map<string, { record: UiLogRecord; count: number }>();
  for (const record of records) {
    const level = (record.fields.levelname ?? '').toUpperCase();
    if (!['ERROR', 'CRITICAL', 'WARNING'].includes(level)) continue;
    const key = `${record.fields.application}|${level}|${uiExportSummary(record.fields.message ?? '')}`;
    const found = seen.get(key);
    if (found) found.count += 1;
    else seen.set(key, { record, count: 1 });
  }
  const findings: Finding[] = [...seen.values()].map(({ record, count }) => {
    const level = (record.fields.levelname ?? '').toUpperCase();
    const app = record.fields.application || 'an application';
    const summary = uiExportSummary(record.fields.message ?? '');
    const hop = uiExportHop(record);
    return {
      severity: level === 'WARNING' ? 'warn' : 'fail',
      format: 'ui_export',
      hop,
      title: `${app} logged ${level}${count > 1 ? ` ${count} times` : ''}${record.fields.host ? ` on ${record.fields.host}` : ''}: ${summary}`,
      // The line that holds the summary first (a traceback's exception comes last in its message), then the message.
      evidence: sample([...new Set([...record.lines.filter((l) => l.includes(summary.replace(/ \(raised in \S+\)$/, '').slice(0, 60))), ...record.lines.filter((l) => /message/.test(l) || !/^\s*"?\w+"?\s*:/.test(l))])]),
      guideSection: hop === 'agent' ? 'Confirm Local Connectivity' : CHECKS['api.health'].guideSection,
      fix:
        hop === 'agent'
          ? 'Admin > Infrastructure > Docker Agents: an agent must be enabled, checked in, and have the cores, memory and GPU the workspace asks for (and be in a zone the workspace may use).'
          : hop === 'webapp'
            ? `${app} runs on the WebApp server: fix what its message names (an address it cannot reach, a name that resolves to loopback), then restart it.`
            : 'kasm_api failed on this request: the exception and the function it was raised in name the cause; search Kasm\'s issues for them, and read `sudo docker logs --since 10m kasm_api` around the time.',
    };
  });
  if (!findings.length && records.length) findings.push({ severity: 'info', format: 'ui_export', hop: 'api', title: `${plural(records.length, 'log record')} from the UI's export, none an error or warning`, evidence: [], guideSection: CHECKS['api.health'].guideSection, fix: '' });
  return { findings, unparsed: [] };
}

/** `docker compose` progress: a container compose could not start (unhealthy, an error), or a clean start or stop. */
function judgeCompose(lines: string[]): Judged {
  const state = new Map<string, string>();
  for (const line of lines) {
    const m = /Container (\S+)\s+(\S+)/.exec(line);
    if (m) state.set(m[1]!, m[2]!);
  }
  const dependency = lines.filter((l) => /^dependency failed to start: container \S+/.test(l.trim()));
  const errors = lines.filter((l) => /Container \S+\s+(?:Error|Unhealthy)\b/.test(l));
  const base = { format: 'compose' as const, hop: 'webapp' as const, guideSection: CHECKS['webapp.containers'].guideSection };
  if (dependency.length || errors.length) {
    const sick = [...new Set(dependency.map((l) => /container (\S+)/.exec(l)?.[1]).filter(Boolean))];
    return {
      findings: [{
        ...base,
        severity: 'fail',
        title: sick.length ? `${sick.join(', ')} did not become healthy, so docker compose stopped starting Kasm: the containers that depend on ${sick.length === 1 ? 'it' : 'them'} (kasm_proxy among them) never started` : `docker compose could not start ${errors.map((l) => /Container (\S+)/.exec(l)?.[1]).join(', ')}`,
        evidence: sample([...dependency, ...errors]),
        fix: `Read \`sudo docker logs --tail 100 ${sick[0] ?? '<container>'}\` for why its health check fails (often the database or a config file it waits for), then start Kasm again (\`sudo /opt/kasm/bin/start\`).`,
      }],
      unparsed: [],
    };
  }
  const states = [...state.values()];
  const summary = states.length && states.every((v) => v === 'Stopped' || v === 'Removed') ? `${plural(states.length, 'container')} stopped cleanly` : `${plural(states.length, 'container')}: ${describeCounts(countBy(states, (v) => v))}`;
  return { findings: [{ ...base, severity: 'info', title: `docker compose: ${summary}`, evidence: [], fix: '' }], unparsed: [] };
}

/** An HTML error page: its status and server, said in words (never read as access lines). */
function judgeHtmlPage(lines: string[]): Judged {
  const page = lines.join('\n');
  const title = htmlTitle(page) ?? 'an HTML page';
  const status = Number(/\b([1-5]\d\d)\b/.exec(title)?.[1] ?? NaN);
  const server = /<center>\s*([a-z][\w.-]*)(?:\/[\d.]+)?\s*<\/center>|<address>([^<]+)<\/address>/i.exec(page);
  const from = server ? ` from ${(server[1] ?? server[2] ?? '').trim()}` : '';
  const proof = lines.filter((l) => /<title>|<h1>/i.test(l)).slice(0, 2);
  if (status >= 502 && status <= 504) {
    return {
      findings: [{ severity: 'fail', format: 'html_page', hop: 'api', title: `${title}${from} (an HTML error page): the proxy got no answer${status === 504 ? ' in time' : ''} from the service behind it (kasm_api, for /api/ calls)`, evidence: proof, guideSection: CHECKS['api.health'].guideSection, fix: 'On the WebApp servers: `sudo docker ps -a` (kasm_api Up?) and `sudo docker logs --since 10m kasm_api` for what the call waited on; a 504 on session requests often waits on an agent or its Docker daemon.' }],
      unparsed: [],
    };
  }
  const severity = status >= 400 ? 'warn' : 'info';
  return { findings: [{ severity, format: 'html_page', hop: 'path', title: `${title}${from} (an HTML page)`, evidence: proof, guideSection: CHECKS['api.health'].guideSection, fix: severity === 'info' ? '' : 'Something in front of Kasm answered with its own page: check the URL and the load balancer or proxy that served it.' }], unparsed: [] };
}

function curlRun(line: string): CurlClass | null {
  const error = /^curl: \((\d+)\)/.exec(line.trim());
  if (error) return classifyCurl({ exitCode: Number(error[1]), stdout: '', stderr: line });
  if (line.trim().startsWith('{')) return classifyCurl({ exitCode: 0, stdout: `${line.trim()}\n200`, stderr: '' });
  return null;
}

function judgeCurl(lines: string[]): Judged {
  const findings: Finding[] = [];
  for (const line of lines) {
    const verdict = curlRun(line);
    if (!verdict) continue;
    const check = verdict.code === 'DNS' ? CHECKS['agent.upstream-auth-reachable'] : CHECKS['webapp.agent-reachable'];
    findings.push({
      severity: verdict.ok ? 'info' : 'fail',
      format: 'curl',
      hop: check.hop,
      title: `curl ${verdict.code}: ${verdict.meaning}`,
      evidence: [line],
      guideSection: check.guideSection,
      fix: verdict.ok ? '' : check.remediation,
    });
  }
  return { findings, unparsed: [] };
}

export const JUDGES: Record<Format, (lines: string[]) => Judged> = {
  kasm_api: judgeKasmApi,
  kasm_agent: judgeKasmAgent,
  html_page: judgeHtmlPage,
  ui_export: judgeUiExport,
  compose: judgeCompose,
  nginx: judgeNginx,
  kasmvnc: judgeKasmVnc,
  docker_ps: judgeDockerPs,
  curl: judgeCurl,
};
