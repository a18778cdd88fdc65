// A docker CLI over the lab's state folder: ps, logs, exec and inspect print what docker prints for the containers
// under <root>/hosts/<host>/containers. There is no engine behind it.
import { CommandFailure, HostContext, write, type Io } from './context.ts';
import { exec } from './docker-exec.ts';
import { inspect } from './docker-inspect.ts';
import { logs } from './docker-logs.ts';
import { ps } from './docker-ps.ts';
import { TemplateError } from './template.ts';

const DOCKER_VERSION = 'Docker version 24.0.7, build afdd53b';

const SUBCOMMANDS: Record<string, (context: HostContext, args: string[]) => Promise<number>> = { ps, logs, exec, inspect };
const CONTAINER_ALIASES: Record<string, string> = { ls: 'ps', list: 'ps', ps: 'ps', logs: 'logs', exec: 'exec', inspect: 'inspect' };

export async function docker(io: Io, args: string[]): Promise<number> {
  const [first = '', ...rest] = args;
  if (first === '--version' || first === '-v') {
    await write(io.stdout, `${DOCKER_VERSION}\n`, io.signal);
    return 0;
  }
  const [name, subArgs] = first === 'container' ? [CONTAINER_ALIASES[rest[0] ?? ''], rest.slice(1)] : [first, rest];
  const run = name ? SUBCOMMANDS[name] : undefined;
  if (!run) {
    const shown = first === 'container' ? `container ${rest[0] ?? ''}` : first;
    throw new CommandFailure(`docker: unknown command: docker ${shown}\n\nRun 'docker --help' for more information`);
  }
  try {
    return await run(HostContext.of(io), subArgs);
  } catch (error) {
    if (error instanceof TemplateError) throw new CommandFailure(error.message);
    throw error;
  }
}
