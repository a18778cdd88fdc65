// `docker ps [-a]` as a table (default or `--format 'table ...'`) and as `--format '{{json .}}'` lines.
// The table is docker's text/tabwriter output: cells padded to their column, at least 3 spaces apart, empty cells
// (PORTS of a stopped container) left blank, so a row can have fewer cells than the header has columns.
import { isIPv4 } from 'node:net';
import { isBlank, looksBinary, parseIsoTime, parseJsonObject, splitLines } from './text.ts';

export type ContainerRunState = 'up' | 'restarting' | 'exited' | 'created' | 'paused' | 'dead' | 'unknown';
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting' | null;

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

export interface DockerContainer {
  id: string;
  image: string;
  /** Without the quotes docker prints around it (still truncated with `…` unless --no-trunc). */
  command: string;
  /** As shown: `6 days ago` (the CREATED column / RunningFor), else the CreatedAt text. */
  created: string;
  /** CreatedAt when the output carries it (JSON lines, a `CREATED AT` column). */
  createdAt: Date | null;
  status: string;
  ports: string;
  names: string;
  state: ContainerRunState;
  health: ContainerHealth;
  exitCode: number | null;
  portMappings: PortMapping[];
  /** Parts of `ports` that are neither a single published port nor an exposed one: port ranges, damaged text. */
  unreadPorts: string[];
  format: 'table' | 'json';
  raw: string;
}

export interface DockerPs {
  containers: DockerContainer[];
  unparsed: string[];
}

type Key = 'id' | 'image' | 'command' | 'created' | 'createdAt' | 'status' | 'ports' | 'names' | 'state' | 'other';

const HEADERS: Record<string, Key> = {
  'CONTAINER ID': 'id',
  IMAGE: 'image',
  COMMAND: 'command',
  CREATED: 'created',
  'RUNNING FOR': 'created',
  'CREATED AT': 'createdAt',
  STATUS: 'status',
  PORTS: 'ports',
  NAMES: 'names',
  STATE: 'state',
  SIZE: 'other',
  LABELS: 'other',
  MOUNTS: 'other',
  NETWORKS: 'other',
  'LOCAL VOLUMES': 'other',
};

// Docker leaves these cells blank when there is nothing to show; every other column always has text.
const MAY_BE_EMPTY = new Set(['PORTS', 'LABELS', 'MOUNTS', 'NETWORKS', 'STATUS', 'SIZE']);

interface Cell {
  text: string;
  start: number;
}

