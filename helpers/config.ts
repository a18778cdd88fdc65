// One schema validates an environment before any browser starts; every problem is reported at once.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { z } from 'zod';
import { registerBasicCredentials, registerSecret } from './redact.ts';
import { SECRET_VARIABLES } from './secret-variables.ts';
import { describeUnknown, OTHER_SETTINGS, unknownSettings } from './settings.ts';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Variables that must never sit in a committed environments/<name>.env file. */
export { SECRET_VARIABLES };

const EXAMPLES: Record<string, string> = {
  KASM_URL: 'KASM_URL=https://kasm.example.com',
  KASM_API_KEY: 'KASM_API_KEY=abcd1234',
  KASM_API_SECRET: 'KASM_API_SECRET=<from Admin > Settings > Developers> (in environments/<name>.local.env or CI secrets)',
  KASM_API_AUTH: 'KASM_API_AUTH=auto   # json (1.7-1.19 body), basic (newer Developer docs) or auto',
  KASM_API_PATH: 'KASM_API_PATH=/api/public',
  KASM_USER: 'KASM_USER=synthetic@kasm.local   (or KASM_USER_ID=50faa5439c574b518cd868dac9256e4b)',
  KASM_USER_ID: 'KASM_USER_ID=50faa5439c574b518cd868dac9256e4b',
  KASM_USER_PASSWORD: 'KASM_USER_PASSWORD=<password> (in environments/<name>.local.env or CI secrets)',
  KASM_SESSION_VIA: 'KASM_SESSION_VIA=api   # api (request_kasm) or ui (login form)',
  KASM_WORKSPACE: 'KASM_WORKSPACE="Ubuntu Jammy"   (or KASM_IMAGE_ID=<32 hex>)',
  KASM_IMAGE_ID: 'KASM_IMAGE_ID=1c1d8e6e2b6a4b0f9b2d6c5e4f3a2b1c',
  KASM_CLIENT_PORT: 'KASM_CLIENT_PORT=443',
  KASM_SSH_WEBAPP: 'KASM_SSH_WEBAPP=ubuntu@10.0.1.10:22,ubuntu@10.0.1.11',
  KASM_SSH_AGENTS: 'KASM_SSH_AGENTS=ubuntu@10.0.2.20',
  KASM_SSH_JUMP: 'KASM_SSH_JUMP=ubuntu@bastion.example.com:22',
  KASM_SSH_KEY_FILE: 'KASM_SSH_KEY_FILE=~/.ssh/kasm_synthetics',
  KASM_SSH_KNOWN_HOSTS: 'KASM_SSH_KNOWN_HOSTS=~/.ssh/known_hosts',
  KASM_SSH_AGENT: 'KASM_SSH_AGENT=true   # use $SSH_AUTH_SOCK',
  KASM_SSH_FINGERPRINTS: 'KASM_SSH_FINGERPRINTS=10.0.2.20=SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
  KASM_LOG_MAX_BYTES: 'KASM_LOG_MAX_BYTES=8388608',
  KASM_LOG_TAIL_LINES: 'KASM_LOG_TAIL_LINES=20000',
  KASM_AGENT_PORT: 'KASM_AGENT_PORT=443',
  KASM_WEBAPP_PORT: 'KASM_WEBAPP_PORT=443',
  KASM_UPSTREAM_AUTH_ADDRESS: 'KASM_UPSTREAM_AUTH_ADDRESS=kasm-internal.example.com',
  KASM_ALLOW_MUTATIONS: 'KASM_ALLOW_MUTATIONS=false',
  KASM_SWEEP_STALE_SESSIONS: 'KASM_SWEEP_STALE_SESSIONS=true',
  KASM_RETRIES: 'KASM_RETRIES=1',
  KASM_STATE_DIR: 'KASM_STATE_DIR=/var/lib/kasm-synthetics',
  KASM_INSECURE_TLS: 'KASM_INSECURE_TLS=false',
  KASM_CA_FILE: 'KASM_CA_FILE=/etc/ssl/private-ca/kasm-root.pem',
  KASM_BROWSER_PATH: 'KASM_BROWSER_PATH=/usr/bin/chromium',
  KASM_LAB_FAULTS: 'KASM_LAB_FAULTS=api-down',
  KASM_LAB_KIND: 'KASM_LAB_KIND=in-process',
  KASM_ZONE_HOSTS: 'KASM_ZONE_HOSTS=eu.kasm.example.com,us.kasm.example.com',
  KASM_WEBSOCKET_HOLD_MS: 'KASM_WEBSOCKET_HOLD_MS=30000',
  KASM_UI_WORKSPACE_SELECTOR: 'KASM_UI_WORKSPACE_SELECTOR=text="{workspace}"',
};

