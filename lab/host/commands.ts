// The host command stand-ins behind the shims in <root>/bin: `docker`, `sudo`, `ss`, `ip`, `ufw`, `iptables` on a
// simulated host, and `Xvnc` inside its containers. Each shim runs the bundle with the command name first.
import { CommandFailure, exitStatus, HostContext, loadContainer, processIo, runChild, write, type Io } from './context.ts';
import { docker } from './docker.ts';
import { ip } from './ip.ts';
import { iptables } from './iptables.ts';
import { ss } from './ss.ts';
import { ufw } from './ufw.ts';

const SUDO_USAGE = 'usage: sudo [-AbEHknPS] [-C num] [-D directory] [-g group] [-h host] [-p prompt] [-R directory] [-T timeout] [-u user] [VAR=value] [-i|-s] [<command>]';

interface SudoRequest {
  nonInteractive: boolean;
  command: string[];
}

function parseSudo(args: string[]): SudoRequest {
  const request: SudoRequest = { nonInteractive: false, command: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg === '--non-interactive') {
      request.nonInteractive = true;
      continue;
    }
    for (const letter of arg.slice(1)) {
      if (letter === 'n') request.nonInteractive = true;
      else if (letter === 'u' || letter === 'g') i++;
      else if (!'EHSk'.includes(letter)) throw new CommandFailure(`sudo: invalid option -- '${letter}'\n${SUDO_USAGE}`, 1);
    }
  }
  request.command = args.slice(i);
  if (request.command.length === 0) throw new CommandFailure(SUDO_USAGE, 1);
  return request;
}

/** Like sudo without a TTY and without a cached credential: the prompt goes out and nothing comes back until the caller goes. */
function waitForPassword(io: Io): Promise<number> {
  io.stdin.resume();
  return new Promise<number>((resolve) => {
    if (io.signal.aborted) return resolve(exitStatus(null, 'SIGTERM'));
    const keepAlive = setInterval(() => undefined, 60_000);
    io.signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        resolve(exitStatus(null, 'SIGTERM'));
      },
      { once: true },
    );
  });
}

async function sudo(io: Io, args: string[]): Promise<number> {
  const request = parseSudo(args);
  if (HostContext.of(io).faults().has('sudo-password')) {
    if (request.nonInteractive) throw new CommandFailure('sudo: a password is required', 1);
    await write(io.stderr, `[sudo] password for ${io.env.USER ?? 'kasm-admin'}: `, io.signal);
    return waitForPassword(io);
  }
  const [file = '', ...rest] = request.command;
  // Another stand-in runs in this process: a second Node start would cost the lab more than the command itself.
  const standIn = isHostCommand(file) ? COMMANDS[file] : undefined;
  if (standIn) return standIn(io, rest);
  return runChild(io, { file, args: rest, env: io.env, stdin: true, cannotRun: () => new CommandFailure(`sudo: ${file}: command not found`, 1) });
}

/** vncPrintBanner(): `"\nXvnc %s%s - built %s\n%s"` then `"Underlying X server release %d, %s\n\n"`. */
export function xvncBanner(version: string): string {
  if (version.includes('\n')) return version;
  const first = version.startsWith('Xvnc ') ? version : `Xvnc ${version}`;
  return (
    `\n${first}\n` +
    'Copyright (C) 1999-2018 KasmVNC Team and many others (see README.me)\n' +
    'See http://kasmweb.com for information on KasmVNC.\n' +
    'Underlying X server release 12014000, The X.Org Foundation\n\n'
  );
}

async function xvnc(io: Io, args: string[]): Promise<number> {
  const dir = io.env.LAB_CONTAINER_DIR;
  if (!dir) throw new CommandFailure('lab: Xvnc runs only inside a lab container (through docker exec)', 127);
  if (!args.includes('-version')) throw new CommandFailure(`lab: this Xvnc only answers -version (got: ${args.join(' ') || 'no arguments'})`, 1);
  await write(io.stderr, xvncBanner(loadContainer(dir).state.xvncVersion ?? ''), io.signal);
  return 0;
}

const COMMANDS: Record<string, (io: Io, args: string[]) => Promise<number>> = { docker, sudo, ss, ip, ufw, iptables, Xvnc: xvnc };

export const HOST_COMMANDS = ['docker', 'sudo', 'ss', 'ip', 'ufw', 'iptables'] as const;
export const CONTAINER_COMMANDS = ['Xvnc'] as const;

export const isHostCommand = (name: string): name is (typeof HOST_COMMANDS)[number] => (HOST_COMMANDS as readonly string[]).includes(name);

const isBrokenPipe = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

/** Runs a stand-in: `argv` is the command name and its arguments. Resolves with the exit status; never rejects. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name = '', ...args] = argv;
  try {
    const command = COMMANDS[name];
    if (!command) throw new CommandFailure(`lab: unknown host command "${name}"`, 127);
    return await command(io, args);
  } catch (error) {
    if (isBrokenPipe(error)) return 0;
    // Whoever ran it has gone: nobody reads a message, and a shell would report the signal that ended it.
    if (io.signal.aborted) return exitStatus(null, 'SIGTERM');
    const failure = error instanceof CommandFailure ? error : new CommandFailure(`lab: ${name} failed: ${error instanceof Error ? error.message : String(error)}`, 1);
    await write(io.stderr, `${failure.message}\n`, io.signal).catch(() => undefined);
    return failure.exitCode;
  }
}
