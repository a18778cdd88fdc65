// Read-only SSH to Kasm WebApp and agent servers, to prove a request crossed each hop. Host keys are checked before
// authentication (strict unless explicitly opted out), one connection per host serves every check, nothing waits
// past its timeout, and every command with its redacted output stays in a transcript for attachments.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { redact } from '../redact.ts';
import { RemoteCommandError, renderCommand, type RemoteCommand } from './remote-commands.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface SshConnectOptions {
  host: string;
  port: number;
  user: string;
  /** Private key file (OpenSSH or PEM); `~/` is the local home. One of keyFile / agentSocket is required. */
  keyFile?: string;
  passphrase?: string;
  /** ssh-agent socket, usually $SSH_AUTH_SOCK. */
  agentSocket?: string;
  knownHostsFile?: string;
  /** Pinned `SHA256:...` fingerprints as `ssh-keygen -lf` prints them; when set they decide alone. */
  fingerprints?: string[];
  /** Accepts a host key that cannot be verified. Loud: a process warning, and hostKey.verifiedBy says so. */
  insecureHostKey?: boolean;
  jump?: Omit<SshConnectOptions, 'jump'>;
  sudo: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Output kept per command (stdout + stderr) before the channel is closed; default 4 MiB. */
  maxOutputBytes?: number;
  /** What the transcript may keep of a kind's stdout when the call gives no `keep` of its own (other users' data). */
  transcriptKeep?: Partial<Record<RemoteCommand['kind'], (stdout: string) => string>>;
}

export interface CommandResult {
  command: string;
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export type SshErrorCode =
  | 'SSH_HOST_KEY_UNKNOWN'
  | 'SSH_HOST_KEY_MISMATCH'
  | 'SSH_UNREACHABLE'
  | 'SSH_TIMEOUT'
  | 'SSH_AUTH'
  | 'SSH_JUMP'
  | 'SSH_SUDO_PASSWORD'
  | 'SSH_COMMAND_TIMEOUT'
  | 'SSH_CONFIG'
  | 'SSH_COMMAND_NOT_ALLOWED';

export type HostKeyVerification = 'known_hosts' | 'pinned' | 'NOT VERIFIED (insecure opt-out)';

export interface HostKeyInfo {
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** Key type from the blob, e.g. `ssh-ed25519`. */
  type: string;
  verifiedBy: HostKeyVerification;
}

export interface RunOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** What the transcript may keep of stdout, for output holding values nobody may read (a container's environment). */
  keep?: (stdout: string) => string;
}

export class SshError extends Error {
  /** The key the server presented (host key errors). */
  readonly fingerprint?: string;
  /** What known_hosts or the pins expected (mismatch). */
  readonly expected?: string[];
  /** The command's result when a command caused the error (sudo password, lost connection). */
  readonly result?: CommandResult;