const exampleFor = (variable: string) =>
  EXAMPLES[variable] ?? (variable.startsWith('KASM_TIMEOUT_') ? `${variable}=30000` : `${variable}=...`);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { error: 'must be true or false' })
    .optional()
    .transform((value) => (value === undefined || value === '' ? fallback : ['true', '1', 'yes'].includes(value)));

const millis = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number of milliseconds, got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    });

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** A private CA as PEM (KASM_CA_FILE), read and checked when the configuration is. */
const caFile = optionalText.transform((file, ctx) => {
  if (!file) return undefined;
  const path = resolve(projectRoot, file);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    return z.NEVER;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    ctx.addIssue({ code: 'custom', message: `${path} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)` });
    return z.NEVER;
  }
  return { file: path, pem };
});

const port = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === '') return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) {
      ctx.addIssue({ code: 'custom', message: `must be a TCP port (1-65535), got "${value}"` });
      return z.NEVER;
    }
    return parsed;
  });

export interface SshTarget {
  user: string | undefined;
  host: string;
  port: number;
  /** As written in the environment, for messages. */
  spec: string;
}

const TARGET = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/;

export function parseSshTarget(spec: string): SshTarget | undefined {
  const match = TARGET.exec(spec.trim());
  if (!match) return undefined;
  const portNumber = match[3] === undefined ? 22 : Number(match[3]);
  if (portNumber < 1 || portNumber > 65535) return undefined;
  return { user: match[1], host: match[2]!.replace(/^\[|\]$/g, ''), port: portNumber, spec: spec.trim() };
}

const sshTargets = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const specs = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const targets: SshTarget[] = [];
    for (const spec of specs) {
      const target = parseSshTarget(spec);
      if (target) targets.push(target);
      else ctx.addIssue({ code: 'custom', message: `"${spec}" is not user@host[:port]` });
    }
    return targets;
  });

