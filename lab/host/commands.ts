// The host command stand-ins behind the shims in <root>/bin: `docker`, `sudo`, `ss`, `ip`, `ufw`, `iptables` on a
// simulated host, and `Xvnc` inside its containers. Each shim runs the bundle with the command name first.
import { spawn } from 'node:child_process';
import { CommandFailure, exitStatus, HostContext, loadContainer, write } from './context.ts';
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

/** Like sudo without a TTY and without a cached credential: the prompt goes out and nothing ever comes back. */
function waitForPassword(): Promise<number> {
  process.stdin.resume();
  return new Promise<number>(() => {
    setInterval(() => undefined, 60_000);
  });
}

async function sudo(args: string[]): Promise<number> {
  const request = parseSudo(args);
  if (HostContext.fromEnv().faults().has('sudo-password')) {
    if (request.nonInteractive) throw new CommandFailure('sudo: a password is required', 1);
    await write(process.stderr, `[sudo] password for ${process.env.USER ?? 'kasm-admin'}: `);
    return waitForPassword();
  }
  const [file = '', ...rest] = request.command;
  // Another stand-in runs in this process: a second Node start would cost the lab more than the command itself.
  const standIn = (HOST_COMMANDS as readonly string[]).includes(file) ? COMMANDS[file] : undefined;
  if (standIn) return standIn(rest);
  const child = spawn(file, rest, { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? reject(new CommandFailure(`sudo: ${file}: command not found`, 1)) : reject(error)));
    child.once('close', (code, signal) => resolve(exitStatus(code, signal)));
  });
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

async function xvnc(args: string[]): Promise<number> {
  const dir = process.env.LAB_CONTAINER_DIR;
  if (!dir) throw new CommandFailure('lab: Xvnc runs only inside a lab container (through docker exec)', 127);
  if (!args.includes('-version')) throw new CommandFailure(`lab: this Xvnc only answers -version (got: ${args.join(' ') || 'no arguments'})`, 1);
  await write(process.stderr, xvncBanner(loadContainer(dir).state.xvncVersion ?? ''));
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { docker, sudo, ss, ip, ufw, iptables, Xvnc: xvnc };

export const HOST_COMMANDS = ['docker', 'sudo', 'ss', 'ip', 'ufw', 'iptables'] as const;
export const CONTAINER_COMMANDS = ['Xvnc'] as const;

const isBrokenPipe = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

export async function main(argv: string[]): Promise<number> {
  const [name = '', ...args] = argv;
  try {
    const command = COMMANDS[name];
    if (!command) throw new CommandFailure(`lab: unknown host command "${name}"`, 127);
    return await command(args);
  } catch (error) {
    if (isBrokenPipe(error)) return 0;
    const failure = error instanceof CommandFailure ? error : new CommandFailure(`lab: ${name} failed: ${error instanceof Error ? error.message : String(error)}`, 1);
    await write(process.stderr, `${failure.message}\n`).catch(() => undefined);
    return failure.exitCode;
  }
}