  constructor(
    readonly code: SshErrorCode,
    /** `host:port` the error is about (the jump host's for SSH_JUMP). */
    readonly host: string,
    readonly problem: string,
    /** What to do next. */
    readonly hint: string,
    details: { cause?: unknown; fingerprint?: string; expected?: string[]; result?: CommandResult } = {},
  ) {
    super(hint ? `${problem}. ${hint}` : problem, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SshError';
    this.fingerprint = details.fingerprint;
    this.expected = details.expected;
    this.result = details.result;
  }
}

const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;
/** Per stream in the transcript: an attachment, not an archive. */
const TRANSCRIPT_KEEP = 64 * 1024;
/** Below OpenSSH's default MaxSessions (10), so parallel checks on one host never get "open failed". */
const CHANNELS_PER_HOST = 8;
/** Our own guard behind ssh2's readyTimeout, in case a phase it does not cover stalls. */
const CONNECT_GUARD_MS = 500;
const CLOSE_GRACE_MS = 1000;
const KEEPALIVE_MS = 15_000;
const INSECURE_WARNING = 'KASM_SSH_INSECURE_HOST_KEY';

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE']);
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
const SUDO_PROMPT = /^(?:sudo: a password is required|sudo: a terminal is required|\[sudo\] password for )/m;

// ---------------------------------------------------------------------------------------------- host keys

/** `ssh-keygen -lf`: SHA256 over the public key blob, base64 without padding. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type is the blob's first SSH string. */
function blobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return length > 0 && length < 64 && blob.length >= 4 + length ? blob.subarray(4, 4 + length).toString('latin1') : 'unknown';
}

interface KnownHost {
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string;
  type: string;
  key: Buffer;
}

function parseKnownHostsLine(text: string, line: number): KnownHost | undefined {
  const fields = text.trim().split(/\s+/);
  const marker = fields[0] === '@revoked' ? 'revoked' : fields[0] === '@cert-authority' ? 'cert-authority' : undefined;
  const [patterns, type, key] = marker ? fields.slice(1) : fields;
  if (!patterns || !type || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return undefined;
  return { line, marker, patterns, type, key: Buffer.from(key, 'base64') };
}

function readKnownHosts(file: string): KnownHost[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((text, index) => (text.trim() === '' || text.trim().startsWith('#') ? undefined : parseKnownHostsLine(text, index + 1)))
    .filter((entry): entry is KnownHost => entry !== undefined);
}

/** OpenSSH names a non-default port `[host]:port`; `[host]:22` is accepted as well as the plain name. */
function knownHostsNames(host: string, port: number): string[] {
  const name = host.toLowerCase();
  return port === 22 ? [name, `[${name}]:22`] : [`[${name}]:${port}`];
}

function globMatch(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/** `|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt (HashKnownHosts yes). */
function hashedMatch(pattern: string, names: string[]): boolean {
  const [, version, salt, hash] = pattern.split('|');
  if (version !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  return names.some((name) => {
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
}

/** A comma list matches when a pattern matches and no negated (`!`) pattern does, as in OpenSSH's match_hostname. */
function hostMatches(patterns: string, names: string[]): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, names);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const hit = names.some((name) => globMatch(negated ? pattern.slice(1) : pattern, name));
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

interface HostKeyPolicy {
  /** `user@host:port`, the prefix of every message. */
  label: string;
  /** `host:port`, SshError.host. */
  target: string;
  host: string;
  port: number;
  knownHostsFile: string | undefined;
  knownHosts: KnownHost[];
  pins: string[];
  insecure: boolean;
}

type HostKeyVerdict = { ok: true; info: HostKeyInfo; warning?: string } | { ok: false; error: SshError };

/** helpers/config.ts keys pins by host name alone. */
function pinHint(policy: HostKeyPolicy, seen: string): string {
  return `KASM_SSH_FINGERPRINTS=${policy.host.toLowerCase()}=${seen}`;
}

function scanHint(policy: HostKeyPolicy): string {
  const file = policy.knownHostsFile ?? '~/.ssh/known_hosts';
  return `ssh-keyscan -p ${policy.port} ${policy.host} >> ${file}, then compare \`ssh-keygen -lf ${file}\` with what the host's owner reads from \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\``;
}

function unknownHost(policy: HostKeyPolicy, seen: string, type: string): SshError {
  const where = policy.knownHostsFile ? `is not in ${policy.knownHostsFile}` : 'cannot be checked: no known_hosts file is configured (KASM_SSH_KNOWN_HOSTS)';
  return new SshError(
    'SSH_HOST_KEY_UNKNOWN',
    policy.target,
    `${policy.label}: host key ${seen} (${type}) ${where} and no fingerprint is pinned`,
    `Verify the key out of band, then either add it: ${scanHint(policy)}; or pin it: ${pinHint(policy, seen)}`,
    { fingerprint: seen },
  );
}

function mismatch(policy: HostKeyPolicy, seen: string, type: string, expected: string[], source: string): SshError {
  return new SshError(
    'SSH_HOST_KEY_MISMATCH',
    policy.target,
    `${policy.label}: HOST KEY MISMATCH, the server presented ${seen} (${type}) but ${source} expects ${expected.join(' or ')}. This can be a man-in-the-middle attack, or the host was reinstalled`,
    `Do not connect until the host's owner confirms ${seen} out of band; then replace the old entry (ssh-keygen -R '${knownHostsNames(policy.host, policy.port)[0]}' -f ${policy.knownHostsFile ?? '~/.ssh/known_hosts'}, then ${scanHint(policy)}) or update the pin (${pinHint(policy, seen)})`,
    { fingerprint: seen, expected },
  );
}

type Judgement = { info: HostKeyInfo } | { error: SshError; revoked: boolean };

function judgeHostKey(policy: HostKeyPolicy, blob: Buffer): Judgement {
  const seen = fingerprintOf(blob);
  const type = blobType(blob);
  const same = (entry: KnownHost) => entry.key.equals(blob);
  const names = knownHostsNames(policy.host, policy.port);
  const revoked = policy.knownHosts.find((entry) => entry.marker === 'revoked' && same(entry));
  if (revoked) return { error: mismatch(policy, seen, type, ['any key but this one'], `${policy.knownHostsFile}:${revoked.line} (@revoked)`), revoked: true };
  if (policy.pins.length) {
    if (policy.pins.includes(seen)) return { info: { fingerprint: seen, type, verifiedBy: 'pinned' } };
    return { error: mismatch(policy, seen, type, policy.pins, 'the pinned fingerprint'), revoked: false };
  }
  const entries = policy.knownHosts.filter((entry) => entry.marker === undefined && hostMatches(entry.patterns, names));
  if (entries.some(same)) return { info: { fingerprint: seen, type, verifiedBy: 'known_hosts' } };
  if (entries.length) {
    const expected = entries.map((entry) => `${fingerprintOf(entry.key)} (${entry.type})`);
    return { error: mismatch(policy, seen, type, expected, `${policy.knownHostsFile} (line ${entries.map((entry) => entry.line).join(', ')})`), revoked: false };
  }
  return { error: unknownHost(policy, seen, type), revoked: false };
}

/**
 * Strict unless opted out. The opt-out still verifies when it can (so the result says "known_hosts" when the key
 * matches), says what it let through when it cannot, and never accepts a key known_hosts marks @revoked.
 */
function verifyHostKey(policy: HostKeyPolicy, blob: Buffer): HostKeyVerdict {
  const judged = judgeHostKey(policy, blob);
  if ('info' in judged) return { ok: true, info: judged.info };
  if (!policy.insecure || judged.revoked) return { ok: false, error: judged.error };
  return {
    ok: true,
    info: { fingerprint: fingerprintOf(blob), type: blobType(blob), verifiedBy: 'NOT VERIFIED (insecure opt-out)' },
    warning: `${policy.label}: host key NOT VERIFIED (insecure opt-out), accepted anyway: ${judged.error.problem.replace(`${policy.label}: `, '')}`,
  };
}

const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};
const DEFAULT_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Like OpenSSH: ask first for the key types known_hosts holds, so a host with several keys is not a false mismatch. */
function hostKeyAlgorithms(policy: HostKeyPolicy): ConnectConfig['algorithms'] {
  const names = knownHostsNames(policy.host, policy.port);
  const known = policy.knownHosts.filter((entry) => entry.marker === undefined && hostMatches(entry.patterns, names)).flatMap((entry) => ALGORITHMS_FOR_TYPE[entry.type] ?? []);
  if (!known.length) return undefined;
  const ordered = [...new Set([...known, ...DEFAULT_HOST_KEY_ALGORITHMS])];
  return { serverHostKey: ordered as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
}

// ---------------------------------------------------------------------------------------------- options

interface Prepared {
  options: Omit<SshConnectOptions, 'jump'>;
  label: string;
  policy: HostKeyPolicy;
  privateKey: Buffer | undefined;
  maxOutputBytes: number;
}

const expandHome = (file: string) => (file === '~' ? homedir() : file.startsWith('~/') ? `${homedir()}/${file.slice(2)}` : file);

function configError(label: string, problem: string, hint: string, cause?: unknown): SshError {
  return new SshError('SSH_CONFIG', label.replace(/^[^@]*@/, ''), `${label}: ${problem}`, hint, { cause });
}

function readLocalFile(label: string, what: string, file: string, hint: string): Buffer {
  try {
    return readFileSync(expandHome(file));
  } catch (error) {
    throw configError(label, `cannot read the ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint, error);
  }
}

function checkNumbers(label: string, options: Omit<SshConnectOptions, 'jump'>): void {
  const positive = (name: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw configError(label, `${name} must be a whole number above 0, got ${String(value)}`, 'Fix the option (KASM_TIMEOUT_SSH_MS for the timeouts)');
  };
  if (typeof options.host !== 'string' || !/^[^\s@/]+$/.test(options.host)) throw configError(label, `host ${JSON.stringify(options.host)} is not a host name or IP`, 'Write SSH targets as user@host[:port]');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw configError(label, `port ${String(options.port)} is not a TCP port`, 'Use 1-65535 (22 by default)');
  if (typeof options.user !== 'string' || !/^[^\s@:]+$/.test(options.user)) throw configError(label, `user ${JSON.stringify(options.user)} is not a login name`, 'Set KASM_SSH_USER or write user@host');
  positive('connectTimeoutMs', options.connectTimeoutMs);
  positive('commandTimeoutMs', options.commandTimeoutMs);
  if (options.maxOutputBytes !== undefined) positive('maxOutputBytes', options.maxOutputBytes);
}

function normalisePins(label: string, pins: string[] | undefined): string[] {
  return (pins ?? []).map((pin) => {
    const match = FINGERPRINT.exec(pin.trim());
    if (!match) throw configError(label, `pinned fingerprint ${JSON.stringify(pin)} is not SHA256:<43 base64 characters>`, 'Copy it from `ssh-keygen -lf` (e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s)');
    return `SHA256:${match[1]}`;
  });
}

function readPrivateKey(label: string, options: Omit<SshConnectOptions, 'jump'>): Buffer | undefined {
  if (options.keyFile === undefined) return undefined;
  const data = readLocalFile(label, 'private key', options.keyFile, 'Set KASM_SSH_KEY_FILE to a readable private key (or KASM_SSH_AGENT=true)');
  const parsed = utils.parseKey(data, options.passphrase);
  if (parsed instanceof Error) {
    const hint = /passphrase|encrypt|decrypt/i.test(parsed.message) ? 'Set KASM_SSH_PASSPHRASE (in the .local.env file or CI secrets), or use ssh-agent' : 'Use an OpenSSH or PEM private key (ed25519, ecdsa or rsa)';
    throw configError(label, `cannot use the private key ${options.keyFile}: ${parsed.message}`, hint, parsed);
  }
  return data;
}

function checkAgent(label: string, socket: string | undefined): void {
  if (socket === undefined) return;
  if (socket === '') throw configError(label, 'ssh-agent is enabled but SSH_AUTH_SOCK is not set', 'Start ssh-agent (eval "$(ssh-agent)"; ssh-add <key>) in the environment the suite runs in, or set KASM_SSH_KEY_FILE');
  try {
    if (!statSync(socket).isSocket()) throw new Error('not a socket');
  } catch (error) {
    throw configError(label, `the ssh-agent socket ${socket} is not usable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'Start ssh-agent and ssh-add the key, or set KASM_SSH_KEY_FILE', error);
  }
}

function loadKnownHosts(label: string, options: Omit<SshConnectOptions, 'jump'>): KnownHost[] {
  if (options.knownHostsFile === undefined) return [];
  try {
    return readKnownHosts(expandHome(options.knownHostsFile));
  } catch (error) {
    const file = options.knownHostsFile;
    throw configError(label, `cannot read known_hosts ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, `Create it (ssh-keyscan -p ${options.port} ${options.host} >> ${file}, then check the key with ssh-keygen -lf ${file}) or fix KASM_SSH_KNOWN_HOSTS`, error);
  }
}

function prepare(options: Omit<SshConnectOptions, 'jump'>): Prepared {
  const label = `${String(options.user)}@${String(options.host)}:${String(options.port)}`;
  checkNumbers(label, options);
  if (options.keyFile === undefined && options.agentSocket === undefined) throw configError(label, 'no key file and no ssh-agent socket', 'Set KASM_SSH_KEY_FILE, or KASM_SSH_AGENT=true with SSH_AUTH_SOCK set');
  const privateKey = readPrivateKey(label, options);
  checkAgent(label, options.agentSocket);
  const knownHosts = loadKnownHosts(label, options);
  const policy: HostKeyPolicy = {
    label,
    target: `${options.host}:${options.port}`,
    host: options.host,
    port: options.port,
    knownHostsFile: options.knownHostsFile,
    knownHosts,
    pins: normalisePins(label, options.fingerprints),
    insecure: options.insecureHostKey === true,
  };
  return { options, label, policy, privateKey, maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT };
}

// ---------------------------------------------------------------------------------------------- connecting

interface Connected {
  client: SshClient;
  hostKey: HostKeyInfo;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function classify(error: Error & { level?: string }, prepared: Prepared): SshError {
  const { label, options } = prepared;
  const target = `${options.host}:${options.port}`;
  const code = errorCode(error);
  if (error.level === 'client-timeout' || code === 'ETIMEDOUT') {
    return new SshError('SSH_TIMEOUT', target, `${label}: no SSH handshake within ${options.connectTimeoutMs} ms (${error.message})`, `Check that port ${options.port} on ${options.host} is an SSH server and that no firewall or proxy holds the connection; raise KASM_TIMEOUT_SSH_MS if the host is just slow`, { cause: error });
  }
  if (error.level === 'client-authentication') {
    const how = options.keyFile ? `the key ${options.keyFile}` : `the keys in the ssh-agent at ${options.agentSocket}`;
    return new SshError('SSH_AUTH', target, `${label}: the server refused ${how} (${error.message})`, `Add the public key to ~${options.user}/.ssh/authorized_keys on ${options.host}, or fix the user (KASM_SSH_USER / user@host) or KASM_SSH_KEY_FILE`, { cause: error });
  }
  if (error.level === 'agent') {
    return new SshError('SSH_AUTH', target, `${label}: the ssh-agent at ${options.agentSocket} failed (${error.message})`, 'Check that the agent runs and holds the key (ssh-add -l), or set KASM_SSH_KEY_FILE', { cause: error });
  }
  if ((code !== undefined && UNREACHABLE.has(code)) || error.level === 'client-dns') {
    const why = code === undefined ? error.message : error.message.includes(code) ? code : `${code}: ${error.message}`;
    return new SshError('SSH_UNREACHABLE', target, `${label}: cannot connect (${why})`, `Check the address and port, that sshd runs on ${options.host} and that the firewall lets this machine reach port ${options.port}`, { cause: error });
  }
  return new SshError('SSH_UNREACHABLE', target, `${label}: the SSH handshake failed (${error.level ?? 'error'}: ${error.message})`, `Check that port ${options.port} on ${options.host} is an SSH server this client can talk to`, { cause: error });
}

function connectConfig(prepared: Prepared, verify: (key: Buffer) => boolean, sock: ClientChannel | undefined): ConnectConfig {
  const { options } = prepared;
  return {
    host: options.host,
    port: options.port,
    username: options.user,
    privateKey: prepared.privateKey,
    passphrase: options.passphrase,
    agent: options.agentSocket,
    sock,
    readyTimeout: options.connectTimeoutMs,
    keepaliveInterval: KEEPALIVE_MS,
    keepaliveCountMax: 3,
    algorithms: hostKeyAlgorithms(prepared.policy),
    // Without hostHash ssh2 passes the raw key blob, and a false return ends the handshake before any auth.
    hostVerifier: verify,
  };
}

function handshake(prepared: Prepared, sock?: ClientChannel): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const fail = (error: SshError) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      client.destroy();
      reject(error);
    };
    const guard = setTimeout(() => fail(classify(Object.assign(new Error('connect guard expired'), { level: 'client-timeout' }), prepared)), prepared.options.connectTimeoutMs + CONNECT_GUARD_MS);
    const verify = (key: Buffer) => {
      verdict = verifyHostKey(prepared.policy, key);
      return verdict.ok;
    };
    const onError = (error: Error & { level?: string }) => fail(verdict && !verdict.ok ? verdict.error : classify(error, prepared));
    const onClose = () => fail(verdict && !verdict.ok ? verdict.error : classify(Object.assign(new Error('the server closed the connection during the handshake'), { code: 'ECONNRESET' }), prepared));
    client.on('error', onError);
    client.once('close', onClose);
    client.once('ready', () => {
      if (settled || !verdict?.ok) {
        // Too late (the guard fired) or, defensively, never verified: this connection must not be used.
        client.destroy();
        return fail(classify(new Error('ready without a verified host key'), prepared));
      }
      settled = true;
      clearTimeout(guard);
      // From here errors (keepalive, reset) end the connection and reach callers as a lost connection; every running
      // command adds a close listener of its own.
      client.off('error', onError);
      client.off('close', onClose);
      client.on('error', () => undefined);
      if (verdict.warning) process.emitWarning(verdict.warning, { code: INSECURE_WARNING });
      resolve({ client, hostKey: verdict.info });
    });
    try {
      client.connect(connectConfig(prepared, verify, sock));
    } catch (error) {
      fail(configError(prepared.label, `ssh2 refused the connection settings: ${(error as Error).message}`, 'Check the key file and passphrase', error));
    }
  });
}

function jumpError(jump: Prepared, error: SshError): SshError {
  return new SshError('SSH_JUMP', error.host, `jump host ${jump.label}: ${error.problem.replace(`${jump.label}: `, '')}`, error.hint, { cause: error, fingerprint: error.fingerprint, expected: error.expected });
}

/** A direct-tcpip channel from the jump host to the target, used as the target connection's socket. */
function forwardThrough(jump: Connected, jumpPrepared: Prepared, target: Prepared): Promise<ClientChannel> {
  const { host, port, connectTimeoutMs } = target.options;
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new SshError('SSH_JUMP', `${jumpPrepared.options.host}:${jumpPrepared.options.port}`, `jump host ${jumpPrepared.label}: no tunnel to ${host}:${port} within ${connectTimeoutMs} ms`, `Check that ${host}:${port} is reachable from the jump host and that its sshd allows TCP forwarding (AllowTcpForwarding)`));
    }, connectTimeoutMs);
    jump.client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      if (settled) return void channel?.close();
      settled = true;
      clearTimeout(timer);
      if (error) {
        return reject(new SshError('SSH_JUMP', `${jumpPrepared.options.host}:${jumpPrepared.options.port}`, `jump host ${jumpPrepared.label}: cannot open a tunnel to ${host}:${port} (${error.message})`, `Check that ${host}:${port} is reachable from the jump host and that its sshd allows TCP forwarding (AllowTcpForwarding)`, { cause: error }));
      }
      resolve(channel);
    });
  });
}

async function connectVia(jumpOptions: Omit<SshConnectOptions, 'jump'>, target: Prepared): Promise<Connected & { jump: Connected }> {
  const jumpPrepared = prepare(jumpOptions);
  const jump = await handshake(jumpPrepared).catch((error: SshError) => {
    throw jumpError(jumpPrepared, error);
  });
  try {
    const tunnel = await forwardThrough(jump, jumpPrepared, target);
    return { ...(await handshake(target, tunnel)), jump };
  } catch (error) {
    jump.client.destroy();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------- commands

/** Up to CHANNELS_PER_HOST commands at once; a waiter gives up at its deadline. */
class Channels {
  #free = CHANNELS_PER_HOST;
  readonly #waiting: Array<() => void> = [];

  acquire(timeoutMs: number): Promise<(() => void) | undefined> {
    const release = () => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(release);
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(wake), 1);
        resolve(undefined);
      }, timeoutMs);
      this.#waiting.push(wake);
    });
  }
}

interface Limits {
  timeoutMs: number;
  maxBytes: number;
}

type Outcome = { result: CommandResult; lost: boolean } | { notOpened: Error | undefined };

/** Output is kept up to maxBytes across both streams; past that, or at the timeout, the channel is closed at once. */
function execute(client: SshClient, command: string, limits: Limits): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    let exit: { code: number | null; signal?: string } = { code: null };
    let channel: ClientChannel | undefined;
    let settled = false;
    const finish = (how: { timedOut?: boolean; lost?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.off('close', onClientClose);
      if (!channel) return resolve({ notOpened: how.lost ? new Error('the connection closed') : undefined });
      const text = (parts: Buffer[]) => Buffer.concat(parts).toString('utf8');
      const result: CommandResult = { command, exitCode: exit.code, stdout: text(stdout), stderr: text(stderr), truncated, timedOut: how.timedOut === true, durationMs: Math.round(performance.now() - started) };
      if (exit.signal) result.signal = exit.signal;
      resolve({ result, lost: how.lost === true });
    };
    const take = (sink: Buffer[], chunk: Buffer) => {
      if (settled) return;
      const room = limits.maxBytes - bytes;
      sink.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      bytes += Math.min(chunk.length, room);
      if (chunk.length <= room) return;
      truncated = true;
      channel?.close();
      finish({});
    };
    const onClientClose = () => finish({ lost: true });
    const timer = setTimeout(() => {
      channel?.close();
      finish({ timedOut: true });
    }, limits.timeoutMs);
    client.once('close', onClientClose);
    client.exec(command, (error, opened) => {
      if (settled) return void opened?.close();
      if (error) {
        settled = true;
        clearTimeout(timer);
        client.off('close', onClientClose);
        return resolve({ notOpened: error });
      }
      channel = opened;
      // EOF on stdin at once: a command that reads input (sudo without -n) gets nothing to wait for.
      opened.end();
      opened.on('data', (chunk: Buffer) => take(stdout, chunk));
      opened.stderr.on('data', (chunk: Buffer) => take(stderr, chunk));
      opened.on('exit', (code: number | null, signal?: string) => {
        exit = signal ? { code, signal } : { code };
      });
      opened.on('error', () => undefined);
      opened.once('close', () => finish({}));
    });
  });
}

/** Sudo's own complaints come first in its output; later lines are the command's (a log may quote anything). */
function sudoComplaint(text: string): string | undefined {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!/^(?:sudo:|\[sudo\])/.test(line)) break;
    lines.push(line);
  }
  const joined = lines.join('\n');
  return SUDO_PROMPT.test(joined) ? joined : undefined;
}

function headAndTail(text: string): string {
  if (text.length <= TRANSCRIPT_KEEP) return text;
  const half = TRANSCRIPT_KEEP / 2;
  return `${text.slice(0, half)}\n[… ${text.length - TRANSCRIPT_KEEP} characters left out of the transcript …]\n${text.slice(-half)}`;
}

/** Redacted, each stream cut to its head and tail: what a transcript or an attachment may hold. */
export function forTranscript(result: CommandResult): CommandResult {
  return { ...result, command: redact(result.command), stdout: headAndTail(redact(result.stdout)), stderr: headAndTail(redact(result.stderr)) };
}

function positiveOr(value: number | undefined, fallback: number, label: string, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw configError(label, `${name} must be a whole number above 0, got ${String(value)}`, `Pass a positive ${name} to run()`);
  return value;
}

// ---------------------------------------------------------------------------------------------- public

export class SshHost {
  /** Every command run, redacted, each stream trimmed to 64 KiB (head and tail) for attachments. */
  readonly transcript: CommandResult[] = [];
  readonly hostKey: HostKeyInfo;
  /** The jump host's key, when the connection went through one. */
  readonly jumpHostKey?: HostKeyInfo;
  /** `user@host:port` of the jump host, when there is one. */
  readonly jumpLabel?: string;
  /** `user@host:port`, for messages. */
  readonly label: string;
  readonly #prepared: Prepared;
  readonly #client: SshClient;
  readonly #jump: SshClient | undefined;
  readonly #channels = new Channels();
  #open = true;

  private constructor(prepared: Prepared, connected: Connected, jump: (Connected & { label: string }) | undefined) {
    this.#prepared = prepared;
    this.label = prepared.label;
    this.#client = connected.client;
    this.hostKey = connected.hostKey;
    this.#jump = jump?.client;
    if (jump) {
      this.jumpHostKey = jump.hostKey;
      this.jumpLabel = jump.label;
    }
    this.#client.once('close', () => {
      this.#open = false;
      this.#jump?.end();
    });
  }

  static async connect(options: SshConnectOptions): Promise<SshHost> {
    const prepared = prepare(options);
    if (!options.jump) return new SshHost(prepared, await handshake(prepared), undefined);
    const connected = await connectVia(options.jump, prepared);
    return new SshHost(prepared, connected, { ...connected.jump, label: `${String(options.jump.user)}@${String(options.jump.host)}:${String(options.jump.port)}` });
  }

  /** False once the connection has ended (closed, or lost to a keepalive timeout or reset). */
  get connected(): boolean {
    return this.#open;
  }

  async run(command: RemoteCommand, options: RunOptions = {}): Promise<CommandResult> {
    const target = `${this.#prepared.options.host}:${this.#prepared.options.port}`;
    const text = this.#render(command, target);
    const limits = {
      timeoutMs: positiveOr(options.timeoutMs, this.#prepared.options.commandTimeoutMs, this.label, 'timeoutMs'),
      maxBytes: positiveOr(options.maxBytes, this.#prepared.maxOutputBytes, this.label, 'maxBytes'),
    };
    const deadline = Date.now() + limits.timeoutMs;
    const release = await this.#channels.acquire(limits.timeoutMs);
    if (!release) throw this.#notStarted(target, text, limits.timeoutMs, `${CHANNELS_PER_HOST} commands were still running on it`);
    let outcome: Outcome;
    try {
      if (!this.#open) throw this.#lost(target, text);
      outcome = await execute(this.#client, text, { ...limits, timeoutMs: Math.max(1, deadline - Date.now()) });
    } finally {
      release();
    }
    if ('notOpened' in outcome) {
      if (outcome.notOpened === undefined) throw this.#notStarted(target, text, limits.timeoutMs, 'the host opened no channel');
      throw new SshError('SSH_UNREACHABLE', target, `${this.label}: cannot run "${redact(text)}": ${outcome.notOpened.message}`, 'The connection is broken or the host refuses sessions (sshd MaxSessions); the next check reconnects', { cause: outcome.notOpened });
    }
    const keep = options.keep ?? this.#prepared.options.transcriptKeep?.[command.kind];
    const recorded = forTranscript(keep ? { ...outcome.result, stdout: keep(outcome.result.stdout) } : outcome.result);
    this.transcript.push(recorded);
    if (outcome.lost) throw this.#lost(target, text, recorded);
    this.#checkSudo(target, text, outcome.result, recorded);
    return outcome.result;
  }

  async close(): Promise<void> {
    const ended = (client: SshClient | undefined) =>
      new Promise<void>((resolve) => {
        if (!client) return resolve();
        const timer = setTimeout(() => {
          client.destroy();
          resolve();
        }, CLOSE_GRACE_MS);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.end();
      });
    if (this.#open) await ended(this.#client);
    this.#open = false;
    await ended(this.#jump);
  }

  #render(command: RemoteCommand, target: string): string {
    try {
      return renderCommand(command, { sudo: this.#prepared.options.sudo });
    } catch (error) {
      if (!(error instanceof RemoteCommandError)) throw error;
      throw new SshError('SSH_COMMAND_NOT_ALLOWED', target, `${this.label}: refused to send a command: ${error.message}`, 'Only the read-only commands in helpers/probes/remote-commands.ts can be sent; fix the value or add a reviewed command kind there', { cause: error });
    }
  }

  #notStarted(target: string, text: string, timeoutMs: number, why: string): SshError {
    return new SshError('SSH_COMMAND_TIMEOUT', target, `${this.label}: "${redact(text)}" did not start within ${timeoutMs} ms: ${why}`, 'Check the host load and the SSH connection; raise KASM_TIMEOUT_SSH_MS if the host is just slow');
  }

  #lost(target: string, text: string, result?: CommandResult): SshError {
    return new SshError('SSH_UNREACHABLE', target, `${this.label}: the connection ended while running "${redact(text)}"`, 'The host or the network dropped the SSH connection; the next check reconnects', { result });
  }

  #checkSudo(target: string, text: string, result: CommandResult, recorded: CommandResult): void {
    if (!text.startsWith('sudo -n ')) return;
    const complaint = sudoComplaint(result.stderr) ?? sudoComplaint(result.stdout);
    if (!complaint) return;
    throw new SshError(
      'SSH_SUDO_PASSWORD',
      target,
      `${this.label}: sudo wants a password for "${redact(text)}" (${complaint.trim()})`,
      `Let ${this.#prepared.options.user} run the read-only commands without one (a NOPASSWD rule in /etc/sudoers.d/ for docker ps/logs/inspect/exec, ufw status and iptables -S), or, if ${this.#prepared.options.user} is in the docker group, set KASM_SSH_SUDO=false`,
      { result: recorded },
    );
  }
}

type PoolEntry = { promise: Promise<SshHost>; host?: SshHost };

/** Completes pool defaults with one host's settings; anything still missing is a configuration error. */
function complete(merged: Partial<SshConnectOptions>): SshConnectOptions {
  const { host, port, user, sudo, connectTimeoutMs, commandTimeoutMs } = merged;
  const label = `${String(user)}@${String(host)}:${String(port)}`;
  if (host === undefined || port === undefined || user === undefined || sudo === undefined || connectTimeoutMs === undefined || commandTimeoutMs === undefined) {
    throw configError(label, 'host, port, user, sudo, connectTimeoutMs and commandTimeoutMs are all required', 'Pass them in the pool defaults or in get()');
  }
  return { ...merged, host, port, user, sudo, connectTimeoutMs, commandTimeoutMs };
}

/**
 * One connection per host for every check in the process. Concurrent get() calls share one connect; a failed connect
 * stays failed, so every later check on that host fails fast with the same error instead of waiting out its timeout.
 * A connection that was up and then dropped is opened again on the next get().
 */
export class SshPool {
  readonly #defaults: Partial<SshConnectOptions>;
  readonly #entries = new Map<string, PoolEntry>();

  constructor(defaults: Partial<SshConnectOptions> = {}) {
    this.#defaults = defaults;
  }

  get(key: string, options: Partial<SshConnectOptions> = {}): Promise<SshHost> {
    const existing = this.#entries.get(key);
    if (existing && (existing.host === undefined || existing.host.connected)) return existing.promise;
    const entry: PoolEntry = { promise: Promise.resolve().then(() => SshHost.connect(complete({ ...this.#defaults, ...options }))) };
    entry.promise.then(
      (host) => {
        entry.host = host;
      },
      () => undefined,
    );
    this.#entries.set(key, entry);
    return entry.promise;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => entry.promise.then((host) => host.close(), () => undefined)));
  }
}
