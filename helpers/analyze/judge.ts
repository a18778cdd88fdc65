// The guide's reading of each log, offline: what an engineer would grep for on the host, turned into findings with
// the hop, the guide section and the fix the live checks would give (helpers/diagnosis/catalog.ts).
import { CHECKS, type Hop } from '../diagnosis/catalog.ts';
import { judgeHealthCurl, judgeUpstreamAuth, upstreamRoute, type CurlRun } from '../judge/reachability.ts';
import { parseCurlCommand, type CurlCommand } from '../logs/curl.ts';
import { originOf, parseBrowserCopy, type CopiedFetch } from '../logs/browser.ts';
import { missingFile, parseInstaller } from '../logs/installer.ts';
import { parseKubectl } from '../logs/kubectl.ts';
import { parseDockerPs } from '../logs/docker-ps.ts';
import { judgeContainers, rolesShown } from '../judge/host-config.ts';
import type { TargetOutcome } from '../fixtures/check.ts';
import { htmlTitle } from '../http-answer.ts';
import { parseUiExport, type UiLogRecord } from '../logs/ui-export.ts';
import { EXCEPTION, parseKasmAgentLog, type AgentStop } from '../logs/kasm-agent.ts';
import { parseKasmApiLog, slotSearch, tracebackIn, type KasmApiAccess, type KasmApiEntry, type KasmApiTraceback, type SlotShortage } from '../logs/kasm-api.ts';
import { closeKind, explainDisplayLock, explainStartFailure, groupByHandler, IMAGE_AUTH_FIX, judgeHandlers, parseKasmVncLog, readConnections, type CloseKind, type HandlerAuth, type HandlerFinding, type KasmVncConnection, type KasmVncCrash, type KasmVncDisplayLock, type KasmVncStartFailure } from '../logs/kasmvnc.ts';
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

/** The first item of each key, in the order first seen, with how many items share its key. */
function firstOfEach<T>(items: readonly T[], key: (item: T) => string): Array<{ first: T; count: number }> {
  const seen = new Map<string, { first: T; count: number }>();
  for (const item of items) {
    const k = key(item);
    const found = seen.get(k);
    if (found) found.count += 1;
    else seen.set(k, { first: item, count: 1 });
  }
  return [...seen.values()];
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Items for a title, the first `max` of them and how many more. */
const listed = (items: readonly string[], max: number): string => (items.length > max ? `${items.slice(0, max).join(', ')} and ${items.length - max} more` : items.join(', '));

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
  findings.push(...slotFindings(log.entries), ...tracebackFindings(log.entries));
  return { findings, unparsed: log.unparsed };
}

function remainingText(short: SlotShortage): string {
  if (!short.remaining) return '';
  const bytes = short.resource === 'memory' && /^\d{7,}$/.test(short.remaining) ? Number(short.remaining) : null;
  return bytes === null ? `, ${short.remaining} left` : `, ${Math.round(bytes / 2 ** 20)} MiB left`;
}

/** kasm_api looked for a slot for a session and found an agent server without room (its DEBUG lines). */
function slotFindings(entries: KasmApiEntry[]): Finding[] {
  const { servers, short } = slotSearch(entries);
  if (short.length === 0) return [];
  const without = new Set(short.map((s) => s.server));
  const others = servers.filter((server) => !without.has(server));
  const reasons = listed(short.map((s) => `${s.server} (${s.resource ? `not enough ${s.resource}${remainingText(s)}` : 'no slot left'})`), 5);
  const resources = [...new Set(short.map((s) => s.resource).filter(Boolean))].join(' and ') || 'memory, cores or GPUs';
  const check = CHECKS['api.session-create'];
  return [
    {
      // Another server looked at may have had room: then the session may still have been placed.
      severity: others.length ? 'warn' : 'fail',
      format: 'kasm_api',
      hop: 'agent',
      title: others.length
        ? `kasm_api found no slot on ${plural(short.length, 'agent server')}: ${reasons}; it also looked at ${plural(others.length, 'other server')}`
        : `kasm_api found no agent server with room for the session: ${reasons}; the user gets "No resources are available"`,
      evidence: sample(short.flatMap((s) => s.lines)),
      guideSection: check.guideSection,
      fix: `The agent needs free ${resources} for the Workspace's settings: stop sessions or give the agent host more, or lower the Workspace's Cores/Memory (Admin > Workspaces > Edit), or override the agent's cores and memory (Admin > Infrastructure > Docker Agents); Kasm's "No Resources Available" troubleshooting page covers each case.`,
    },
  ];
}

interface DatabaseFailure {
  server: string;
  reason: string;
}

/** libpq's connection errors, old (`could not connect to server: ...`, then `Is the server running on host ...`) and new. */
function databaseFailure(tb: KasmApiTraceback): DatabaseFailure | null {
  if (!/OperationalError/.test(tb.exception)) return null;
  const message = tb.exception.replace(/^[\w.]+: (?:\([\w.]+\) )?/, '');
  const text = [message, ...tb.detail].join(' ');
  const modern = /connection to server at "([^"]+)"(?: \(([^)]+)\))?, port (\d+) failed: (.+)$/.exec(message);
  if (modern) return { server: `${modern[1]}${modern[2] ? ` (${modern[2]})` : ''} port ${modern[3]}`, reason: modern[4]!.trim() };
  const unresolved = /could not translate host name "([^"]+)" to address: ([^\n]+)/.exec(text);
  if (unresolved) return { server: unresolved[1]!, reason: `the name does not resolve (${unresolved[2]!.trim()})` };
  const password = /password authentication failed for user "([^"]+)"/.exec(text);
  if (password) return { server: 'the database', reason: `password authentication failed for user "${password[1]}"` };
  const at = text.indexOf('could not connect to server: ');
  if (at < 0) return null;
  const rest = text.slice(at + 'could not connect to server: '.length);
  const cut = rest.indexOf(' Is the server running');
  const host = /running on host "([^"]+)"(?: \(([^)]+)\))?/.exec(rest);
  const port = /connections on port (\d+)/.exec(rest);
  const server = host ? `${host[1]}${host[2] ? ` (${host[2]})` : ''}${port ? ` port ${port[1]}` : ''}` : 'the database server';
  return { server, reason: (cut >= 0 ? rest.slice(0, cut) : rest).trim() };
}

