// The guide's reading of each log, offline: what an engineer would grep for on the host, turned into findings with
// the hop, the guide section and the fix the live checks would give (helpers/diagnosis/catalog.ts).
import { CHECKS, type Hop } from '../diagnosis/catalog.ts';
import { classifyCurl, type CurlClass } from '../logs/curl.ts';
import { parseDockerPs } from '../logs/docker-ps.ts';
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
  if (bad.length > 0) findings.push({ ...base, severity: 'fail', title: `${bad.length} of ${plural(ps.containers.length, 'container')} ${bad.length === 1 ? 'is' : 'are'} not Up and healthy: ${bad.map((c) => `${c.names} (${c.status})`).join(', ')}`, evidence: sample(bad.map((c) => c.raw)) });
  if (starting.length > 0) findings.push({ ...base, severity: 'warn', title: `still starting: ${starting.map((c) => c.names).join(', ')}`, evidence: [] });
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

function crashFinding(crash: KasmVncCrash, version: string | undefined): Finding {
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

function judgeKasmVnc(lines: string[]): Judged {
  const log = parseKasmVncLog(lines.join('\n'));
  const groups = groupByHandler(log.entries);
  const findings: Finding[] = judgeHandlers(groups).map((h) => ({
    severity: SEVERITY[h.severity],
    format: 'kasmvnc',
    hop: 'session',
    title: h.message,
    // The lines that explain it first (the auth or rejection line), then the handler's others for context.
    evidence: sample([...new Set([...(h.lines ?? []), ...(groups.find((g) => g.id === h.handler)?.lines.map((l) => l.raw) ?? [])])]),
    guideSection: VNC_CHECK.guideSection,
    fix: handlerFix(h),
  }));
  findings.push(...log.crashes.map((c) => crashFinding(c, log.versions.at(-1))));
  if (groups.length > 0) {
    const counts = describeCounts(countBy(groups, (g) => g.result));
    findings.push({ severity: 'info', format: 'kasmvnc', hop: 'session', title: `${plural(groups.length, 'websocket handler')}: ${counts}`, evidence: [], guideSection: VNC_CHECK.guideSection, fix: '' });
  }
  return { findings, unparsed: log.unparsed };
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
  nginx: judgeNginx,
  kasmvnc: judgeKasmVnc,
  docker_ps: judgeDockerPs,
  curl: judgeCurl,
};
