// The only way a command string reaches a Kasm host. The suite is read-only on servers it does not own, so the set
// is closed: each kind renders one fixed template, every argument is checked against a strict pattern and then
// single-quoted anyway, so neither a check nor a value it read from Kasm (a container name, a session URL) can
// become shell code on the host or inside a container.

export type RemoteCommand =
  | { kind: 'docker-ps' }
  | { kind: 'docker-ps-table' }
  /** `tail`: only the last lines (docker reads those back from the end; `--since` alone decodes the whole log). */
  | { kind: 'docker-logs'; container: string; since: Date; until?: Date; tail?: number }
  /** `maxBytes`: only the file's last bytes (`tail -c`), so a long-lived session's log cannot flood the channel. */
  | { kind: 'docker-exec-read'; container: string; path: string; maxBytes?: number }
  /** Newest first (`ls -1t`): a persistent profile keeps the logs of earlier containers beside the current one. */
  | { kind: 'docker-exec-list'; container: string; dir: string }
  | { kind: 'xvnc-version'; container: string }
  | { kind: 'docker-inspect-env'; container: string }
  /** The container's Docker networks (addresses, aliases): where kasm_api is now, to curl it past kasm_proxy. */
  | { kind: 'docker-inspect-networks'; container: string }
  | { kind: 'ss-listening' }
  | { kind: 'ip-addr' }
  | { kind: 'ufw-status' }
  | { kind: 'iptables-rules' }
  | { kind: 'curl-health'; url: string; timeoutSeconds: number; resolve?: CurlResolve }
  /** The same URL with curl's verbose report (on stdout), for the certificate the server presents (subject, issuer). */
  | { kind: 'curl-cert'; url: string; timeoutSeconds: number; resolve?: CurlResolve };

/**
 * curl's `--resolve host:port:address`: the URL's name taken to an address the host's resolver does not know, as
 * Docker's resolver gives it to the containers of a network (the zone's Upstream Auth Address `proxy`).
 */
export interface CurlResolve {
  host: string;
  port: number;
  address: string;
}

export type RemoteCommandKind = RemoteCommand['kind'];

export class RemoteCommandError extends Error {
  readonly code = 'SSH_COMMAND_NOT_ALLOWED';

  constructor(
    message: string,
    readonly kind: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RemoteCommandError';
  }
}

const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** No quotes, `$`, backticks, whitespace, globs or backslashes: only what real Kasm paths use (`~/.vnc/<host>:1.log`). */
const PATH_CHARS = /^[A-Za-z0-9._:@+,=%/-]*$/;
const MAX_PATH = 1024;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const URL_FORBIDDEN = /[\s'"`\\$<>^|]|[\u0000-\u001f\u007f]/;

/** POSIX single quotes: nothing inside is expanded; a quote in the value is closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value) : String(value));

function refuse(kind: string | undefined, what: string, value: unknown, rule: string): never {
  throw new RemoteCommandError(`${kind ?? 'remote command'}: ${what} ${show(value)} is not allowed: ${rule}`, kind);
}

function container(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !CONTAINER.test(value)) {
    refuse(kind, 'container', value, 'use a docker container name or id (letters, digits, "_", "." and "-", starting with a letter or digit)');
  }
  return value;
}

type ContainerPath = { from: 'root'; path: string } | { from: 'home'; relative: string };

/**
 * Absolute, or relative to the container user's home as `~/...`. The home is only known inside the container, so a
 * `~` path is passed to a fixed script as "$1" and joined to "$HOME" there, never spliced into the script text.
 */
function containerPath(kind: string, what: string, value: unknown, options: { allowHome: boolean }): ContainerPath {
  const rule = 'use an absolute path or ~/relative path without "..", quotes, "$", backticks, spaces or glob characters';
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PATH || value.includes('..')) refuse(kind, what, value, rule);
  if (value === '~' || value === '~/') {
    if (!options.allowHome) refuse(kind, what, value, `${rule}; name a file under ~/`);
    return { from: 'home', relative: '' };
  }
  const relative = value.startsWith('~/') ? value.slice(2) : undefined;
  const checked = relative ?? value;
  if (!PATH_CHARS.test(checked) || (relative === undefined && !value.startsWith('/'))) refuse(kind, what, value, rule);
  if (relative !== undefined) {
    if (relative.startsWith('/')) refuse(kind, what, value, rule);
    return { from: 'home', relative };
  }
  return { from: 'root', path: value };
}

function rfc3339(kind: string, what: string, value: unknown): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) refuse(kind, what, value, 'use a valid Date');
  const text = value.toISOString();
  if (!RFC3339.test(text)) refuse(kind, what, text, 'use a date between the years 0000 and 9999');
  return text;
}

