// Host firewall state as `ufw status [verbose|numbered]` and `iptables -S` (or iptables-save) print it, and which of
// its rules stop new TCP connections to a port. The suite only reports: the guide's flush is destructive.
import { isBlank, looksBinary, splitLines } from './text.ts';

export interface UfwRule {
  /** `[ 2]` in `ufw status numbered`. */
  number?: number;
  /** Without ` (v6)` and ` on <interface>`: `443/tcp`, `Anywhere`, `10.0.0.5 443/tcp`, `Nginx Full`. */
  to: string;
  /** The address part of `to` when the rule is for one destination (`10.0.0.5 443/tcp`, `10.0.0.5`). */
  destination?: string;
  action: string;
  /** Shown by verbose and numbered listings; plain `ufw status` shows only OUT and FWD. */
  direction?: string;
  from: string;
  v6: boolean;
  port?: number;
  /** `80,443/tcp`, and the ports of the stock application profiles (`Nginx Full`). */
  ports?: number[];
  portRanges?: Array<[number, number]>;
  protocol?: string;
  interface?: string;
  comment?: string;
  raw: string;
}

export interface UfwStatus {
  /** null when the text carries no `Status:` line (ufw missing, not root). */
  active: boolean | null;
  /** From `ufw status verbose`: `deny`, `allow`, `reject`, `disabled`. */
  defaults?: { incoming?: string; outgoing?: string; routed?: string };
  logging?: string;
  rules: UfwRule[];
  unparsed: string[];
}

export interface IptablesRule {
  table: string;
  chain: string;
  /** `-j` or `-g` target; empty for a rule without one (a counter). */
  target: string;
  protocol?: string;
  dport?: number;
  dports?: number[];
  dportRanges?: Array<[number, number]>;
  source?: string;
  destination?: string;
  inInterface?: string;
  outInterface?: string;
  ctstate?: string[];
  /** Match modules (`-m tcp`, `-m conntrack`, ...). */
  matches: string[];
  /** Which of protocol, dport, source, destination, inInterface, outInterface, ctstate carry a `!`. */
  negated: string[];
  /** Options this reader does not interpret (`--sport 53`, `--match-set x src`): they narrow the rule. */
  otherConditions: string[];
  comment?: string;
  raw: string;
}

export interface IptablesRules {
  policies: Record<string, string>;
  chains: string[];
  rules: IptablesRule[];
  unparsed: string[];
}