function databaseFix(reason: string): string {
  if (/no route to host|timed out|timeout expired/i.test(reason)) {
    return "Kasm's containers cannot reach kasm_db on their Docker network: a host firewall (ufw, firewalld, or iptables rules loaded after Docker's) rejects the traffic. Check kasm_db is Up and listening (`sudo docker logs kasm_db`: `listening on IPv4 address \"0.0.0.0\", port 5432`), test from another container (`sudo docker run --rm --network kasm_default_network busybox nc -zv db 5432`), then fix the firewall (see Host Based Firewalls), restart Docker and run the install or start Kasm again.";
  }
  if (/refused/i.test(reason)) return 'Nothing listens on the database port: kasm_db is not running or still starting (`sudo docker ps -a`, `sudo docker logs --tail 100 kasm_db`); for a remote database, check its host and port in /opt/kasm/current/conf/app/api.app.config.yaml.';
  if (/resolve/i.test(reason)) return 'The database\'s name does not resolve: kasm_db is not running or not on kasm_default_network (`sudo docker ps -a`); for a remote database, check the host in /opt/kasm/current/conf/app/api.app.config.yaml.';
  if (/password/i.test(reason)) return 'The database password in /opt/kasm/current/conf/app/api.app.config.yaml is not the one kasm_db was created with: put the right one there (or re-run the install), then restart Kasm.';
  return 'Read `sudo docker logs --tail 100 kasm_db` and check the database settings in /opt/kasm/current/conf/app/api.app.config.yaml.';
}

/** The exception's line first (the traceback's point), then the line the traceback followed and its message. */
function tracebackEvidence(tb: KasmApiTraceback): string[] {
  const at = tb.lines.findIndex((l) => l.trim() === tb.exception);
  return sample([tb.lines[at] ?? tb.exception, tb.lines[0]!, ...(at >= 0 ? tb.lines.slice(at + 1, at + 1 + tb.detail.length) : [])]);
}

function tracebackFinding(tb: KasmApiTraceback, entry: KasmApiEntry, count: number): Finding {
  const times = count > 1 ? ` ${count} times` : '';
  const after = entry.kind === 'message' && entry.message.trim() && !/^\[[^\]]+\] HTTP$/.test(entry.message.trim()) ? ` (after "${entry.message.trim().slice(0, 80)}")` : '';
  const severity: Severity = entry.level === 'WARNING' ? 'warn' : 'fail';
  const database = databaseFailure(tb);
  if (database) {
    return {
      severity,
      format: 'kasm_api',
      hop: 'api',
      title: `could not connect to Kasm's PostgreSQL database at ${database.server}${times}: ${database.reason}${after}`,
      evidence: tracebackEvidence(tb),
      guideSection: /no route to host|timed out|timeout expired/i.test(database.reason) ? 'Host Based Firewalls' : 'Server Configuration Issues',
      fix: databaseFix(database.reason),
    };
  }
  // onelogin's SAML library refuses a response that did not come as an HTTP-POST form (workspaces-issues #608).
  if (/OneLogin_Saml2_Error/.test(tb.exception) && /SAML Response not found/i.test(tb.exception)) {
    return {
      severity,
      format: 'kasm_api',
      hop: 'client',
      title: `Kasm's SAML login endpoint got no SAML response${times}: the browser opened the ACS URL without the identity provider's HTTP-POST of the response (${tb.exception})`,
      evidence: tracebackEvidence(tb),
      guideSection: 'Server Configuration Issues',
      fix: "Start the login from Kasm's own SSO button on its login page, or configure the identity provider to POST the SAML response to Kasm's ACS URL (HTTP-POST binding); an app tile or bookmark that only opens the ACS URL sends no response, and kasm_api answers with an internal error.",
    };
  }
  const saml = /OneLogin_Saml2|onelogin\.saml2/.test(tb.exception);
  return {
    severity,
    format: 'kasm_api',
    hop: 'api',
    title: `kasm_api raised ${tb.exception}${tb.raisedIn ? ` (in ${tb.raisedIn})` : ''}${times}`,
    evidence: tracebackEvidence(tb),
    guideSection: 'Server Configuration Issues',
    fix: saml
      ? "Kasm's SAML settings and the identity provider's disagree: compare the SP entity id, ACS URL and the IdP's certificate and metadata (Admin > Access Management > Authentication > SAML) with the identity provider's application."
      : "kasm_api failed on this request: the exception and the function it was raised in name the cause; search Kasm's issues for them, and read `sudo docker logs --since 10m kasm_api` around the time.",
  };
}

