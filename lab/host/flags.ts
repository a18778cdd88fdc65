// Command-line parsing the way docker's pflag does it: `-aq`, `-n5`, `--tail=5`, `--tail 5`, repeated `-e`, `--`,
// and (for exec) flags only before the first positional argument.
import { CommandFailure } from './context.ts';

export interface FlagSpec {
  short?: string;
  /** Takes a value (otherwise a boolean switch). */
  value?: boolean;
}

export interface ParsedFlags {
  values: Map<string, string[]>;
  positionals: string[];
}

export interface ParseOptions {
  /** How the command names itself in errors: `docker ps`. */
  command: string;
  /** Stop at the first positional (docker exec, sudo): the rest belongs to the inner command. */
  stopAtPositional?: boolean;
}

function usageError(message: string, command: string): CommandFailure {
  return new CommandFailure(`${message}\nSee '${command} --help'.`, 125);
}

export function parseFlags(args: string[], spec: Record<string, FlagSpec>, options: ParseOptions): ParsedFlags {
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, flag]) => (flag.short ? [[flag.short, name] as const] : [])));
  const set = (name: string, value: string) => values.set(name, [...(values.get(name) ?? []), value]);
  let i = 0;
  while (i < args.length) {
    const arg = args[i++]!;
    if (arg === '--') {
      positionals.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--')) {
      const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
      const flag = spec[name];
      if (!flag) throw usageError(`unknown flag: --${name}`, options.command);
      if (!flag.value) set(name, inline ?? 'true');
      else if (inline !== undefined) set(name, inline);
      else if (i < args.length) set(name, args[i++]!);
      else throw usageError(`flag needs an argument: --${name}`, options.command);
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let c = 1; c < arg.length; c++) {
        const letter = arg[c]!;
        const name = byShort.get(letter);
        if (!name) throw usageError(`unknown shorthand flag: '${letter}' in ${arg}`, options.command);
        if (!spec[name]!.value) {
          set(name, 'true');
          continue;
        }
        const rest = arg.slice(c + 1).replace(/^=/, '');
        if (rest) set(name, rest);
        else if (i < args.length) set(name, args[i++]!);
        else throw usageError(`flag needs an argument: '${letter}' in -${letter}`, options.command);
        break;
      }
    } else {
      positionals.push(arg);
      if (options.stopAtPositional) {
        positionals.push(...args.slice(i));
        break;
      }
    }
  }
  return { values, positionals };
}

export const flagOn = (parsed: ParsedFlags, name: string) => (parsed.values.get(name) ?? []).some((v) => v !== 'false');
export const flagValue = (parsed: ParsedFlags, name: string) => parsed.values.get(name)?.at(-1);
export const flagValues = (parsed: ParsedFlags, name: string) => parsed.values.get(name) ?? [];
