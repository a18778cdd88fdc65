// Kasm's installer (`sudo bash kasm_release/install.sh`, and linuxserver docker-kasm's wizard, which runs it): the
// lines it echoes for each step (`Setting Default Listening Port as 444`, `Installing All Services`, `Starting Kasm
// Services`, `Installation Complete`), the docker output of its pulls and plugin installs, and the error that stopped
// it. install.sh runs under `set -e`, so the first failing command ends the install where it stands.

// install.sh's own echo lines (kasm_release install.sh, 1.10 to 1.17).
const STEP = new RegExp(
  [
    '^Setting [A-Z][A-Za-z ]{0,40}? (?:as|to|from stdin) ',
    '^Using (?:ip\\/hostname|database ip\\/hostname|Database Master User|Database Master Password|activation key) ',
    '^Installing (?:All Services|App Role|Agent Role|Database Role|guac role|Proxy Role)$',
    '^Initializing (?:Remote )?[Dd]atabase$',
    '^Installing docker \\S+ plugin$',
    '^Installed plugin \\S+$',
    '^(?:Not s|S)tarting Kasm Services$',
    '^Installation Complete$',
    '^Pulling default Workspaces Images$',
    '^Not (?:pulling|seeding) default Workspaces Images\\.?$',
    '^Checking if DEFAULT_PROXY_LISTENING_PORT \\(\\d+\\) is free$',
    '^Port \\(\\d+\\) is (?:not )?in use\\.',
    '^Creating docker network \\S+$',
    '^Docker network \\S+ already exists',
    '^Swap Exists$',
    '^Swap file not present',
    '^Checking connectivity to the ',
    '^Trying \\S+ (?:on \\d+|healthcheck) attempt:\\d+$',
    '^(?:Database|Web application) connectivity (?:passed|failed)',
    '^Connection to (?:Database|Redis) at \\S+ on \\d+ (?:true|false)$',
    '^Connection to https?:\\/\\/\\S+ failed$',
    '^Installation (?:will not|cannot) continue',
    '^Not enough disk space for the installation',
    '^FATAL: ',
    '^Kasm Installer \\d',
    '^Performing kasm activation$',
    '^KASM Activation failed$',
  ].join('|'),
);
// docker's own output while the installer pulls images or installs a plugin.
const DOCKER_PROGRESS =
  /^[0-9a-f]{12}: (?:Waiting|Pulling fs layer|Verifying Checksum|Download complete|Pull complete|Already exists|Downloading|Extracting|Complete)\b|^[\w.-]+: Pulling from \S+$|^Digest: sha256:[0-9a-f]{64}$|^Status: (?:Downloaded newer image|Image is up to date) for \S+$/;
// What a failing command prints before `set -e` ends the install: yq and docker (`Error: ...`), sed, cp, chmod.
const ERROR = /^(?:Error: |Error response from daemon: |ERROR: |sed: can't read |cp: cannot stat |chmod: cannot access |chown: cannot access )/;
// The installer's own lines that say it failed, as opposed to the steps around them.
const FAILED = /^(?:FATAL: |Installation (?:will not|cannot) continue|Not enough disk space|(?:Database|Web application) connectivity failed|KASM Activation failed|Port \(\d+\) is in use)/;

/** A line of the installer's output; an error line only right after the installer's own lines. */
export function isInstallerLine(line: string, afterInstaller: boolean): boolean {
  const text = line.trim();
  return STEP.test(text) || DOCKER_PROGRESS.test(text) || (afterInstaller && ERROR.test(text));
}

export interface InstallerLog {
  /** The role steps (`Installing All Services`, `Starting Kasm Services`), in order. */
  steps: string[];
  /** The lines that say the install failed, each with the step it stopped in. */
  failures: Array<{ line: string; step: string | null }>;
  completed: boolean;
  /** Whether it installed the agent role (its failures stop an agent, not the WebApp). */
  agentRole: boolean;
}

const ROLE_STEP = /^(?:Installing (?:All Services|App Role|Agent Role|Database Role|guac role|Proxy Role)|Initializing (?:Remote )?[Dd]atabase|Installing docker \S+ plugin|Starting Kasm Services|Pulling default Workspaces Images|Checking connectivity to the .*)$/;

export function parseInstaller(lines: readonly string[]): InstallerLog {
  const log: InstallerLog = { steps: [], failures: [], completed: false, agentRole: false };
  for (const raw of lines) {
    const line = raw.trim();
    if (ROLE_STEP.test(line)) log.steps.push(line);
    if (line === 'Installing Agent Role') log.agentRole = true;
    if (line === 'Installation Complete') log.completed = true;
    if (ERROR.test(line) || FAILED.test(line)) log.failures.push({ line, step: log.steps.at(-1) ?? null });
  }
  return log;
}

/** The file a failing command could not find (`stat <path>: no such file or directory`, `can't read <path>`). */
export function missingFile(line: string): string | null {
  return /(?:stat|can't read|cannot stat|cannot access) '?(\/[^\s':]+)'?:? (?:no such file or directory|No such file or directory)/i.exec(line)?.[1] ?? null;
}