const UFW_ROW = /^(?:\[\s*(\d+)\]\s+)?(.+?)\s+(ALLOW|DENY|REJECT|LIMIT)(?: (IN|OUT|FWD))?(?=\s|$)\s*(.*?)(?:\s+#\s?(.*))?$/;
// ufw's stock application profiles (/etc/ufw/applications.d) for the ports a Kasm host cares about.
const APP_PORTS: Record<string, number[]> = {
  OpenSSH: [22],
  'Nginx HTTP': [80],
  'Nginx HTTPS': [443],
  'Nginx Full': [80, 443],
  Apache: [80],
  'Apache Secure': [443],
  'Apache Full': [80, 443],
  WWW: [80],
  'WWW Secure': [443],
  'WWW Full': [80, 443],
};

function readPortSpec(spec: string): Pick<UfwRule, 'port' | 'ports' | 'portRanges' | 'protocol'> | null {
  const m = /^([\d,:]+)(?:\/(\w+))?$/.exec(spec);
  if (!m) return null;
  const result: Pick<UfwRule, 'port' | 'ports' | 'portRanges' | 'protocol'> = m[2] ? { protocol: m[2] } : {};
  const parts = (m[1] ?? '').split(',').filter(Boolean);
  const singles = parts.filter((p) => /^\d+$/.test(p)).map(Number);
  const ranges = parts.filter((p) => /^\d+:\d+$/.test(p)).map((p) => p.split(':').map(Number) as [number, number]);
  if (singles.length + ranges.length !== parts.length || parts.length === 0) return null;
  if (parts.length === 1 && singles.length === 1) result.port = singles[0];
  else {
    if (singles.length) result.ports = singles;
    if (ranges.length) result.portRanges = ranges;
  }
  return result;
}

const ADDRESS = /^[\d.:a-fA-F]+(?:\/\d+)?$/;

/** `443/tcp`, `10.0.0.5 443/tcp`, `10.0.0.5`, `Anywhere`, `Nginx Full`, each optionally `on <interface>`. */
function readTo(text: string): Pick<UfwRule, 'to' | 'destination' | 'port' | 'ports' | 'portRanges' | 'protocol' | 'interface'> {
  const on = /^(.*?) on (\S+)$/.exec(text);
  const to = on ? (on[1] ?? '') : text;
  const words = to.split(' ');
  const apps = APP_PORTS[to];
  const spec = apps ? { ports: apps } : readPortSpec(words.at(-1) ?? '');
  const destination = apps ? undefined : spec ? (words.length > 1 ? words[0] : undefined) : ADDRESS.test(to) ? to : undefined;
  return { to, ...(spec ?? {}), ...(destination ? { destination } : {}), ...(on ? { interface: on[2] } : {}) };
}

function readUfwRow(line: string): UfwRule | null {
  const m = UFW_ROW.exec(line.trim());
  if (!m || !m[5]) return null;
  const toText = m[2] ?? '';
  const fromText = m[5];
  const v6 = /\(v6\)/.test(toText) || /\(v6\)/.test(fromText);
  const rule: UfwRule = {
    ...readTo(toText.replace(/ \(v6\)/, '')),
    action: m[3] ?? '',
    from: fromText.replace(/ \(v6\)/, ''),
    v6,
    raw: line,
  };
  if (m[1]) rule.number = Number(m[1]);
  if (m[4]) rule.direction = m[4];
  if (m[6]) rule.comment = m[6];
  return rule;
}

function readDefaults(text: string): UfwStatus['defaults'] {
  const defaults: NonNullable<UfwStatus['defaults']> = {};
  for (const m of text.matchAll(/(\w+) \((incoming|outgoing|routed)\)/g)) defaults[m[2] as 'incoming' | 'outgoing' | 'routed'] = m[1] ?? '';
  return defaults;
}

function readUfwLine(line: string, status: UfwStatus): boolean {
  const text = line.trim();
  const field = /^(Status|Logging|Default|New profiles): (.*)$/.exec(text);
  if (field) {
    if (field[1] === 'Status') status.active = field[2] === 'active';
    else if (field[1] === 'Logging') status.logging = field[2];
    else if (field[1] === 'Default') status.defaults = readDefaults(field[2] ?? '');
    return true;
  }
  if (/^To\s+Action\s+From$/.test(text) || /^--\s+------\s+----$/.test(text)) return true;
  const rule = readUfwRow(line);
  if (rule) status.rules.push(rule);
  return rule !== null;
}

export function parseUfwStatus(input: string): UfwStatus {
  const status: UfwStatus = { active: null, rules: [], unparsed: [] };
  for (const line of splitLines(input)) {
    if (isBlank(line)) continue;
    if (looksBinary(line) || !readUfwLine(line, status)) status.unparsed.push(line);
  }
  return status;
}

/** Words of an `iptables -S` line; comments come double-quoted (`--comment "ufw allow"`). */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '')));
}

function readDports(rule: IptablesRule, value: string, list: boolean): void {
  for (const part of value.split(',')) {
    const range = /^(\d+):(\d+)$/.exec(part);
    if (range) rule.dportRanges = [...(rule.dportRanges ?? []), [Number(range[1]), Number(range[2])]];
    else if (list) rule.dports = [...(rule.dports ?? []), Number(part)];
    else rule.dport = Number(part);
  }
}

const VALUE_FIELDS: Record<string, 'protocol' | 'source' | 'destination' | 'inInterface' | 'outInterface'> = {
  '-p': 'protocol',
  '--protocol': 'protocol',
  '-s': 'source',
  '--source': 'source',
  '-d': 'destination',
  '--destination': 'destination',
  '-i': 'inInterface',
  '--in-interface': 'inInterface',
  '-o': 'outInterface',
  '--out-interface': 'outInterface',
};

