// Compare to last green: each run keeps a small set of facts per finding (ports, cookie attributes, hop timings,
// container set, listening ports, firewall summary, reachability); the facts of the last healthy run are the
// baseline, and a run with KASM_COMPARE=true lists what changed since: the "what did the firewall change break" view.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnosis, Finding } from './finding.ts';

export type Fact = string | number | boolean | null;
export type Facts = Record<string, Fact>;

export interface Baseline {
  version: 1;
  kasmUrl: string;
  generatedAt: string;
  facts: Facts;
}

export interface FactChange {
  fact: string;
  before: Fact | undefined;
  after: Fact | undefined;
}

export interface Comparison {
  /** When the baseline run happened, or null when there is none yet. */
  against: string | null;
  changes: FactChange[];
  /** Facts the baseline has that this run did not look at (a narrower --grep), left out of the changes. */
  notChecked: number;
}

type Read = (evidence: Record<string, unknown>) => Facts;

const obj = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const fact = (value: unknown): Fact => (value === undefined ? null : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null ? value : JSON.stringify(value));

/** `Up 3 minutes (healthy)` -> `up (healthy)`: the uptime changes every run and says nothing. */
function containerState(status: unknown): string {
  const text = String(status ?? '');
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(text)?.[1];
  const state = /^Up\b/.test(text) ? 'up' : (text.split(/\s|\(/)[0] ?? '').toLowerCase() || 'unknown';
  return health ? `${state} (${health})` : state;
}

function curlFacts(curl: Record<string, unknown>): Facts {
  return { result: `${String(curl.code ?? '?')}${curl.httpStatus ? ` ${String(curl.httpStatus)}` : ''}`, curlExit: fact(curl.exitCode) };
}

/** Where each check keeps what is worth comparing, in the evidence it already attaches. */
const READERS: Partial<Record<string, Read>> = {
  'client.session-port': (e) => ({ clientPort: fact(obj(e['session-urls']).clientPort) }),
  'client.cookies': (e) => {
    const facts: Facts = {};
    for (const copy of list(obj(e['vnc.html-cookies']).sent).map(obj)) {
      const name = String(copy.name);
      if (name !== 'username' && name !== 'session_token') continue;
      // Not `cookie session_token`: followed by `": "` in JSON, that reads as a token value to the redaction.
      const key = `${name} cookie`;
      const attributes = `domain=${String(copy.domain)} path=${String(copy.path)} secure=${String(copy.secure)} httpOnly=${String(copy.httpOnly)} sameSite=${String(copy.sameSite)}`;
      facts[key] = facts[key] ? `${String(facts[key])} + ${attributes}` : attributes;
    }
    return facts;
  },
  'path.websocket-upgrade': (e) => ({ upgradeMs: fact(obj(e.timings).upgradeMs), subprotocol: fact(obj(e['probe-handshake']).protocol), probeStatus: fact(obj(e['probe-handshake']).status) }),
  'path.websocket-hold': (e) => ({ held: fact(obj(e.hold).ok), close: fact(obj(e.hold).close) }),
  'api.health': (e) => ({ status: fact(obj(e.healthcheck).status), healthMs: fact(obj(e.healthcheck).ms) }),
  'api.session-create': (e) => ({ runningAfterMs: fact(obj(e.session).runningAfterMs), credentials: fact(obj(e.session).credentialStyle) }),
  'session.stream': (e) => ({ firstFrameMs: fact(obj(e['rfb-progress']).firstUpdateMs), desktop: fact(obj(e['rfb-progress']).desktop) }),
  'webapp.containers': (e) => containerFacts(e),
  'agent.containers': (e) => containerFacts(e),
  'webapp.listening': (e) => listeningFacts(e),
  'agent.listening': (e) => listeningFacts(e),
  'webapp.firewall': (e) => firewallFacts(e),
  'agent.firewall': (e) => firewallFacts(e),
  'webapp.local-connectivity': (e) => curlFacts(obj(e.curl)),
  'agent.local-connectivity': (e) => curlFacts(obj(e.curl)),
  'webapp.agent-reachable': (e) => curlFacts(e),
  'agent.upstream-auth-reachable': (e) => Object.fromEntries(list(e.checked).map(obj).map((c) => [`reach ${String(c.url ?? c.address ?? '?')}`, `${String(c.code ?? '?')}${c.httpStatus ? ` ${String(c.httpStatus)}` : ''}`])),
};

function containerFacts(e: Record<string, unknown>): Facts {
  const containers = list(e.containers).map(obj);
  return Object.fromEntries(containers.map((c) => [`container ${String(c.name)}`, `${containerState(c.status)} ${String(c.image ?? '')} ${String(c.ports ?? '')}`.trim()]));
}

function listeningFacts(e: Record<string, unknown>): Facts {
  const sockets = list(e.listening).map(obj).map((s) => `${String(s.address ?? s.local ?? '?')}:${String(s.port ?? '?')}`);
  return { port: fact(e.port), listening: sockets.sort().join(' ') || 'nothing' };
}

function firewallFacts(e: Record<string, unknown>): Facts {
  const ufw = obj(e.ufw);
  const blocking = list(e.blocking).map((b) => String(obj(b).description ?? JSON.stringify(b)));
  return { ufw: ufw.active === null ? 'not installed' : ufw.active ? 'active' : 'inactive', ufwRules: list(ufw.rules).length, iptablesPolicies: fact(e.iptablesPolicies), blocking: blocking.join('; ') || 'none' };
}

export const findingKey = (f: Pick<Finding, 'check' | 'target'>) => `${f.check}${f.target ? ` [${f.target}]` : ''}`;

/** A value the deployment picks anew each time (a port of the embedded lab), and the name it is compared under. */
export type Alias = readonly [value: number, name: string];

/**
 * The embedded lab's ports: each start of the lab picks its own (the address users open, the in-process lab's
 * servers and SSH hosts), so its baseline compares them by role. A deployment of the user's has none.
 */
export function labAliases(config: { clientPort: number; webappPort: number; agentPort: number; ssh: { webapp: readonly { port: number }[]; agents: readonly { port: number }[] } }): Alias[] {
  return [
    [config.clientPort, 'client port'],
    [config.webappPort, 'webapp port'],
    [config.agentPort, 'agent port'],
    ...config.ssh.webapp.map((t, i): Alias => [t.port, `webapp-${i + 1} ssh port`]),
    ...config.ssh.agents.map((t, i): Alias => [t.port, `agent-${i + 1} ssh port`]),
  ];
}

/** A fact's name or value with each aliased port, where it is a port (`host:port`, or the whole value), named. */
function aliased(value: Fact, aliases: readonly Alias[]): Fact {
  for (const [port, name] of aliases) {
    if (value === port || value === String(port)) return `<${name}>`;
  }
  if (typeof value !== 'string') return value;
  return value.replace(/:(\d{1,5})(?!\d)/g, (whole, digits: string) => {
    const alias = aliases.find(([port]) => port === Number(digits));
    return alias ? `:<${alias[1]}>` : whole;
  });
}

/** The facts of a run: every finding's status, and what its check's evidence says that is worth comparing. */
export function factsOf(diagnosis: Pick<Diagnosis, 'findings'>, aliases: readonly Alias[] = []): Facts {
  if (aliases.length) return Object.fromEntries(Object.entries(factsOf(diagnosis)).map(([name, value]) => [String(aliased(name, aliases)), aliased(value, aliases)]));
  const facts: Facts = {};
  for (const finding of diagnosis.findings) {
    const key = findingKey(finding);
    facts[`${key} › status`] = finding.status === 'skip' && finding.blockedBy ? 'blocked' : finding.status;
    const read = READERS[finding.check];
    if (!read) continue;
    for (const [name, value] of Object.entries(read(finding.evidence))) if (value !== null && value !== '') facts[`${key} › ${name}`] = value;
  }
  return facts;
}

/** Timings jitter: only a doubling (or halving) by half a second or more is a change. */
function timingChanged(before: number, after: number): boolean {
  const [low, high] = before < after ? [before, after] : [after, before];
  return high - low >= 500 && high >= 2 * Math.max(low, 1);
}

export function compareFacts(baseline: Baseline | undefined, facts: Facts): Comparison {
  if (!baseline) return { against: null, changes: [], notChecked: 0 };
  const changes: FactChange[] = [];
  const checkedKeys = new Set(Object.keys(facts).map((fact) => fact.split(' › ')[0]));
  let notChecked = 0;
  for (const name of new Set([...Object.keys(baseline.facts), ...Object.keys(facts)])) {
    const before = baseline.facts[name];
    const after = facts[name];
    if (after === undefined && !checkedKeys.has(name.split(' › ')[0])) {
      notChecked += 1;
      continue;
    }
    if (before === after) continue;
    if (name.endsWith('Ms') && typeof before === 'number' && typeof after === 'number' && !timingChanged(before, after)) continue;
    changes.push({ fact: name, before, after });
  }
  return { against: baseline.generatedAt, changes: changes.sort((a, b) => a.fact.localeCompare(b.fact)), notChecked };
}

// ---------------------------------------------------------------------------------------------- storage

/**
 * The file of a Kasm's last healthy run: by KASM_URL's origin, or for the embedded lab by its kind, since each start
 * of the lab has another address and its last healthy run is still the one to compare with.
 */
export function lastGreenFile(stateDir: string, kasmUrl: string, embeddedLab?: 'real-parts' | 'in-process'): string {
  const key = embeddedLab ? `embedded lab (${embeddedLab})` : new URL(kasmUrl).origin;
  return join(stateDir, 'baseline', `${createHash('sha256').update(key).digest('hex').slice(0, 12)}-last-green.json`);
}

export function readBaseline(file: string): Baseline | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Baseline>;
    return parsed.version === 1 && typeof parsed.facts === 'object' && parsed.facts !== null ? (parsed as Baseline) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A healthy run becomes the baseline. A narrower run (a --grep) updates only the facts it saw, so `--grep @smoke`
 * after a full run keeps the rest.
 */
export function saveLastGreen(file: string, previous: Baseline | undefined, diagnosis: Pick<Diagnosis, 'kasmUrl' | 'generatedAt' | 'findings'>, aliases: readonly Alias[] = []): Baseline {
  const facts = factsOf(diagnosis, aliases);
  const seen = new Set(Object.keys(facts).map((f) => f.split(' › ')[0]));
  const kept = Object.fromEntries(Object.entries(previous?.facts ?? {}).filter(([name]) => !seen.has(name.split(' › ')[0])));
  const baseline: Baseline = { version: 1, kasmUrl: diagnosis.kasmUrl, generatedAt: diagnosis.generatedAt, facts: { ...kept, ...facts } };
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(baseline, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return baseline;
}

export function formatComparison(comparison: Comparison): string {
  if (!comparison.against) return 'Compare to last green: no healthy run of this Kasm recorded yet; this run becomes the baseline once it is healthy.';
  const count = comparison.changes.length;
  const lines = [`Changed since the last healthy run (${comparison.against}): ${count ? `${count} fact${count === 1 ? '' : 's'}` : 'no change'}`];
  for (const c of comparison.changes) lines.push(`  ${c.fact}: ${show(c.before)} -> ${show(c.after)}`);
  if (comparison.notChecked) lines.push(`  (${comparison.notChecked} baseline fact${comparison.notChecked === 1 ? '' : 's'} not looked at by this run)`);
  return lines.join('\n');
}

const show = (value: Fact | undefined) => (value === undefined ? '(absent)' : typeof value === 'string' ? value : JSON.stringify(value));