const httpsUrl = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL` });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: `must be http(s), got "${url.protocol}"` });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use KASM_API_KEY / KASM_API_SECRET' });
      return z.NEVER;
    }
    return url;
  });

const schema = z
  .object({
    KASM_ENV: z.string().default('lab'),
    KASM_LAB: z.enum(['embedded', ''], { error: 'must be "embedded" or empty' }).optional(),
    KASM_URL: httpsUrl.optional(),
    KASM_LAB_FAULTS: optionalText,
    KASM_LAB_KIND: z.enum(['auto', 'real', 'in-process'], { error: 'must be auto, real or in-process' }).default('auto'),
    KASM_API_KEY: optionalText,
    KASM_API_SECRET: optionalText,
    KASM_API_AUTH: z.enum(['json', 'basic', 'auto'], { error: 'must be json, basic or auto' }).default('auto'),
    KASM_API_PATH: z
      .string()
      .default('/api/public')
      .refine((value) => value.startsWith('/'), 'must start with "/"')
      .transform((value) => value.replace(/\/+$/, '')),
    KASM_USER: optionalText,
    KASM_USER_ID: optionalText,
    KASM_USER_PASSWORD: optionalText,
    KASM_SESSION_VIA: z.enum(['api', 'ui'], { error: 'must be api or ui' }).default('api'),
    KASM_WORKSPACE: optionalText,
    KASM_IMAGE_ID: optionalText,
    KASM_CLIENT_PORT: port,
    KASM_INSECURE_TLS: bool(false),
    KASM_CA_FILE: caFile,
    KASM_SSH_WEBAPP: sshTargets,
    KASM_SSH_AGENTS: sshTargets,
    KASM_SSH_JUMP: sshTargets,
    KASM_SSH_USER: optionalText,
    KASM_SSH_KEY_FILE: optionalText,
    KASM_SSH_PASSPHRASE: optionalText,
    KASM_SSH_AGENT: bool(false),
    KASM_SSH_KNOWN_HOSTS: optionalText,
    KASM_SSH_SUDO: bool(true),
    KASM_SSH_FINGERPRINTS: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const pins: Record<string, string[]> = {};
        for (const item of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
          const match = /^([^=\s]+)=(SHA256:[A-Za-z0-9+/]{43})$/.exec(item);
          if (!match) ctx.addIssue({ code: 'custom', message: `"${item}" is not host=SHA256:<43 base64 characters> (ssh-keygen -lf output)` });
          else (pins[match[1]!.toLowerCase()] ??= []).push(match[2]!);
        }
        return pins;
      }),
    KASM_SSH_INSECURE_HOST_KEYS: bool(false),
    KASM_AGENT_PORT: port,
    KASM_WEBAPP_PORT: port,
    KASM_UPSTREAM_AUTH_ADDRESS: optionalText,
    KASM_LOG_MAX_BYTES: z
      .string()
      .default('8388608')
      .refine((value) => /^\d+$/.test(value) && Number(value) >= 65_536, 'must be a byte count of at least 65536')
      .transform(Number),
    KASM_LOG_TAIL_LINES: z
      .string()
      .default('20000')
      .refine((value) => /^\d+$/.test(value) && Number(value) >= 100 && Number(value) <= 10_000_000, 'must be a line count from 100 to 10000000')
      .transform(Number),
    KASM_TIMEOUT_HTTP_MS: millis(10_000),
    KASM_TIMEOUT_SESSION_START_MS: millis(120_000),
    KASM_TIMEOUT_FIRST_FRAME_MS: millis(20_000),
    KASM_TIMEOUT_SSH_MS: millis(10_000),
    KASM_TIMEOUT_CHECK_MS: millis(180_000),
    KASM_WEBSOCKET_HOLD_MS: millis(30_000),
    KASM_CLOCK_SKEW_MS: millis(60_000),
    KASM_RETRIES: z
      .string()
      .default('1')
      .refine((value) => /^[0-5]$/.test(value), 'must be a whole number from 0 to 5')
      .transform(Number),
    KASM_RETRY_BACKOFF_MS: millis(2_000),
    // One check process per core (at least 2, at most 8): a run is one observed session plus short checks, and on
    // a small machine more processes than cores only queue for the CPU (measured: 2 cores, 4.9 s with 2, 5.4 s with 4).
    KASM_WORKERS: z
      .string()
      .default(String(Math.max(2, Math.min(8, availableParallelism()))))
      .refine((value) => /^[1-9]\d?$/.test(value), 'must be a whole number from 1 to 99')
      .transform(Number),
    KASM_ZONE_HOSTS: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const hosts = (value ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
        for (const host of hosts) {
          if (!/^[a-z0-9.-]+$/.test(host)) ctx.addIssue({ code: 'custom', message: `"${host}" is not a host name` });
        }
        return hosts;
      }),
    KASM_UI_USERNAME_SELECTOR: z.string().default('#username'),
    KASM_UI_PASSWORD_SELECTOR: z.string().default('#password'),
    KASM_UI_SUBMIT_SELECTOR: z.string().default('#login-button'),
    KASM_UI_WORKSPACE_SELECTOR: z
      .string()
      .default('text="{workspace}"')
      .refine((value) => value.includes('{workspace}'), 'must contain {workspace}, replaced by the workspace name'),
    KASM_ALLOW_MUTATIONS: bool(false),
    KASM_SWEEP_STALE_SESSIONS: bool(false),
    KASM_COMPARE: bool(false),
    KASM_ALLOW_UNKNOWN_SETTINGS: bool(false),
    KASM_BROWSER_PATH: optionalText,
    KASM_REPORTS_DIR: z.string().default('reports'),
    KASM_STATE_DIR: z.string().default('.kasm-state'),
  })
  .superRefine((env, ctx) => {
    const labPending = env.KASM_LAB === 'embedded' && env.KASM_URL === undefined;
    if (labPending) return;
    const need = (variable: keyof typeof env, why: string) => {
      if (env[variable] === undefined) ctx.addIssue({ code: 'custom', path: [variable], message: `is required: ${why}` });
    };
    need('KASM_URL', 'the address users open Kasm at');
    need('KASM_API_KEY', 'sessions are created with the Developer API');
    need('KASM_API_SECRET', 'sessions are created with the Developer API');
    if (env.KASM_USER === undefined && env.KASM_USER_ID === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KASM_USER'], message: 'is required (or KASM_USER_ID): the synthetic user that owns the sessions' });
    }
    if (env.KASM_WORKSPACE === undefined && env.KASM_IMAGE_ID === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KASM_WORKSPACE'], message: 'is required (or KASM_IMAGE_ID): the workspace to launch' });
    }
    if (env.KASM_SESSION_VIA === 'ui') {
      need('KASM_USER', 'the UI login path types the user name');
      need('KASM_USER_PASSWORD', 'the UI login path types the password');
    }
    if ((env.KASM_SSH_WEBAPP.length || env.KASM_SSH_AGENTS.length) && !env.KASM_SSH_KNOWN_HOSTS && !Object.keys(env.KASM_SSH_FINGERPRINTS).length && !env.KASM_SSH_INSECURE_HOST_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['KASM_SSH_KNOWN_HOSTS'], message: 'is required when SSH hosts are set (or pin keys with KASM_SSH_FINGERPRINTS; KASM_SSH_INSECURE_HOST_KEYS=true turns checking off, loudly)' });
    }
    if ((env.KASM_SSH_WEBAPP.length || env.KASM_SSH_AGENTS.length) && !env.KASM_SSH_KEY_FILE && !env.KASM_SSH_AGENT) {
      ctx.addIssue({ code: 'custom', path: ['KASM_SSH_KEY_FILE'], message: 'is required when SSH hosts are set (or KASM_SSH_AGENT=true)' });
    }
    if (env.KASM_SSH_JUMP.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['KASM_SSH_JUMP'], message: 'takes one jump host' });
    }
  });

type Parsed = z.output<typeof schema>;

/** Every KASM_* name the suite reads: the schema's and the others' (helpers/settings.ts). */
export const KNOWN_SETTINGS: ReadonlySet<string> = new Set([...Object.keys(schema.shape), ...Object.keys(OTHER_SETTINGS)]);

export interface KasmConfig {
  envName: string;
  /** True while KASM_LAB=embedded and the lab has not been started yet (main process before global setup). */
  labPending: boolean;
  url: URL;
  clientPort: number;
  /** kind: which embedded lab to start (auto: the real-parts lab where it can run, else the in-process one). */
  lab: { embedded: boolean; faults: string[]; kind: 'auto' | 'real' | 'in-process' };
  api: { key: string; secret: string; auth: 'json' | 'basic' | 'auto'; path: string };
  user: { id: string | undefined; name: string | undefined; password: string | undefined };
  sessionVia: 'api' | 'ui';
  workspace: { name: string | undefined; imageId: string | undefined };
  /** `ca`: a private CA (KASM_CA_FILE) the suite's own connections verify KASM_URL's certificate against. */
  tls: { insecure: boolean; ca?: { file: string; pem: string } };
  ssh: {
    webapp: SshTarget[];
    agents: SshTarget[];
    jump: SshTarget | undefined;
    user: string | undefined;
    keyFile: string | undefined;
    passphrase: string | undefined;
    agent: boolean;
    knownHosts: string | undefined;
    sudo: boolean;
    /** Pinned host-key fingerprints by host. */
    fingerprints: Record<string, string[]>;
    /** The explicit, loud opt-out of host-key checking. */
    insecureHostKeys: boolean;
  };
  /** The port agents' kasm_proxy listens on, when get_agents does not say (Kasm's install port). */
  agentPort: number;
  /** The port WebApp servers' kasm_proxy publishes (default: the client-facing port). */
  webappPort: number;
  /** The zone's Upstream Auth Address, when get_zones cannot be read with this key. */
  upstreamAuthAddress: string | undefined;
  /** The most bytes one log read may return (reads are time-windowed first). */
  logMaxBytes: number;
  /**
   * The most lines one `docker logs` read asks for (`--tail`): docker finds `--since` by decoding the log from its
   * first line, `--tail` by reading back from the end, so only the pair costs the same whatever the log's size.
   */
  logTailLines: number;
  timeouts: { http: number; sessionStart: number; firstFrame: number; ssh: number; check: number };
  /** Checks run in parallel in this many browsers. */
  workers: number;
  /** Retries of a check whose failure was transient (a timeout, a reset, a DNS SERVFAIL); others never retry. */
  retries: { max: number; backoffMs: number };
  /** How far the servers' clocks may be from this machine's: log windows open this much early. */
  clockSkewMs: number;
  /** How long path.websocket-hold keeps the stream open. */
  websocketHoldMs: number;
  /** Zone host names users reach sessions at (besides what get_zones tells). */
  zoneHosts: string[];
  ui: { username: string; password: string; submit: string; workspace: string };
  allowMutations: boolean;
  /** Opt-in: the leftovers sweep also destroys the synthetic user's sessions in get_kasms older than any run's. */
  sweepStaleSessions: boolean;
  /** List what changed since the last healthy run (`npm run check -- --compare`). */
  compare: boolean;
  browserPath: string | undefined;
  reportsDir: string;
  /** Where restore files for changed Kasm settings wait until they are restored; never inside reports/. */
  stateDir: string;
}

export class ConfigError extends Error {
  readonly code = 'KASM_CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`The environment is not usable (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function toConfig(env: Parsed): KasmConfig {
  const labPending = env.KASM_LAB === 'embedded' && env.KASM_URL === undefined;
  const url = env.KASM_URL ?? new URL('https://lab.invalid');
  const urlPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return {
    envName: env.KASM_ENV,
    labPending,
    url,
    clientPort: env.KASM_CLIENT_PORT ?? urlPort,
    lab: { embedded: env.KASM_LAB === 'embedded', faults: (env.KASM_LAB_FAULTS ?? '').split(',').map((f) => f.trim()).filter(Boolean), kind: env.KASM_LAB_KIND },
    api: { key: env.KASM_API_KEY ?? '', secret: env.KASM_API_SECRET ?? '', auth: env.KASM_API_AUTH, path: env.KASM_API_PATH },
    user: { id: env.KASM_USER_ID, name: env.KASM_USER, password: env.KASM_USER_PASSWORD },
    sessionVia: env.KASM_SESSION_VIA,
    workspace: { name: env.KASM_WORKSPACE, imageId: env.KASM_IMAGE_ID },
    tls: { insecure: env.KASM_INSECURE_TLS, ...(env.KASM_CA_FILE ? { ca: env.KASM_CA_FILE } : {}) },
    ssh: {
      webapp: env.KASM_SSH_WEBAPP,
      agents: env.KASM_SSH_AGENTS,
      jump: env.KASM_SSH_JUMP[0],
      user: env.KASM_SSH_USER,
      keyFile: env.KASM_SSH_KEY_FILE,
      passphrase: env.KASM_SSH_PASSPHRASE,
      agent: env.KASM_SSH_AGENT,
      knownHosts: env.KASM_SSH_KNOWN_HOSTS,
      sudo: env.KASM_SSH_SUDO,
      fingerprints: env.KASM_SSH_FINGERPRINTS,
      insecureHostKeys: env.KASM_SSH_INSECURE_HOST_KEYS,
    },
    logMaxBytes: env.KASM_LOG_MAX_BYTES,
    logTailLines: env.KASM_LOG_TAIL_LINES,
    agentPort: env.KASM_AGENT_PORT ?? 443,
    webappPort: env.KASM_WEBAPP_PORT ?? env.KASM_CLIENT_PORT ?? urlPort,
    upstreamAuthAddress: env.KASM_UPSTREAM_AUTH_ADDRESS,
    timeouts: {
      http: env.KASM_TIMEOUT_HTTP_MS,
      sessionStart: env.KASM_TIMEOUT_SESSION_START_MS,
      firstFrame: env.KASM_TIMEOUT_FIRST_FRAME_MS,
      ssh: env.KASM_TIMEOUT_SSH_MS,
      check: env.KASM_TIMEOUT_CHECK_MS,
    },
    workers: env.KASM_WORKERS,
    retries: { max: env.KASM_RETRIES, backoffMs: env.KASM_RETRY_BACKOFF_MS },
    websocketHoldMs: env.KASM_WEBSOCKET_HOLD_MS,
    clockSkewMs: env.KASM_CLOCK_SKEW_MS,
    zoneHosts: env.KASM_ZONE_HOSTS,
    ui: { username: env.KASM_UI_USERNAME_SELECTOR, password: env.KASM_UI_PASSWORD_SELECTOR, submit: env.KASM_UI_SUBMIT_SELECTOR, workspace: env.KASM_UI_WORKSPACE_SELECTOR },
    allowMutations: env.KASM_ALLOW_MUTATIONS,
    sweepStaleSessions: env.KASM_SWEEP_STALE_SESSIONS,
    compare: env.KASM_COMPARE,
    browserPath: env.KASM_BROWSER_PATH,
    reportsDir: resolve(projectRoot, env.KASM_REPORTS_DIR),
    stateDir: resolve(projectRoot, env.KASM_STATE_DIR),
  };
}

/** Validates variables (already merged from files and the process) into a config, or throws ConfigError. */
export function parseConfig(variables: Record<string, string | undefined>): KasmConfig {
  if (variables.KASM_ALLOW_UNKNOWN_SETTINGS?.trim().toLowerCase() !== 'true') {
    const unknown = unknownSettings(Object.keys(variables), KNOWN_SETTINGS);
    if (unknown.length) throw new ConfigError(unknown.map(describeUnknown));
  }
  const result = schema.safeParse(variables);
  if (result.success) return toConfig(result.data);
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? 'environment');
    return `${variable}: ${issue.message}. Example: ${exampleFor(variable)}`;
  });
  throw new ConfigError(problems);
}