/** Applies one option of a rule; returns how many words it consumed. */
function readOption(rule: IptablesRule, option: string, value: string | undefined, negate: boolean): number {
  const field = VALUE_FIELDS[option];
  const mark = (name: string) => negate && rule.negated.push(name);
  if (field && value !== undefined) {
    rule[field] = value;
    mark(field);
  } else if ((option === '-m' || option === '--match') && value !== undefined) rule.matches.push(value);
  else if ((option === '--dport' || option === '--destination-port') && value !== undefined) {
    readDports(rule, value, false);
    mark('dport');
  } else if ((option === '--dports' || option === '--destination-ports') && value !== undefined) {
    readDports(rule, value, true);
    mark('dport');
  } else if ((option === '--ctstate' || option === '--state') && value !== undefined) {
    rule.ctstate = value.split(',');
    mark('ctstate');
  } else if (option === '--comment' && value !== undefined) rule.comment = value;
  else if ((option === '-j' || option === '--jump' || option === '-g' || option === '--goto') && value !== undefined) rule.target = value;
  else {
    // Unknown options may or may not take a value; the next word is one unless it is another option.
    const takesValue = value !== undefined && !value.startsWith('-');
    rule.otherConditions.push(`${negate ? '! ' : ''}${option}${takesValue ? ` ${value}` : ''}`);
    return takesValue ? 2 : 1;
  }
  return 2;
}

function readRule(table: string, line: string, tokens: string[]): IptablesRule | null {
  const [, chain, ...rest] = tokens;
  if (!chain) return null;
  const rule: IptablesRule = { table, chain, target: '', matches: [], negated: [], otherConditions: [], raw: line };
  let afterTarget = false;
  for (let i = 0; i < rest.length; ) {
    const negate = rest[i] === '!';
    if (negate) i++;
    const option = rest[i] ?? '';
    if (!option.startsWith('-')) return null;
    // Options after the target configure it (`--reject-with`, `--log-prefix`); they do not narrow the match.
    if (afterTarget) {
      i += rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('-') ? 2 : 1;
      continue;
    }
    i += readOption(rule, option, rest[i + 1], negate);
    afterTarget = rule.target !== '';
  }
  return rule;
}

export function parseIptablesRules(input: string): IptablesRules {
  const result: IptablesRules = { policies: {}, chains: [], rules: [], unparsed: [] };
  let table = 'filter';
  for (const line of splitLines(input)) {
    const text = line.trim();
    if (isBlank(text) || text.startsWith('#') || text === 'COMMIT') continue;
    const tokens = looksBinary(text) ? [] : words(text);
    const [verb, chain, policy] = tokens;
    const declared = /^:(\S+) (\S+)/.exec(text);
    if (text.startsWith('*') && /^\*\w+$/.test(text)) table = text.slice(1);
    else if (declared) {
      result.chains.push(declared[1] ?? '');
      if (declared[2] !== '-' && table === 'filter') result.policies[declared[1] ?? ''] = declared[2] ?? '';
    } else if (verb === '-P' && chain && policy && tokens.length === 3) {
      result.policies[chain] = policy;
      result.chains.push(chain);
    } else if (verb === '-N' && chain && tokens.length === 2) result.chains.push(chain);
    else {
      const rule = verb === '-A' ? readRule(table, text, tokens) : null;
      if (rule) result.rules.push(rule);
      else result.unparsed.push(line);
    }
  }
  return result;
}

export interface BlockingRule {
  source: 'ufw' | 'iptables';
  /** A rule that drops or rejects, or a chain's default policy that does when no rule accepts the port. */
  kind: 'rule' | 'policy';
  chain?: string;
  /** The rule as listed, or `-P INPUT DROP` for a policy. */
  rule: string;
  /** The rule applies only to some clients (a source, an interface, a rate limit...). */
  conditional: boolean;
  description: string;
}

type Match = 'no' | 'always' | 'maybe';