function healthUrl(kind: string, value: unknown): string {
  const rule = 'use an http(s) URL without credentials, quotes, spaces or shell characters';
  if (typeof value !== 'string' || URL_FORBIDDEN.test(value)) refuse(kind, 'url', value, rule);
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new RemoteCommandError(`${kind}: url ${show(value)} is not allowed: it is not a URL; ${rule}`, kind, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(kind, 'url', value, `${rule} (got ${url.protocol})`);
  if (url.username || url.password) refuse(kind, 'url', `${url.protocol}//***@${url.host}`, `${rule}; credentials must not reach a host's process list or shell history`);
  if (URL_FORBIDDEN.test(url.href)) refuse(kind, 'url', url.href, rule);
  return url.href;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}))*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** ` --resolve 'host:port:address'`, or nothing; a name, port or address out of shape is refused. */
function resolveOption(kind: string, value: CurlResolve | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'object' || value === null) refuse(kind, 'resolve', value, 'use { host, port, address }');
  if (typeof value.host !== 'string' || !HOST_NAME.test(value.host)) refuse(kind, 'resolve host', value.host, 'use a host name (letters, digits, "-", "_" and dots)');
  if (typeof value.port !== 'number' || !Number.isInteger(value.port) || value.port < 1 || value.port > 65535) refuse(kind, 'resolve port', value.port, 'use a port from 1 to 65535');
  if (typeof value.address !== 'string' || !IPV4.test(value.address)) refuse(kind, 'resolve address', value.address, 'use an IPv4 address');
  return ` --resolve ${shellQuote(`${value.host}:${value.port}:${value.address}`)}`;
}

function byteLimit(kind: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1024 ** 3) refuse(kind, 'maxBytes', value, 'use a whole number of bytes from 1 to 1 GiB');
  return value;
}

function seconds(kind: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 120) refuse(kind, 'timeoutSeconds', value, 'use a whole number from 1 to 120');
  return value;
}

const dockerExec = (name: string) => `docker exec ${shellQuote(name)}`;

/** `docker exec` without -t/-i: no TTY (Kasm images would otherwise turn LF into CRLF) and no stdin to wait on. */
function execInContainer(name: string, program: string, target: ContainerPath): string {
  if (target.from === 'root') return `${dockerExec(name)} ${program} -- ${shellQuote(target.path)}`;
  return `${dockerExec(name)} sh -c ${shellQuote(`${program} -- "$HOME/$1"`)} sh ${shellQuote(target.relative)}`;
}

function dockerLogs(command: Extract<RemoteCommand, { kind: 'docker-logs' }>): string {
  const name = container(command.kind, command.container);
  const since = rfc3339(command.kind, 'since', command.since);
  let until = '';
  if (command.until !== undefined) {
    const text = rfc3339(command.kind, 'until', command.until);
    if (command.until.getTime() < command.since.getTime()) refuse(command.kind, 'until', text, `use a time after since (${since})`);
    until = ` --until ${shellQuote(text)}`;
  }
  let tail = '';
  if (command.tail !== undefined) {
    if (!Number.isInteger(command.tail) || command.tail < 1 || command.tail > 10_000_000) refuse(command.kind, 'tail', command.tail, 'use a whole number of lines from 1 to 10000000');
    tail = ` --tail ${command.tail}`;
  }
  // Kasm services log to stderr as much as stdout; one stream keeps their order.
  return `docker logs --since ${shellQuote(since)}${until}${tail} ${shellQuote(name)} 2>&1`;
}

function curlHealth(command: Extract<RemoteCommand, { kind: 'curl-health' }>): string {
  const url = healthUrl(command.kind, command.url);
  const timeout = seconds(command.kind, command.timeoutSeconds);
  // --globoff: curl would otherwise expand [] and {} in the URL into several requests.
  return `curl -sS -k -g --max-time ${timeout}${resolveOption(command.kind, command.resolve)} -o - -w '\\n%{http_code}' ${shellQuote(url)}`;
}