interface Column {
  header: string;
  key: Key;
  start: number;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0';

/**
 * The cells of a table line: runs of words joined by single spaces, scanned by hand: the regular expression for it
 * (a non-space run, then any number of a space and a non-space run) overflows V8's stack on a line of megabytes of
 * single-spaced words.
 */
function cells(line: string): Cell[] {
  const out: Cell[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isSpace(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let end = i;
    while (i < line.length) {
      if (!isSpace(line[i]!)) end = ++i;
      else if (line[i] === ' ' && i + 1 < line.length && !isSpace(line[i + 1]!)) i++;
      else break;
    }
    out.push({ text: line.slice(start, end), start });
  }
  return out;
}

function headerColumns(line: string): Column[] | null {
  const found = cells(line);
  const columns = found.map((cell) => ({ header: cell.text, key: HEADERS[cell.text], start: cell.start }));
  if (columns.length === 0 || columns.some((c) => c.key === undefined)) return null;
  return columns.map((c) => ({ header: c.header, key: c.key ?? 'other', start: c.start }));
}

/**
 * Which column each cell belongs to when some cells are blank: the in-order assignment closest to the header
 * positions, skipping only columns docker may leave empty (the guide's pasted tables are not exactly aligned).
 */
function assign(found: Cell[], columns: Column[]): Map<Column, string> | null {
  const n = found.length;
  const m = columns.length;
  const SKIP_NON_EMPTY = 1e6;
  const cost: number[][] = Array.from({ length: n + 1 }, () => Array<number>(m + 1).fill(Infinity));
  cost[0]![0] = 0;
  for (let j = 1; j <= m; j++) {
    const column = columns[j - 1]!;
    const skip = MAY_BE_EMPTY.has(column.header) ? 0 : SKIP_NON_EMPTY;
    for (let i = 0; i <= Math.min(n, j); i++) {
      const skipped = cost[i]![j - 1]! + skip;
      const taken = i > 0 ? cost[i - 1]![j - 1]! + Math.abs(found[i - 1]!.start - column.start) : Infinity;
      cost[i]![j] = Math.min(skipped, taken);
    }
  }
  if (cost[n]![m]! >= SKIP_NON_EMPTY) return null;
  const result = new Map<Column, string>();
  for (let i = n, j = m; j > 0; j--) {
    const column = columns[j - 1]!;
    const taken = i > 0 ? cost[i - 1]![j - 1]! + Math.abs(found[i - 1]!.start - column.start) : Infinity;
    if (i > 0 && cost[i]![j] === taken) {
      result.set(column, found[i - 1]!.text);
      i--;
    }
  }
  return result;
}

/** Fallback when a row has more cells than the header has columns (two spaces inside a value): cut at the header positions. */
function slice(line: string, columns: Column[]): Map<Column, string> {
  return new Map(columns.map((column, i) => [column, line.slice(column.start, columns[i + 1]?.start ?? line.length).trim()]));
}

function rowValues(line: string, columns: Column[]): Partial<Record<Key, string>> | null {
  const found = cells(line);
  const byColumn = found.length > columns.length ? slice(line, columns) : assign(found, columns);
  if (!byColumn) return null;
  const values: Partial<Record<Key, string>> = {};
  for (const [column, text] of byColumn) if (column.key !== 'other') values[column.key] = text;
  return values;
}

const PUBLISHED = /^(.*):(\d+)->(\d+)\/(\w+)$/;
const EXPOSED = /^\d+(?:-\d+)?\/\w+$/;

/** `0.0.0.0:443->443/tcp, :::443->443/tcp, [::]:8443->443/tcp, 80/tcp` into published mappings and what could not be read. */
export function parseDockerPorts(ports: string): { mappings: PortMapping[]; unread: string[] } {
  const mappings: PortMapping[] = [];
  const unread: string[] = [];
  for (const part of ports.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = PUBLISHED.exec(part);
    if (m) mappings.push({ hostIp: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1'), hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: m[4] ?? '' });
    else if (!EXPOSED.test(part)) unread.push(part);
  }
  return { mappings, unread };
}

const STATE_WORDS: Record<string, ContainerRunState> = { running: 'up', restarting: 'restarting', exited: 'exited', created: 'created', paused: 'paused', dead: 'dead' };

/** The daemon's State.String(): `Up 6 days (healthy)`, `Up 2 hours (Paused)`, `Restarting (1) 4 seconds ago`, `Exited (137) 2 hours ago`. */
function readStatus(status: string, stateWord: string): Pick<DockerContainer, 'state' | 'health' | 'exitCode'> {
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1];
  const result: Pick<DockerContainer, 'state' | 'health' | 'exitCode'> = {
    state: STATE_WORDS[stateWord.toLowerCase()] ?? 'unknown',
    health: health === 'health: starting' ? 'starting' : ((health as ContainerHealth | undefined) ?? null),
    exitCode: null,
  };
  const stopped = /^(Restarting|Exited) \((-?\d+)\)/.exec(status);
  if (/^Up\b/.test(status)) result.state = /\(Paused\)/.test(status) ? 'paused' : 'up';
  else if (stopped) {
    result.state = stopped[1] === 'Restarting' ? 'restarting' : 'exited';
    result.exitCode = Number(stopped[2]);
  } else if (status === 'Created') result.state = 'created';
  else if (status === 'Dead') result.state = 'dead';
  return result;
}

/** `2024-11-18 12:00:00 +0000 UTC` (Go's time.String(), docker's CreatedAt). */
function readCreatedAt(text: string): Date | null {
  return parseIsoTime(text.replace(/ [A-Z]{2,5}$/, ''));
}

function unquote(command: string): string {
  return /^".*"$/s.test(command) ? command.slice(1, -1).replace(/\\(["\\])/g, '$1') : command;
}

function container(values: Partial<Record<Key, string>>, format: DockerContainer['format'], raw: string): DockerContainer {
  const status = values.status ?? '';
  const ports = values.ports ?? '';
  const { mappings, unread } = parseDockerPorts(ports);
  return {
    id: values.id ?? '',
    image: values.image ?? '',
    command: unquote(values.command ?? ''),
    created: values.created || (values.createdAt ?? ''),
    createdAt: values.createdAt ? readCreatedAt(values.createdAt) : null,
    status,
    ports,
    names: values.names ?? '',
    ...readStatus(status, values.state ?? ''),
    portMappings: mappings,
    unreadPorts: unread,
    format,
    raw,
  };
}

function plausible(values: Partial<Record<Key, string>>): boolean {
  if (values.id !== undefined && !/^[0-9a-f]{12,64}$/i.test(values.id)) return false;
  if (values.names !== undefined && !/^[\w.\-/,]+$/.test(values.names)) return false;
  return Object.values(values).some((value) => value !== '');
}

function fromJson(line: string): DockerContainer | null {
  const record = parseJsonObject(line);
  if (!record) return null;
  const text = (key: string) => (typeof record[key] === 'string' ? (record[key] as string) : undefined);
  const values: Partial<Record<Key, string>> = {
    id: text('ID'),
    image: text('Image'),
    command: text('Command'),
    created: text('RunningFor'),
    createdAt: text('CreatedAt'),
    status: text('Status'),
    ports: text('Ports'),
    names: text('Names'),
    state: text('State'),
  };
  if (values.id === undefined && values.names === undefined) return null;
  return plausible(values) ? container(values, 'json', line) : null;
}

// A row without its header (`docker ps | grep kasm`, which Kasm's staff ask for), with docker's column gaps or with
// spaces collapsed: id, image, the quoted command, `... ago`, the status, the ports (may be empty), the names.
const HEADERLESS = new RegExp(
  [
    '^([0-9a-f]{12,64})\\s+(\\S+)\\s+("(?:[^"\\\\]|\\\\.)*"|\\S+)\\s+',
    '((?:About an? |Less than a |\\d+ )\\S+(?: \\S+)? ago)\\s+',
    '((?:Up|Exited|Restarting|Created|Paused|Dead|Removal)\\b.*?)',
    '(?:\\s+((?:\\S*\\d+(?:-\\d+)?\\/(?:tcp|udp|sctp),?\\s*)+))?',
    // The names may wrap onto a line of their own when a narrow terminal was copied.
    '(?:\\s+([\\w.\\-/,]+))?$',
  ].join(''),
);

/** A row is a few hundred characters; past this the pattern's backtracking, not the row, would cost the time. */
const HEADERLESS_MAX = 4_000;

function headerless(line: string): Partial<Record<Key, string>> | undefined {
  if (line.length > HEADERLESS_MAX) return undefined;
  const m = HEADERLESS.exec(line.trim());
  if (!m || /\/(?:tcp|udp|sctp)$/.test(m[7] ?? '')) return undefined;
  return { id: m[1], image: m[2], command: m[3], created: m[4], status: m[5]!.trim(), ports: (m[6] ?? '').trim(), ...(m[7] ? { names: m[7] } : {}) };
}

/** `2 hours ago`, `About an hour ago`, `Less than a second ago` (docker's units.HumanDuration) in seconds. */
export function agoSeconds(text: string): number | null {
  const m = /^(?:Up )?(Less than a|About an?|\d+) (second|minute|hour|day|week|month|year)s?(?: ago)?\b/.exec(text.trim());
  if (!m) return null;
  const unit = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800, month: 2_592_000, year: 31_536_000 }[m[2] as 'second'];
  if (m[1] === 'Less than a') return 0;
  return (m[1]!.startsWith('About') ? 1 : Number(m[1])) * unit;
}

/** Up for less than a minute in a container created ten minutes or more before: it has just (re)started. */
export function justRestarted(c: Pick<DockerContainer, 'state' | 'status' | 'created'>): boolean {
  if (c.state !== 'up') return false;
  const up = agoSeconds(c.status);
  const created = agoSeconds(c.created);
  return up !== null && created !== null && up < 60 && created >= 600;
}

/** Reads `docker ps` tables and `{{json .}}` lines; a new header line starts a new table; rows without one too. */
export function parseDockerPs(input: string): DockerPs {
  const result: DockerPs = { containers: [], unparsed: [] };
  let columns: Column[] | null = null;
  for (const line of splitLines(input)) {
    if (isBlank(line)) continue;
    if (line.trimStart().startsWith('{')) {
      const parsed = fromJson(line.trim());
      if (parsed) result.containers.push(parsed);
      else result.unparsed.push(line);
      continue;
    }
    const header = looksBinary(line) ? null : headerColumns(line);
    if (header) {
      columns = header;
      continue;
    }
    const last = result.containers.at(-1);
    if (last && !last.names && /^\s*[\w.-]+\s*$/.test(line)) {
      last.names = line.trim();
      continue;
    }
    const values = columns && !looksBinary(line) ? rowValues(line, columns) : (headerless(line) ?? null);
    if (values && plausible(values)) result.containers.push(container(values, 'table', line));
    else result.unparsed.push(line);
  }
  return result;
}

/**
 * The IPv4 addresses in `docker inspect --format '{{json .NetworkSettings.Networks}}'` (one JSON object per line, one
 * entry per network): where the container answers now. Anything that is not such an object gives no address.
 */
export function parseNetworkAddresses(input: string): string[] {
  return parseNetworkNames(input).map((n) => n.address);
}

export interface NetworkNames {
  network: string;
  /** The container's IPv4 address on that network. */
  address: string;
  /** The names Docker's resolver answers with that address inside the network: Aliases and DNSNames (Docker 26+). */
  names: string[];
}

/**
 * Each network of `docker inspect --format '{{json .NetworkSettings.Networks}}'` with the container's address and the
 * names its resolver gives it there (`--network-alias proxy`, compose's service name). The container's own name
 * resolves too, but Docker before 26 does not list it: the caller adds it.
 */
export function parseNetworkNames(input: string): NetworkNames[] {
  return input.split('\n').flatMap((line) => {
    let networks: unknown;
    try {
      networks = JSON.parse(line);
    } catch {
      return [];
    }
    if (typeof networks !== 'object' || networks === null || Array.isArray(networks)) return [];
    return Object.entries(networks).flatMap(([network, n]: [string, unknown]) => {
      if (typeof n !== 'object' || n === null) return [];
      const { IPAddress: address, Aliases: aliases, DNSNames: dnsNames } = n as { IPAddress?: unknown; Aliases?: unknown; DNSNames?: unknown };
      if (typeof address !== 'string' || !isIPv4(address)) return [];
      const names = [aliases, dnsNames].flatMap((list) => (Array.isArray(list) ? list.filter((name): name is string => typeof name === 'string') : []));
      return [{ network, address, names: [...new Set(names)] }];
    });
  });
}

/**
 * The prefixes Kasm may give the synthetic user's session containers (`<user part>_<first 8 of kasm_id>`): the user
 * name with what a container name cannot hold removed, whole or its part before `@`, cut to 12 (the lab's form; other
 * versions may cut elsewhere, so the uncut forms count too).
 */
export function ownContainerPrefixes(username: string | undefined): string[] {
  if (!username) return [];
  const forms = [username, username.split('@')[0]!].map((u) => u.replace(/[^a-zA-Z0-9.]/g, ''));
  return [...new Set(forms.flatMap((f) => [f, f.slice(0, 12)]).filter((f) => f.length >= 3))];
}

/**
 * `docker ps -a` output (table or `{{json .}}` lines) for a transcript: Kasm's own service containers (`kasm_*`) and
 * the synthetic user's sessions stay; other users' session containers are left out and counted, never named.
 */
export function maskOtherContainers(stdout: string, ownPrefixes: string[]): string {
  const own = (names: string) => names.split(',').every((n) => /^kasm_/.test(n) || ownPrefixes.some((p) => n.startsWith(`${p}_`)));
  let masked = 0;
  let columns: Column[] | null = null;
  const kept = splitLines(stdout).filter((line) => {
    if (isBlank(line)) return true;
    if (line.trimStart().startsWith('{')) {
      const parsed = fromJson(line.trim());
      if (parsed && own(parsed.names)) return true;
      masked++;
      return false;
    }
    const header = looksBinary(line) ? null : headerColumns(line);
    if (header) {
      columns = header;
      return true;
    }
    const values = columns && !looksBinary(line) ? rowValues(line, columns) : null;
    if (values && own(values.names ?? '')) return true;
    masked++;
    return false;
  });
  if (masked) kept.push(`[${masked} other container${masked === 1 ? '' : 's'} (other users' sessions) left out of this transcript]`);
  return kept.join('\n');
}