function inPorts(port: number, single?: number, list?: number[], ranges?: Array<[number, number]>): boolean | null {
  if (single === undefined && !list && !ranges) return null;
  return single === port || (list ?? []).includes(port) || (ranges ?? []).some(([low, high]) => port >= low && port <= high);
}

const TCP_PROTOCOLS = new Set(['tcp', '6', 'all', '0']);
const PLAIN_MATCHES = new Set(['tcp', 'multiport', 'conntrack', 'state', 'comment']);

/** Whether a new TCP connection from anywhere to the port meets the rule: never, always, or only for some clients. */
function iptablesMatch(rule: IptablesRule, port: number): { match: Match; conditions: string[] } {
  const negated = (name: string) => rule.negated.includes(name);
  const no = { match: 'no' as const, conditions: [] };
  if (rule.protocol !== undefined && TCP_PROTOCOLS.has(rule.protocol.toLowerCase()) === negated('protocol')) return no;
  const ports = inPorts(port, rule.dport, rule.dports, rule.dportRanges);
  if (ports !== null && ports === negated('dport')) return no;
  if (rule.ctstate && rule.ctstate.includes('NEW') === negated('ctstate')) return no;
  const conditions: string[] = [];
  const describe = (name: string, label: string, value: string | undefined) => {
    if (value !== undefined && value !== '0.0.0.0/0' && value !== '::/0') conditions.push(`${label} ${negated(name) ? 'not ' : ''}${value}`);
  };
  describe('source', 'source', rule.source);
  describe('destination', 'destination', rule.destination);
  describe('inInterface', 'in-interface', rule.inInterface);
  describe('outInterface', 'out-interface', rule.outInterface);
  conditions.push(...rule.matches.filter((m) => !PLAIN_MATCHES.has(m)).map((m) => `-m ${m}`), ...rule.otherConditions);
  return { match: conditions.length ? 'maybe' : 'always', conditions };
}

interface Walk {
  found: BlockingRule[];
  conditionalAccepts: number;
}

const newWalk = (): Walk => ({ found: [], conditionalAccepts: 0 });

const BLOCKING_TARGETS = new Set(['DROP', 'REJECT']);

function blockDescription(rule: IptablesRule, port: number, path: string[], conditions: string[]): string {
  const verb = rule.target === 'DROP' ? 'drops' : 'rejects';
  const via = path.length > 1 ? ` (reached from ${path.join(' -> ')})` : '';
  const only = conditions.length ? `, only when ${conditions.join(', ')}` : '';
  return `iptables ${rule.chain}: "${rule.raw}" ${verb} new TCP connections to port ${port}${via}${only}`;
}

/** Follows a chain the way netfilter does for one packet; 'accept'/'block' when it ends there for every client. */
function walkChain(rules: IptablesRules, chain: string, port: number, path: string[], inherited: string[], walk: Walk): 'accept' | 'block' | 'return' {
  if (path.length > 12) return 'return';
  for (const rule of rules.rules.filter((r) => r.table === 'filter' && r.chain === chain)) {
    const { match, conditions: own } = iptablesMatch(rule, port);
    if (match === 'no') continue;
    const conditions = [...inherited, ...own];
    const always = conditions.length === 0;
    if (rule.target === 'ACCEPT') {
      if (always) return 'accept';
      walk.conditionalAccepts++;
    } else if (BLOCKING_TARGETS.has(rule.target)) {
      walk.found.push({ source: 'iptables', kind: 'rule', chain: rule.chain, rule: rule.raw, conditional: !always, description: blockDescription(rule, port, [...path, rule.chain], conditions) });
      if (always) return 'block';
    } else if (rule.target === 'RETURN' && always) return 'return';
    else if (rules.chains.includes(rule.target) && !path.includes(rule.target)) {
      const outcome = walkChain(rules, rule.target, port, [...path, rule.chain], conditions, walk);
      if (outcome !== 'return' && always) return outcome;
    }
  }
  return 'return';
}