/** The command text without sudo; throws RemoteCommandError for anything outside the allow-list. */
function renderBare(command: RemoteCommand): { text: string; privileged: boolean } {
  switch (command.kind) {
    case 'docker-ps':
      return { text: `docker ps -a --no-trunc --format '{{json .}}'`, privileged: true };
    case 'docker-ps-table':
      return { text: 'docker ps -a', privileged: true };
    case 'docker-logs':
      return { text: dockerLogs(command), privileged: true };
    case 'docker-exec-read': {
      const reader = command.maxBytes === undefined ? 'cat' : `tail -c ${byteLimit(command.kind, command.maxBytes)}`;
      return { text: execInContainer(container(command.kind, command.container), reader, containerPath(command.kind, 'path', command.path, { allowHome: false })), privileged: true };
    }
    case 'docker-exec-list':
      return { text: execInContainer(container(command.kind, command.container), 'ls -1t', containerPath(command.kind, 'dir', command.dir, { allowHome: true })), privileged: true };
    case 'xvnc-version':
      // Xvnc prints its banner on stderr.
      return { text: `${dockerExec(container(command.kind, command.container))} Xvnc -version 2>&1`, privileged: true };
    case 'docker-inspect-env':
      return { text: `docker inspect --format '{{json .Config.Env}}' ${shellQuote(container(command.kind, command.container))}`, privileged: true };
    case 'docker-inspect-networks':
      return { text: `docker inspect --format '{{json .NetworkSettings.Networks}}' ${shellQuote(container(command.kind, command.container))}`, privileged: true };
    case 'ss-listening':
      return { text: 'ss -ltn', privileged: false };
    case 'ip-addr':
      return { text: 'ip -o addr', privileged: false };
    case 'ufw-status':
      return { text: 'ufw status verbose', privileged: true };
    case 'iptables-rules':
      return { text: 'iptables -S', privileged: true };
    case 'curl-health':
      return { text: curlHealth(command), privileged: false };
    case 'curl-cert':
      return { text: `curl -sS -k -g -v --max-time ${seconds(command.kind, command.timeoutSeconds)}${resolveOption(command.kind, command.resolve)} -o /dev/null ${shellQuote(healthUrl(command.kind, command.url))} 2>&1`, privileged: false };
    default: {
      const kind: unknown = (command as { kind?: unknown } | null)?.kind;
      return refuse(typeof kind === 'string' ? kind : undefined, 'command kind', kind, 'only the read-only commands in helpers/probes/remote-commands.ts can be sent');
    }
  }
}

/**
 * Renders an allow-listed command. `sudo: true` runs docker, ufw and iptables through `sudo -n`, which fails at once
 * instead of waiting for a password nobody will type; ss, ip and curl need no privileges.
 */
export function renderCommand(command: RemoteCommand, options: { sudo: boolean }): string {
  if (typeof command !== 'object' || command === null) refuse(undefined, 'command', command, 'pass a RemoteCommand object');
  const { text, privileged } = renderBare(command);
  return options.sudo && privileged ? `sudo -n ${text}` : text;
}

const NAME_RE = '[A-Za-z0-9][A-Za-z0-9_.-]*';
// sudoers wants `,`, `:` and `=` escaped even inside a regular expression.
const PATH_RE = '[A-Za-z0-9._\\:@+\\,\\=%/-]*';
const READERS_RE = '(cat|tail -c [0-9]+|ls -1t)';

/**
 * The sudoers rule that lets `user` run exactly the privileged commands above with `sudo -n`, and nothing else: each
 * argument list is a regular expression (sudo 1.9.10 and later) of the templates renderBare writes, so a container
 * name cannot carry another argument and `docker exec` cannot run anything but the readers. The README shows it;
 * the project's tests run it through real sudo.
 */
export function sudoersRule(user: string, docker = '/usr/bin/docker', sbin = '/usr/sbin'): string {
  const when = '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}\\:[0-9]{2}\\:[0-9]{2}\\.[0-9]{3}Z';
  const commands = [
    `${docker} ps -a`,
    `${docker} ps -a --no-trunc --format {{json .}}`,
    `${docker} ^logs --since ${when}( --until ${when})?( --tail [0-9]+)? ${NAME_RE}$`,
    `${docker} ^exec ${NAME_RE} ${READERS_RE} -- /${PATH_RE}$`,
    `${docker} ^exec ${NAME_RE} sh -c ${READERS_RE} -- "\\$HOME/\\$1" sh ${PATH_RE}$`,
    `${docker} ^exec ${NAME_RE} Xvnc -version$`,
    `${docker} ^inspect --format \\{\\{json \\.Config\\.Env\\}\\} ${NAME_RE}$`,
    `${docker} ^inspect --format \\{\\{json \\.NetworkSettings\\.Networks\\}\\} ${NAME_RE}$`,
    `${sbin}/ufw status verbose`,
    `${sbin}/iptables -S`,
  ];
  return [
    '# kasm-synthetics: the read-only commands the suite sends with `sudo -n` (helpers/probes/remote-commands.ts)',
    `Cmnd_Alias KASM_SYNTHETICS = ${commands.join(', \\\n    ')}`,
    `${user} ALL=(root) NOPASSWD: KASM_SYNTHETICS`,
    '',
  ].join('\n');
}