export interface EnvironmentFiles {
  name: string;
  files: string[];
  variables: Record<string, string>;
}

/**
 * Reads environments/<name>.env and the git-ignored environments/<name>.local.env. Values already in the process
 * environment win, as CI secrets must.
 */
export function readEnvironmentFiles(processEnv: NodeJS.ProcessEnv = process.env): EnvironmentFiles {
  const name = processEnv.KASM_ENV?.trim() || 'lab';
  const problems: string[] = [];
  if (!/^[\w.-]+$/.test(name)) throw new ConfigError([`KASM_ENV: "${name}" is not a file name. Example: KASM_ENV=staging`]);
  const main = processEnv.KASM_ENV_FILE ? resolve(processEnv.KASM_ENV_FILE) : join(projectRoot, 'environments', `${name}.env`);
  const local = main.replace(/\.env$/, '.local.env');
  if (!existsSync(main)) {
    problems.push(`KASM_ENV: ${main} does not exist. Example: cp environments/staging.env.example environments/${name}.env`);
    throw new ConfigError(problems);
  }
  const committed = dotenv.parse(readFileSync(main));
  for (const secret of SECRET_VARIABLES) {
    if (committed[secret]) {
      problems.push(`${secret}: must not be set in ${main} (a committed file). Example: put it in ${local} or the process environment`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const files = [main];
  let variables = { ...committed };
  if (existsSync(local)) {
    files.push(local);
    variables = { ...variables, ...dotenv.parse(readFileSync(local)) };
  }
  for (const [key, value] of Object.entries(processEnv)) {
    if (value !== undefined && (key.startsWith('KASM_') || !(key in variables))) variables[key] = value;
  }
  return { name, files, variables };
}

let cached: KasmConfig | undefined;

/**
 * Loads the environment once per process: files into process.env (for workers and child processes), then validates.
 * Pass `refresh` after the embedded lab has exported its variables.
 */
export function loadConfig(options: { refresh?: boolean } = {}): KasmConfig {
  if (cached && !options.refresh) return cached;
  const { variables } = readEnvironmentFiles();
  for (const [key, value] of Object.entries(variables)) {
    if (key.startsWith('KASM_') && process.env[key] === undefined) process.env[key] = value;
  }
  cached = parseConfig(variables);
  // Every process that loads the environment (runner, workers, global setup, the CLIs) scrubs these values.
  for (const secret of [cached.api.secret, cached.api.key, cached.user.password, cached.ssh.passphrase]) registerSecret(secret, 'configured');
  registerBasicCredentials(cached.api.key, cached.api.secret);
  return cached;
}