function iptablesBlocks(rules: IptablesRules, port: number, containerPort: number): BlockingRule[] {
  const input = newWalk();
  const inputEnd = walkChain(rules, 'INPUT', port, [], [], input);
  const dockerUser = newWalk();
  walkChain(rules, 'DOCKER-USER', containerPort, [], [], dockerUser);
  const found = [...input.found, ...dockerUser.found];
  if (inputEnd === 'return' && rules.policies.INPUT === 'DROP') {
    const partly = input.conditionalAccepts ? ' (only rules limited to some sources or interfaces accept it)' : '';
    found.push({
      source: 'iptables',
      kind: 'policy',
      chain: 'INPUT',
      rule: '-P INPUT DROP',
      conditional: false,
      description: `iptables INPUT policy is DROP and no INPUT rule accepts TCP port ${port}${partly}: new connections to it are dropped`,
    });
  }
  return found;
}

function ufwMatch(rule: UfwRule, port: number): { match: Match; conditions: string[] } {
  const no = { match: 'no' as const, conditions: [] };
  if (rule.direction === 'OUT' || rule.direction === 'FWD') return no;
  if (rule.protocol !== undefined && rule.protocol !== 'tcp') return no;
  const hasPorts = rule.port !== undefined || rule.ports !== undefined || rule.portRanges !== undefined;
  if (hasPorts && !inPorts(port, rule.port, rule.ports, rule.portRanges)) return no;
  // Without ports the rule covers every port; an application profile this reader does not know covers unknown ones.
  if (!hasPorts && rule.to !== 'Anywhere' && rule.destination === undefined) return no;
  const conditions: string[] = [];
  if (rule.from !== 'Anywhere') conditions.push(`from ${rule.from}`);
  if (rule.interface) conditions.push(`on ${rule.interface}`);
  if (rule.destination) conditions.push(`to ${rule.destination}`);
  return { match: conditions.length ? 'maybe' : 'always', conditions };
}

function ufwFamily(ufw: UfwStatus, port: number, v6: boolean, found: BlockingRule[]): boolean {
  for (const rule of ufw.rules.filter((r) => r.v6 === v6)) {
    const { match, conditions } = ufwMatch(rule, port);
    if (match === 'no') continue;
    if (rule.action === 'ALLOW' || rule.action === 'LIMIT') {
      if (match === 'always') return true;
      continue;
    }
    const verb = rule.action === 'DENY' ? 'denies' : 'rejects';
    const only = conditions.length ? `, only ${conditions.join(', ')}` : '';
    const description = `ufw: "${rule.raw.trim().replace(/\s{2,}/g, '  ')}" ${verb} incoming TCP port ${port} over IPv${v6 ? 6 : 4}${only}`;
    found.push({ source: 'ufw', kind: 'rule', rule: rule.raw.trim(), conditional: match === 'maybe', description });
    if (match === 'always') return false;
  }
  return false;
}

function ufwBlocks(ufw: UfwStatus, port: number): BlockingRule[] {
  const found: BlockingRule[] = [];
  ufwFamily(ufw, port, false, found);
  ufwFamily(ufw, port, true, found);
  return found;
}

/**
 * What stops new TCP connections to `port`: ufw DENY/REJECT rules (first match wins, so an earlier ALLOW for the port
 * shadows them), iptables DROP/REJECT rules reached from INPUT, or from DOCKER-USER for `containerPort` (docker DNATs
 * published ports before filtering, so DOCKER-USER sees the container's port), and INPUT's DROP policy when no rule
 * accepts the port. ufw's default incoming policy is not reported: Docker-published ports go through FORWARD, past
 * ufw's default, so on a Kasm host it is no evidence of a block; an explicit ufw rule is, as the guide treats it.
 */
export function blockingRules(ufw: UfwStatus | null, iptables: IptablesRules | null, port: number, options: { containerPort?: number } = {}): BlockingRule[] {
  const fromUfw = ufw?.active ? ufwBlocks(ufw, port) : [];
  const fromIptables = iptables ? iptablesBlocks(iptables, port, options.containerPort ?? port) : [];
  return [...fromUfw, ...fromIptables];
}