/** Each distinct traceback kasm_api logged (the same exception again is counted, not repeated). */
function tracebackFindings(entries: KasmApiEntry[]): Finding[] {
  const raised = entries.flatMap((entry) => {
    const tb = tracebackIn(entry);
    return tb ? [{ tb, entry }] : [];
  });
  return firstOfEach(raised, ({ tb }) => `${tb.exception}|${tb.raisedIn ?? ''}`).map(({ first, count }) => tracebackFinding(first.tb, first.entry, count));
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

// The agents' calls to kasm_manager through kasm_proxy (heartbeat, images, log, agent_config): judged on their own.
const MANAGER_API = /^\/manager_api\//;
// A 5xx this soon after nginx started is a manager that may still be starting, not one known to be down.
const JUST_STARTED_MS = 60_000;

function serverErrors(entries: NginxAccess[]): Finding[] {
  const failed = entries.filter((e) => e.status >= 500 && !MANAGER_API.test(e.path));
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

/** kasm_proxy answered the agents' /manager_api/ calls with 5xx: kasm_manager, behind it, did not answer them. */
function managerApiErrors(entries: NginxAccess[], errors: NginxError[]): Finding[] {
  const calls = entries.filter((e) => MANAGER_API.test(e.path));
  const failed = calls.filter((e) => e.status >= 500);
  if (failed.length === 0) return [];
  const lastFailed = failed.at(-1)!.at.getTime();
  const answeredLater = calls.some((e) => e.status < 500 && e.at.getTime() > lastFailed);
  const starts = errors.filter((e) => e.at && /^start worker processes$/.test(e.message.trim())).map((e) => e.at!.getTime()).sort((a, b) => a - b);
  // The latest start at or before a moment (binary search: a long capture holds many of both).
  const latestStart = (at: number): number | null => {
    let lo = 0;
    let hi = starts.length - 1;
    let found: number | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= at) {
        found = starts[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  let justStarted = true;
  let longest = 0;
  for (const e of failed) {
    const start = latestStart(e.at.getTime());
    if (start === null || e.at.getTime() - start > JUST_STARTED_MS) {
      justStarted = false;
      break;
    }
    longest = Math.max(longest, e.at.getTime() - start);
  }
  const names = listed([...new Set(failed.map((e) => e.path.replace(/^\/manager_api\/(?:api\/v\d+\/)?/, '')))], 5);
  const when = justStarted
    ? ` within ${Math.round(longest / 1000)} s of kasm_proxy's start: kasm_manager may still have been starting`
    : answeredLater
      ? '; later calls were answered again'
      : '';
  return [
    {
      severity: justStarted || answeredLater ? 'warn' : 'fail',
      format: 'nginx',
      hop: 'api',
      title: `kasm_proxy answered ${plural(failed.length, 'agent call')} to /manager_api/ (${names}) with ${describeCounts(countBy(failed, (e) => String(e.status)))}: kasm_manager did not answer${when}`,
      evidence: sample(failed.map((e) => e.raw)),
      guideSection: 'Confirm Local Connectivity',
      fix: "Agents check in through kasm_proxy to kasm_manager: on the WebApp server, `sudo docker ps -a` (kasm_manager Up and healthy?) and `sudo docker logs --tail 100 kasm_manager`; if it keeps failing, restart Kasm's services in order (`sudo /opt/kasm/bin/stop && sudo /opt/kasm/bin/start`). Until it answers, agents cannot send heartbeats.",
    },
  ];
}

function judgeNginx(lines: string[]): Judged {
  const log = parseNginxAccessLog(lines.join('\n'));
  return { findings: [...websockifyFinding(log.entries), ...serverErrors(log.entries), ...managerApiErrors(log.entries, log.errors), ...resolverErrors(log.errors), ...upstreamConnectErrors(log.errors), ...upgradedTimeouts(log.errors)], unparsed: log.unparsed };
}

/** A live check's outcome as an offline finding: a pass is what was seen (info), with no fix. */
function fromOutcome(outcome: TargetOutcome, base: Omit<Finding, 'severity' | 'title' | 'evidence' | 'fix' | 'hop'> & { hop: Hop; fix: string }, evidence: string[]): Finding {
  const severity: Severity = outcome.status === 'fail' ? 'fail' : outcome.status === 'warn' ? 'warn' : 'info';
  return { ...base, hop: outcome.hop ?? base.hop, severity, title: outcome.summary, evidence, fix: severity === 'info' ? '' : (outcome.remediation ?? base.fix) };
}

/** A pasted `docker ps`: webapp.containers' (or agent.containers') own judge, on every row the paste shows. */
function judgeDockerPs(lines: string[]): Judged {
  const ps = parseDockerPs(lines.join('\n'));
  if (ps.containers.length === 0) return { findings: [], unparsed: ps.unparsed };
  const roles = rolesShown(ps.containers);
  const check = CHECKS[roles.length === 1 && roles[0] === 'agent' ? 'agent.containers' : 'webapp.containers'];
  const outcome = judgeContainers({ roles, containers: ps.containers, unparsed: ps.unparsed.length, excerpt: true });
  const involved = new Set((outcome.evidence?.involved as string[] | undefined) ?? []);
  const rows = ps.containers.filter((c) => involved.has(c.names || c.id)).map((c) => c.raw).slice(0, 12);
  return { findings: [fromOutcome(outcome, { format: 'docker_ps', hop: check.hop, guideSection: check.guideSection, fix: check.remediation }, rows)], unparsed: ps.unparsed };
}

const SEVERITY: Record<HandlerFinding['severity'], Severity> = { fail: 'fail', warn: 'warn', info: 'info' };
const VNC_CHECK = CHECKS['session.stream'];

function handlerFix(finding: HandlerFinding): string {
  const imageAuth = /Basic auth failed \((no-password-file|unknown-user)\)/.exec(finding.message)?.[1] as HandlerAuth | undefined;
  if (imageAuth) return IMAGE_AUTH_FIX[imageAuth] ?? '';
  if (/so it drops every TLS connection before the handshake/.test(finding.message)) return "The workspace image must hold the certificate kasmvnc.yaml names (network.ssl.pem_certificate; in Kasm's images ~/.vnc/self.pem), readable by the desktop user: check `ls -l ~/.vnc/self.pem` in the session container, fix the image, then start a new session.";
  if (/16 KiB handshake buffer/.test(finding.message)) return "Clear the browser's cookies for the Kasm domain (and its parent domain, whose cookies ride along), or stop the proxy in front of Kasm from adding large headers: KasmVNC reads at most 16 KiB of request headers.";
  if (/could not reach Xvnc behind it/.test(finding.message)) return 'Xvnc\'s internal socket did not answer: Xvnc exited or is restarting. Read the lines before it for a crash or a fatal error, check `ps aux | grep Xvnc` in the session container, and start a new session.';
  if (/between KasmVNC's websocket and Xvnc broke/.test(finding.message)) return "Xvnc dropped its end of the stream: look for a crash or a restart of Xvnc at that time (the (EE) lines, a new Xvnc banner), then start a new session.";
  if (/could not read a WebSocket frame/.test(finding.message)) return 'Let the WebSocket through unchanged: a proxy or L7 firewall that terminates and re-creates WebSockets must mask client frames and keep them under 64 KiB (and valid base64 in text mode); connect with a browser, not another client.';
  if (/could not encode a WebSocket frame/.test(finding.message)) return 'An internal KasmVNC error: send the log and `sudo docker exec <session container> Xvnc -version` to Kasm support, and start a new session.';
  if (/refused a request because its path/.test(finding.message)) return "If the session's own requests are refused, a proxy in front of Kasm lengthens or rewrites their URLs (query strings, path prefixes): keep them under 1024 characters. A scanner's probe for ../ is refused as it should be.";
  if (/headers never ended/.test(finding.message)) return 'Something sent KasmVNC a request in many small pieces, or not HTTP at all: a health check or port scanner probing the session port, or a proxy that trickles headers. If it was the session\'s websocket, find the proxy in front of Kasm that splits requests.';
  if (/exceptional condition/.test(finding.message)) return 'Something between the browser and KasmVNC sent TCP urgent data or broke the connection: check the proxies and firewalls in front of the session for resets.';
  if (/Basic auth failed/.test(finding.message)) return 'The agent\'s kasm_proxy injects the per-session Authorization header: destroy the session and start a new one; if it persists, read the agent\'s kasm_proxy log for the request.';
  if (/non-SSL connection disallowed/.test(finding.message)) return 'KasmVNC takes only TLS here: the agent\'s kasm_proxy (or whatever reaches the session container) must connect with https://, as Kasm\'s own proxy config does.';
  if (/blacklisted/.test(finding.message)) return 'KasmVNC blocks an address after repeated failed logins: fix the credentials that fail first (the Basic auth lines), then start a new session.';
  if (/rejected the request/.test(finding.message)) return 'KasmVNC refused the request itself: the quoted line says why; a device in the path that changes the request (method, headers) is the usual cause.';
  if (/could not identify/.test(finding.message)) return 'A device in the path (L7 firewall, proxy, client security software) altered the websocket handshake: let the Upgrade, Connection and Sec-WebSocket-* headers through unchanged.';
  return '';
}

// OpenSSL's `<id>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:SSL alert number <n>`; anchored at both
// ends with no lazy field, so a long line is read in one pass.
const TLS_ALERT = /^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]*):.*SSL alert number (\d+)$/;

/** `certificate unknown` from the reason `sslv3 alert certificate unknown`. */
function alertName(reason: string | undefined): string | undefined {
  const at = reason?.lastIndexOf('alert ') ?? -1;
  return at >= 0 ? reason!.slice(at + 'alert '.length).trim() || undefined : undefined;
}

// What a viewer's close reason means (helpers/logs/kasmvnc.ts closeKind); a clean end and a shutdown are not findings.
const CLOSES: Partial<Record<CloseKind, { severity: Severity; hop: Hop; means: string; fix: string }>> = {
  'taken-over': { severity: 'warn', hop: 'client', means: 'another viewer connected without sharing and took the session over (a second tab or device)', fix: "Keep one tab per session; kasmvnc.yaml's user_session (session_type, new_session_disconnects_existing_exclusive_session) decides whether a new viewer takes the session over or joins it." },
  'in-use': { severity: 'warn', hop: 'client', means: 'Xvnc refused it because another viewer holds the session', fix: "Close the other tab or device that holds the session; kasmvnc.yaml's user_session settings decide whether a second viewer may join." },
  'idle-timeout': { severity: 'warn', hop: 'session', means: "Xvnc's IdleTimeout closed it", fix: "Raise or disable Xvnc's IdleTimeout parameter in the workspace image if sessions must stay open without input." },
  'server-disconnect': { severity: 'warn', hop: 'session', means: 'Xvnc was told to disconnect its viewers (Disconnection from server end)', fix: 'Something in the session disconnected the viewers on purpose (vncconfig -disconnect, a script): find it if that was not intended.' },
  'no-resize': { severity: 'warn', hop: 'client', means: 'the viewer cannot follow a change of the desktop size', fix: 'Use a viewer that supports desktop resizing (the browser client does), or keep the desktop size fixed.' },
  dropped: { severity: 'warn', hop: 'path', means: 'the connection broke instead of closing', fix: "Read the websocket handler's lines of that time ('client closed connection', 'target closed connection', a frame error) and the logs of the proxies in front of the session for a timeout or a reset." },
  auth: { severity: 'fail', hop: 'session', means: "Xvnc refused the viewer's RFB authentication", fix: "The browser client answers Xvnc's VncAuth with the password vncserver set: a workspace image that changes ~/.vnc/passwd or Xvnc's SecurityTypes breaks it; use the image's own vncserver settings." },
  error: { severity: 'fail', hop: 'session', means: "Xvnc closed the viewer's connection on a protocol error", fix: 'Send the log and `sudo docker exec <session container> Xvnc -version` to Kasm support; a device that rewrites the websocket stream can cause it too.' },
};

/** Xvnc's `Connections: accepted/closed` lines: a count, and a finding for each kind of close that means a problem. */
function connectionFindings(connections: KasmVncConnection[]): Finding[] {
  if (!connections.length) return [];
  const base = { format: 'kasmvnc' as const, guideSection: VNC_CHECK.guideSection };
  const closed = connections.filter((c) => c.closed !== null);
  const findings: Finding[] = [];
  for (const [kind, meaning] of Object.entries(CLOSES) as Array<[CloseKind, NonNullable<(typeof CLOSES)[CloseKind]>]>) {
    const these = closed.filter((c) => closeKind(c.reason ?? '') === kind);
    if (!these.length) continue;
    findings.push({
      ...base,
      severity: meaning.severity,
      hop: meaning.hop,
      title: `Xvnc closed ${plural(these.length, 'viewer connection')}: ${meaning.means} (${describeCounts(countBy(these, (c) => c.reason ?? ''))})`,
      evidence: sample(these.map((c) => c.closed!.raw)),
      fix: meaning.fix,
    });
  }
  const open = connections.length - closed.length;
  const reasons = closed.length ? ` (${describeCounts(countBy(closed, (c) => c.reason || 'no reason'))})` : '';
  findings.push({ ...base, severity: 'info', hop: 'session', title: `${plural(connections.length, 'viewer connection')} to Xvnc: ${closed.length} closed${reasons}, ${open} still open`, evidence: [], fix: '' });
  return findings;
}

/** One finding per kind of start failure and what it names: a restart loop repeats the same refusal. */
function startFindings(failures: KasmVncStartFailure[]): Finding[] {
  return firstOfEach(failures, (f) => `${f.kind} ${f.subject}`).map(({ first: failure, count }) => {
    const { message, fix } = explainStartFailure(failure);
    return { severity: 'fail', format: 'kasmvnc', hop: 'session', title: count > 1 ? `${message} (${plural(count, 'time')})` : message, evidence: sample(failure.lines), guideSection: VNC_CHECK.guideSection, fix };
  });
}

function lockFindings(locks: KasmVncDisplayLock[]): Finding[] {
  const first = new Map<string, KasmVncDisplayLock>();
  for (const lock of locks) if (!first.has(lock.file)) first.set(lock.file, lock);
  return [...first.values()].map((lock) => {
    const { message, fix } = explainDisplayLock(lock);
    return { severity: 'info', format: 'kasmvnc', hop: 'session', title: message, evidence: lock.lines, guideSection: VNC_CHECK.guideSection, fix };
  });
}

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
  const alerts: string[] = [];
  const lines: string[] = [];
  for (const line of all) (TLS_ALERT.test(line.trim()) ? alerts : lines).push(line);
  const log = parseKasmVncLog(lines.join('\n'));
  const groups = groupByHandler(log.entries);
  const byId = new Map<number, (typeof groups)[number]>();
  for (const g of groups) if (!byId.has(g.id)) byId.set(g.id, g);
  const findings: Finding[] = judgeHandlers(groups).map((h) => ({
    severity: SEVERITY[h.severity],
    format: 'kasmvnc',
    hop: h.hop ?? 'session',
    title: h.message,
    // The lines that explain it first (the auth or rejection line), then the handler's others for context.
    evidence: sample([...new Set([...(h.lines ?? []), ...(byId.get(h.handler)?.lines.slice(0, SAMPLES).map((l) => l.raw) ?? [])])]),
    guideSection: VNC_CHECK.guideSection,
    fix: handlerFix(h),
  }));
  findings.push(...log.crashes.map((c) => crashFinding(c, log.versions.at(-1))));
  findings.push(...startFindings(log.startFailures), ...lockFindings(log.displayLocks));
  findings.push(...connectionFindings(readConnections(log.entries)));
  if (alerts.length) {
    const m = TLS_ALERT.exec(alerts[0]!.trim());
    const name = alertName(m?.[1]);
    findings.push({
      severity: 'warn',
      format: 'kasmvnc',
      hop: 'client',
      title: `${plural(alerts.length, 'TLS client')} aborted the handshake with KasmVNC (SSL alert ${m?.[2] ?? '?'}${name ? `: ${name}` : ''}): the browser does not trust the certificate KasmVNC presents`,
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
  // A registered agent gets its settings back (`{'agent': {'retention_period': '24'}}`, workspaces-issues #645).
  const empty = log.configAnswers.filter((a) => /^\{\s*\}$/.test(a.answer));
  if (empty.length) {
    const manager = [...new Set(empty.map((a) => a.url.replace(/^(\w+:\/\/[^/]+).*$/, '$1')))].join(', ');
    findings.push({
      ...base,
      severity: 'warn',
      title: `the manager (${manager}) answered kasm_agent's agent_config request with an empty {}${empty.length > 1 ? ` ${empty.length} times` : ''}: the agent got no settings for itself`,
      evidence: sample(empty.flatMap((a) => [a.lines[1], a.lines[0]])),
      fix: "The manager has no configuration for this agent: check that it is registered and enabled in Admin > Infrastructure > Docker Agents (the server id in agent.app.config.yaml), and that the manager address and token in agent.app.config.yaml are this deployment's. Agents run on Docker hosts: kasm-helm deploys none, and an agent run as a Kubernetes pod is not a supported layout.",
    });
  }
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
  const levelOf = (record: UiLogRecord) => (record.fields.levelname ?? '').toUpperCase();
  const problems = records.filter((record) => ['ERROR', 'CRITICAL', 'WARNING'].includes(levelOf(record)));
  const distinct = firstOfEach(problems, (record) => `${record.fields.application}|${levelOf(record)}|${uiExportSummary(record.fields.message ?? '')}`);
  const findings: Finding[] = distinct.map(({ first: record, count }) => {
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

// A private IPv4 address ending in .1: the gateway of a Docker network, which is the Docker host itself.
const DOCKER_GATEWAY = /^(?:10\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}|192\.168\.\d{1,3})\.1$/;

/** An HTML page (an error page a proxy answered with, or what a curl got): its status and server, said in words. */
function pageFinding(lines: string[], format: 'html_page' | 'curl', command?: CurlCommand): Finding {
  const page = lines.join('\n');
  const title = htmlTitle(page) ?? 'an HTML page';
  const status = Number(/\b([1-5]\d\d)\b/.exec(title)?.[1] ?? NaN);
  const server = /<center>\s*([a-z][\w.-]*)(?:\/[\d.]+)?\s*<\/center>|<address>([^<]+)<\/address>/i.exec(page);
  const serverName = server ? (server[1] ?? server[2] ?? '').trim() : '';
  const from = serverName ? ` from ${serverName}` : '';
  const proof = lines.filter((l) => /<title>|<h1>/i.test(l)).slice(0, 2);
  const asked = command?.url ? `${command.url}: ` : '';
  const host = command?.url ? originOf(command.url)?.host : undefined;
  // From a session's shell, the network's gateway is the agent host: what answers there, users' sessions reach.
  if (command?.inSession && host && DOCKER_GATEWAY.test(host)) {
    const serverLine = lines.find((l) => /<center>\s*[a-z][\w.-]*(?:\/[\d.]+)?\s*<\/center>|<address>/i.test(l));
    return {
      severity: 'warn',
      format,
      hop: 'agent',
      title: `From inside a Kasm session (the \`${command.prompt}\` shell), ${command.url} answered with ${title}${from}: ${host} is the session network's gateway, the agent host itself, so ${serverName === 'nginx' ? "the agent's kasm_proxy" : 'a web server on the agent host'} is reachable from users' sessions`,
      evidence: [command.raw, ...(serverLine ? [serverLine] : []), ...proof.slice(0, 1)],
      guideSection: 'Host Based Firewalls',
      fix: "Sessions should not reach the agent host's own services: publish kasm_proxy's port only on the address the WebApp servers use (the ports mapping in /opt/kasm/current/docker/docker-compose.yaml, e.g. `<agent IP>:443:443`), or drop traffic from the session networks to that port with a host firewall rule (INPUT chain).",
    };
  }
  const evidence = command ? [command.raw, ...proof] : proof;
  if (status >= 502 && status <= 504) {
    return { severity: 'fail', format, hop: 'api', title: `${asked}${title}${from} (an HTML error page): the proxy got no answer${status === 504 ? ' in time' : ''} from the service behind it (kasm_api, for /api/ calls)`, evidence, guideSection: CHECKS['api.health'].guideSection, fix: 'On the WebApp servers: `sudo docker ps -a` (kasm_api Up?) and `sudo docker logs --since 10m kasm_api` for what the call waited on; a 504 on session requests often waits on an agent or its Docker daemon.' };
  }
  const severity = status >= 400 ? 'warn' : 'info';
  return { severity, format, hop: 'path', title: `${asked}${title}${from} (an HTML page)`, evidence, guideSection: CHECKS['api.health'].guideSection, fix: severity === 'info' ? '' : 'Something in front of Kasm answered with its own page: check the URL and the load balancer or proxy that served it.' };
}

/** An HTML error page: its status and server, said in words (never read as access lines). */
function judgeHtmlPage(lines: string[]): Judged {
  return { findings: [pageFinding(lines, 'html_page')], unparsed: [] };
}

/** A health curl's printed outcome: its error line (`curl: (6) ...`) or the JSON it answered. */
function curlRun(line: string): CurlRun | null {
  const error = /^curl: \((\d+)\)/.exec(line.trim());
  if (error) return { exitCode: Number(error[1]), stdout: '', stderr: line };
  if (line.trim().startsWith('{')) return { exitCode: 0, stdout: `${line.trim()}\n200`, stderr: '' };
  return null;
}

/** Which of the guide's curls it was, by its URL (from the command pasted before it) or, without one, by its error. */
function curlCheck(url: string | null, run: CurlRun): 'webapp.agent-reachable' | 'agent.upstream-auth-reachable' {
  const path = url && URL.canParse(url) ? new URL(url).pathname : '';
  if (path.startsWith('/agent/')) return 'webapp.agent-reachable';
  if (path.startsWith('/api/')) return 'agent.upstream-auth-reachable';
  return run.exitCode === 6 ? 'agent.upstream-auth-reachable' : 'webapp.agent-reachable';
}

/**
 * A curl to the Upstream Auth Address, judged as agent.upstream-auth-reachable judges it: a single-label name (Kasm's
 * default `proxy`) curled on the host may be a Docker alias only the containers resolve, which a paste cannot show.
 */
function upstreamCurl(url: string, command: CurlCommand, run: CurlRun): TargetOutcome {
  const inContainer = /\bdocker\s+exec\b/.test(command.raw);
  const route = inContainer ? ({ via: 'host' } as const) : upstreamRoute(new URL(url).hostname, 'kasm_proxy', { unread: 'a paste shows no docker inspect' });
  return judgeUpstreamAuth({ url, route, curl: run, webappCertificates: [] });
}

/** The guide's health curls, judged by the live checks' own judge (judgeHealthCurl), and pages a curl printed. */
function judgeCurl(lines: string[]): Judged {
  const findings: Finding[] = [];
  // A curl command and the page printed after it: route.ts sends a page here only right after a command.
  const pages: Array<{ command: CurlCommand; page: string[] }> = [];
  for (const line of lines) {
    const command = parseCurlCommand(line);
    if (command) {
      pages.push({ command, page: [] });
      continue;
    }
    const run = curlRun(line);
    if (!run) {
      if (line.trimStart().startsWith('<')) pages.at(-1)?.page.push(line);
      continue;
    }
    const before = pages.at(-1)?.command;
    const url = before?.url ?? null;
    const id = curlCheck(url, run);
    const check = CHECKS[id];
    const outcome = id === 'agent.upstream-auth-reachable' && before && url && URL.canParse(url) ? upstreamCurl(url, before, run) : judgeHealthCurl(url ?? 'the pasted curl', run, check.remediation);
    findings.push(fromOutcome(outcome, { format: 'curl', hop: check.hop, guideSection: check.guideSection, fix: check.remediation }, [line]));
  }
  for (const { command, page } of pages) if (page.length) findings.push(pageFinding(page, 'curl', command));
  return { findings, unparsed: [] };
}

/** Kasm's installer: the error that stopped it and the step it stopped in, or how far it got. */
function judgeInstaller(lines: string[]): Judged {
  const log = parseInstaller(lines);
  const base = { format: 'installer' as const, hop: (log.agentRole ? 'agent' : 'webapp') as Hop, guideSection: 'Server Configuration Issues' };
  const first = log.failures[0];
  if (!first) {
    const title = log.completed ? `Kasm installer: Installation Complete${log.steps.length ? ` (${log.steps.join(', ')})` : ''}` : `Kasm installer output up to ${log.steps.length ? `"${log.steps.at(-1)}"` : 'its settings'}, with no error and no "Installation Complete" in it (the copy may end early)`;
    return { findings: [{ ...base, severity: 'info', title, evidence: [], fix: '' }], unparsed: [] };
  }
  const started = first.step !== null && log.steps.indexOf('Starting Kasm Services') >= 0 && log.steps.indexOf('Starting Kasm Services') <= log.steps.indexOf(first.step);
  const file = missingFile(first.line);
  const fix = file
    ? `The installer looks for ${file} and the release it unpacked has no such file: the installer and the release it installs do not match (another version's release, or an installer image whose bundled release has another layout). Install with a matching installer and release (for linuxserver/kasm, an image tag whose wizard installs cleanly), remove the half-installed /opt/kasm/<version>, and run the install again.`
    : /connectivity failed/i.test(first.line)
      ? 'This host cannot reach the database or the WebApp servers the installer tested: open the ports between them (5432 and 6379 to the database, the Kasm port to the WebApp) and check the host names, then run the install again.'
      : /Port \(\d+\) is in use/.test(first.line)
        ? 'Something already listens on the Kasm port: stop it, or install on another port (`-L <port>`), then run the install again.'
        : /disk space/i.test(first.line)
          ? 'Free disk space for Docker (the images need about 50 GB), or install without pre-seeding the Workspace images (`-I`).'
          : 'Fix what the error names and run the install again; `sudo bash install.sh -v` shows the command that failed.';
  return {
    findings: [
      {
        ...base,
        severity: 'fail',
        title: `the Kasm installer stopped${first.step ? ` at "${first.step}"` : ''}: ${first.line}${started ? '' : "; Kasm's services were never started"}`,
        evidence: sample([...new Set([...log.failures.map((f) => f.line), ...(first.step ? [first.step] : [])])]),
        fix,
      },
    ],
    unparsed: [],
  };
}

// kasm-helm's ingress sends / to kasm-proxy, /api/ to kasm-api and /api/share/ to kasm-share (kasm-single-zone
// templates/ingress.yaml); kasm-manager is internal.
const ENTRY_SERVICE = 'kasm-proxy';
const POD_OK = new Set(['Running', 'Completed', 'Succeeded']);

/** `kubectl get svc` and `kubectl get pods`: pods that are not running and ready, services a load balancer never got. */
function judgeKubectl(lines: string[]): Judged {
  const out = parseKubectl(lines);
  const findings: Finding[] = [];
  const base = { format: 'kubectl' as const, hop: 'webapp' as const, guideSection: 'Server Configuration Issues' };
  const sick = out.pods.filter((p) => !POD_OK.has(p.status) || (p.status === 'Running' && p.ready < p.containers));
  if (sick.length) {
    findings.push({
      ...base,
      severity: 'fail',
      title: `${sick.length} of ${plural(out.pods.length, 'pod')} ${sick.length === 1 ? 'is' : 'are'} not running and ready: ${listed(sick.map((p) => `${p.name} (${p.status}, ${p.ready}/${p.containers} ready, ${plural(p.restarts, 'restart')})`), 8)}`,
      evidence: sample(sick.map((p) => p.raw)),
      fix: 'Read why: `kubectl describe pod <name>` (events: image pulls, probes, scheduling) and `kubectl logs <name> --previous` for a container that keeps restarting.',
    });
  } else if (out.pods.length) {
    findings.push({ ...base, severity: 'info', title: `${plural(out.pods.length, 'pod')} running and ready`, evidence: [], fix: '' });
  }
  const pending = out.services.filter((s) => s.type === 'LoadBalancer' && s.externalIp === '<pending>');
  if (pending.length) {
    findings.push({
      ...base,
      severity: 'warn',
      title: `${listed(pending.map((s) => s.name), 8)}: LoadBalancer without an external address (<pending>): nothing in the cluster gives it one`,
      evidence: sample(pending.map((s) => s.raw)),
      fix: 'The cluster has no load-balancer provider (MetalLB, a cloud controller, k3s\'s servicelb): install one, or expose Kasm through an ingress or a NodePort instead.',
    });
  }
  if (out.services.length) {
    const namespaces = [...new Set(out.services.flatMap((s) => (s.namespace ? [s.namespace] : [])))];
    const entry = out.services.find((s) => s.name === ENTRY_SERVICE);
    const external = out.services.filter((s) => s.externalIp !== '<none>' && s.externalIp !== '<pending>');
    findings.push({
      ...base,
      severity: 'info',
      title: `${plural(out.services.length, 'service')}${namespaces.length ? ` in ${listed(namespaces, 4)}` : ''}: ${listed(out.services.map((s) => `${s.name} ${s.ports}`), 12)}; ${external.length ? `external address on ${listed(external.map((s) => `${s.name} (${s.externalIp})`), 8)}` : 'none has an external address'}${entry ? `; ${ENTRY_SERVICE} is the one an ingress sends users to (kasm-api and kasm-share take /api/ and /api/share/), kasm-manager is internal` : ''}`,
      evidence: entry ? [entry.raw] : [],
      fix: '',
    });
  }
  return { findings, unparsed: out.unparsed };
}

const KASM_PATH = /^https?:\/\/[^/]+\/(?:desktop\/|api\/|vnc\/|[^?#]*\/vnc\/)/;

function fetchWhat(url: string): string {
  if (/\/vnc\/vnc\.html/.test(url)) return "the session's vnc.html";
  if (/\/websockify/.test(url)) return "the session's WebSocket";
  if (/\/desktop\//.test(url)) return 'a session URL';
  return url;
}

/** A copied fetch to Kasm: the host and port it went to against the page it was made from. */
function fetchFinding(f: CopiedFetch): Finding {
  const to = originOf(f.url);
  const page = f.referrer ? originOf(f.referrer) : null;
  const what = fetchWhat(f.url);
  const evidence = [f.lines[0]!, ...f.lines.filter((l) => /^\s*"referr?er"\s*:/i.test(l)).slice(0, 1)];
  const base = { format: 'browser' as const, evidence, guideSection: CHECKS['client.session-port'].guideSection };
  if (!to || !page || !KASM_PATH.test(f.url)) {
    return { ...base, hop: 'client', severity: 'info', title: `a copied fetch of ${f.url}${page ? ` from ${f.referrer}` : ' (no referrer: the page it was made from is not in the copy)'}`, fix: '' };
  }
  const pageName = `${page.scheme}://${page.host}${page.port === (page.scheme === 'https' ? 443 : 80) ? '' : `:${page.port}`}`;
  const toName = `${to.scheme}://${to.host}${to.port === (to.scheme === 'https' ? 443 : 80) ? '' : `:${to.port}`}`;
  if (to.host === page.host && to.port === page.port) return { ...base, hop: 'client', severity: 'info', title: `${what} is fetched from the page's own origin (${pageName})`, fix: '' };
  if (to.host === page.host) {
    return { ...base, hop: 'client', severity: 'fail', title: `the page is on ${pageName} but ${what} is fetched from ${toName}: the session URL names another port than the one the browser uses`, fix: CHECKS['client.session-port'].remediation };
  }
  // A zone's Proxy Hostname under the primary Kasm domain is how multi-zone deployments work.
  if (to.host.endsWith(`.${page.host}`)) return { ...base, hop: 'client', severity: 'info', title: `${what} is fetched from ${toName}, a sub-domain of the page's ${pageName} (a zone's Proxy Hostname)`, fix: '' };
  return {
    ...base,
    hop: 'path',
    severity: 'fail',
    title: `the browser fetches ${what} from ${toName}, but the page came from ${pageName}: Kasm built the session's URL from a host name the browser does not use (the Host header the proxy in front passed on, or a zone's Proxy Hostname)`,
    fix: "Kasm builds session URLs from the Host header it receives (the zone's $request_host$): make the reverse proxy in front of Kasm pass the client's Host unchanged (nginx `proxy_set_header Host $host;`, Caddy `header_up Host {host}`: recent Caddy sends an https upstream its own name instead), or set the zone's Proxy Hostname to the name users browse to; then start a new session.",
  };
}

/** Requests copied from the browser's developer tools ("Copy as fetch"). */
function judgeBrowser(lines: string[]): Judged {
  const copy = parseBrowserCopy(lines);
  return { findings: copy.fetches.map(fetchFinding), unparsed: copy.unparsed };
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
  installer: judgeInstaller,
  kubectl: judgeKubectl,
  browser: judgeBrowser,
};
