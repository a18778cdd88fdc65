// `docker logs` with --since/--until/--tail/-t over the container's log file; following is out of scope.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailure, type HostContext } from './context.ts';
import { dockerUsageError } from './docker-format.ts';
import { flagOn, flagValue, parseFlags, type FlagSpec } from './flags.ts';
import { parseTimeValue, streamLog, TimeValueError } from './log-file.ts';

const LOGS_FLAGS: Record<string, FlagSpec> = {
  follow: { short: 'f' },
  since: { value: true },
  until: { value: true },
  tail: { short: 'n', value: true },
  timestamps: { short: 't' },
  details: {},
};

function timeFlag(name: 'since' | 'until', value: string | undefined, now: Date): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return parseTimeValue(value, now);
  } catch (error) {
    if (error instanceof TimeValueError) throw new CommandFailure(`invalid value for "${name}": ${error.message}`);
    throw error;
  }
}

/** Docker treats `all`, negative and unparsable --tail values as "everything". */
function tailFlag(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export async function logs(context: HostContext, args: string[]): Promise<number> {
  const parsed = parseFlags(args, LOGS_FLAGS, { command: 'docker logs' });
  if (flagOn(parsed, 'follow')) throw new CommandFailure('lab: docker logs -f is not supported', 2);
  if (parsed.positionals.length !== 1) throw dockerUsageError('logs', '[OPTIONS] CONTAINER', 'Fetch the logs of a container', 'exactly 1 argument');
  const container = context.requireContainer(parsed.positionals[0]!);
  const query = {
    since: timeFlag('since', flagValue(parsed, 'since'), context.now),
    until: timeFlag('until', flagValue(parsed, 'until'), context.now),
    tail: tailFlag(flagValue(parsed, 'tail')),
    timestamps: flagOn(parsed, 'timestamps'),
  };
  const file = join(container.dir, 'log');
  if (existsSync(file)) await streamLog(file, query, context.io.stdout, context.io.signal);
  return 0;
}
