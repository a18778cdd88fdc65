// `docker exec` without an engine: the command runs on this machine with the container's environment, in its folder
// (<container>/root stands for /), and fails the way docker and runc fail.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { paths } from '../state.ts';
import { CommandFailure, runChild, type Container, type HostContext, type Io } from './context.ts';
import { dockerUsageError } from './docker-format.ts';
import { flagOn, flagValue, flagValues, parseFlags, type FlagSpec } from './flags.ts';

const EXEC_FLAGS: Record<string, FlagSpec> = {
  interactive: { short: 'i' },
  tty: { short: 't' },
  detach: { short: 'd' },
  user: { short: 'u', value: true },
  env: { short: 'e', value: true },
  'env-file': { value: true },
  workdir: { short: 'w', value: true },
  privileged: {},
  'detach-keys': { value: true },
};

/** Only the session images ship KasmVNC; elsewhere Xvnc is as missing as it would be in the real container. */
const CONTAINER_ONLY: Record<string, (c: Container) => boolean> = {
  Xvnc: (c) => Boolean(c.state.xvncVersion),
};

interface ExecPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

function ociFailure(reason: string, exitCode: number): CommandFailure {
  return new CommandFailure(`OCI runtime exec failed: exec failed: unable to start container process: ${reason}: unknown`, exitCode);
}

/** Absolute paths that exist in the container's folder refer to it (`cat /home/kasm-user/.vnc/x:1.log`). */
function inContainer(containerRoot: string, path: string): string {
  return isAbsolute(path) && existsSync(join(containerRoot, path)) ? join(containerRoot, path) : path;
}

/** Where the container finds `command`: a path (a relative one from the exec's working folder) or a name on PATH. */
function resolveCommand(command: string, searchPath: string, container: Container, where: { root: string; cwd: string }): string {
  const notFound = () => ociFailure(`exec: "${command}": executable file not found in $PATH`, 127);
  if (command.includes('/')) {
    const file = isAbsolute(command) ? inContainer(where.root, command) : resolve(where.cwd, command);
    if (!existsSync(file)) throw ociFailure(`exec: "${command}": stat ${command}: no such file or directory`, 127);
    return file;
  }
  const allowed = CONTAINER_ONLY[command];
  if (allowed && !allowed(container)) throw notFound();
  const found = searchPath
    .split(delimiter)
    .map((dir) => join(dir, command))
    .find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  if (!found) throw notFound();
  return found;
}

function execEnvironment(context: HostContext, container: Container, extra: string[], home: string): Record<string, string> {
  const env: Record<string, string> = { ...container.state.env };
  for (const entry of extra) {
    const [key = '', value] = entry.split(/=(.*)/s, 2);
    if (value !== undefined) env[key] = value;
    else if (context.io.env[key] !== undefined) env[key] = context.io.env[key]!;
  }
  return {
    ...env,
    HOME: home,
    HOSTNAME: container.state.hostname,
    PATH: [join(paths.bin(context.root), 'container'), '/usr/bin', '/bin'].join(delimiter),
    LAB_CONTAINER_DIR: container.dir,
  };
}

function planExec(context: HostContext, container: Container, parsed: ReturnType<typeof parseFlags>): ExecPlan {
  const containerRoot = join(container.dir, 'root');
  const home = join(containerRoot, 'home', 'kasm-user');
  mkdirSync(home, { recursive: true });
  const env = execEnvironment(context, container, flagValues(parsed, 'env'), home);
  const workdir = flagValue(parsed, 'workdir');
  const cwd = workdir ? (isAbsolute(workdir) ? join(containerRoot, workdir) : join(home, workdir)) : home;
  if (!existsSync(cwd)) throw ociFailure(`chdir to cwd ("${workdir}") set in config.json failed: no such file or directory`, 126);
  const [command = '', ...rest] = parsed.positionals.slice(1);
  const file = resolveCommand(command, env.PATH ?? '', container, { root: containerRoot, cwd });
  return { file, args: rest.map((arg) => inContainer(containerRoot, arg)), cwd, env };
}

function notRunning(container: Container): CommandFailure | undefined {
  if (container.state.state === 'restarting') {
    return new CommandFailure(`Error response from daemon: Container ${container.fullId} is restarting, wait until the container is running`);
  }
  if (container.state.state !== 'running') return new CommandFailure(`Error response from daemon: container ${container.fullId} is not running`);
  return undefined;
}

/** A TTY joins stderr to stdout and turns LF into CRLF, which is what `docker exec -t` output looks like. */
function ttyOutput(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, Buffer.from(chunk.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
    },
  });
}

async function runExec(io: Io, plan: ExecPlan, options: { interactive: boolean; tty: boolean; detach: boolean }): Promise<number> {
  if (options.detach) {
    const child = spawn(plan.file, plan.args, { cwd: plan.cwd, env: plan.env, stdio: 'ignore', detached: true });
    // docker reports a program that could not start even with -d; an unheard 'error' would take the lab down.
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => reject(ociFailure(`exec: "${plan.file}": ${error.code === 'EACCES' ? 'permission denied' : error.message}`, 126)));
    });
    child.unref();
    return 0;
  }
  const cannotRun = (why: 'missing' | 'denied') =>
    why === 'denied' ? ociFailure(`exec: "${plan.file}": permission denied`, 126) : ociFailure(`exec: "${plan.file}": executable file not found in $PATH`, 127);
  return runChild(io, { ...plan, stdin: options.interactive, cannotRun }, options.tty ? ttyOutput() : undefined);
}

export async function exec(context: HostContext, args: string[]): Promise<number> {
  const parsed = parseFlags(args, EXEC_FLAGS, { command: 'docker exec', stopAtPositional: true });
  if (parsed.positionals.length < 2) {
    throw dockerUsageError('exec', '[OPTIONS] CONTAINER COMMAND [ARG...]', 'Execute a command in a running container', 'at least 2 arguments');
  }
  const container = context.requireContainer(parsed.positionals[0]!);
  const options = { interactive: flagOn(parsed, 'interactive'), tty: flagOn(parsed, 'tty'), detach: flagOn(parsed, 'detach') };
  // Docker inspects before checking the terminal, so "No such container" wins over the TTY error, which wins over "not running".
  if (options.tty && options.interactive && !options.detach && !(context.io.stdin as { isTTY?: boolean }).isTTY) throw new CommandFailure('the input device is not a TTY');
  const stopped = notRunning(container);
  if (stopped) throw stopped;
  return runExec(context.io, planExec(context, container, parsed), options);
}
