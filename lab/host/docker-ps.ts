// `docker ps`: docker's table through text/tabwriter, `--format` templates (`{{json .}}`, `table ...`), -a, -q,
// --no-trunc and the common --filter keys.
import { CommandFailure, write, type Container, type HostContext } from './context.ts';
import { ellipsis, finishedAt, goQuote, goTimeString, humanDuration, statusText, tabwrite, NETWORK } from './docker-format.ts';
import { flagOn, flagValue, flagValues, parseFlags, type FlagSpec } from './flags.ts';
import { compileTemplate } from './template.ts';

const PS_FLAGS: Record<string, FlagSpec> = {
  all: { short: 'a' },
  quiet: { short: 'q' },
  'no-trunc': {},
  format: { value: true },
  filter: { short: 'f', value: true },
  size: { short: 's' },
  last: { short: 'n', value: true },
  latest: { short: 'l' },
};

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

const DEFAULT_PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** The fields of docker's ContainerContext, in the key order `{{json .}}` prints them (sorted). */
function psRecord(c: Container, now: Date, trunc: boolean): Record<string, string> {
  const created = new Date(c.state.created);
  return {
    Command: goQuote(trunc ? ellipsis(c.state.command, 20) : c.state.command),
    CreatedAt: goTimeString(created),
    ID: trunc ? c.fullId.slice(0, 12) : c.fullId,
    Image: c.state.image,
    Labels: '',
    LocalVolumes: '0',
    Mounts: '',
    Names: c.state.name,
    Networks: NETWORK,
    // A stopped or restarting container has no endpoint, so docker shows no published ports for it.
    Ports: c.state.state === 'running' ? c.state.ports : '',
    RunningFor: `${humanDuration(now.getTime() - created.getTime())} ago`,
    Size: '0B',
    State: c.state.state,
    Status: statusText(c.state, finishedAt(c), now),
  };
}

function psFilter(expressions: string[]): (c: Container) => boolean {
  const tests = expressions.map((expression) => {
    const [key = '', value = ''] = expression.split(/=(.*)/s, 2);
    switch (key) {
      case 'name':
        return (c: Container) => new RegExp(value).test(`/${c.state.name}`);
      case 'id':
        return (c: Container) => c.fullId.startsWith(value);
      case 'status':
        return (c: Container) => c.state.state === value;
      case 'health':
        return (c: Container) => (c.state.health ?? 'none') === value;
      case 'ancestor':
        return (c: Container) => c.state.image === value || c.state.image.split(':')[0] === value;
      default:
        throw new CommandFailure(`Error response from daemon: invalid filter '${key}'`);
    }
  });
  return (c) => tests.every((test) => test(c));
}

function psFormat(parsed: ReturnType<typeof parseFlags>): string {
  const format = flagValue(parsed, 'format');
  if (flagOn(parsed, 'quiet') && !format) return '{{.ID}}';
  if (!format || format === 'table') return DEFAULT_PS_TABLE;
  return format === 'json' ? '{{json .}}' : format;
}

function renderPs(format: string, records: Record<string, string>[]): string {
  const table = format.startsWith('table');
  const source = (table ? format.slice('table'.length) : format).trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const template = compileTemplate(source, {
    missingField: (expression, key, column) => `template: :1:${column}: executing "" at <${expression}>: can't evaluate field ${key} in type *formatter.ContainerContext`,
    methods: { Label: () => '' },
  });
  const lines = records.map((record) => template.render(record));
  if (!table) return lines.map((line) => `${line}\n`).join('');
  const header = template.render(PS_HEADERS);
  return tabwrite([header, ...lines].map((line) => line.split('\t')));
}

export async function ps(context: HostContext, args: string[]): Promise<number> {
  const parsed = parseFlags(args, PS_FLAGS, { command: 'docker ps' });
  const filters = flagValues(parsed, 'filter');
  const showAll = flagOn(parsed, 'all') || filters.some((f) => f.startsWith('status=')) || flagOn(parsed, 'latest') || parsed.values.has('last');
  let containers = context
    .containers()
    .filter((c) => showAll || c.state.state !== 'exited')
    .filter(psFilter(filters))
    .sort((a, b) => new Date(b.state.created).getTime() - new Date(a.state.created).getTime() || a.state.name.localeCompare(b.state.name));
  if (flagOn(parsed, 'latest')) containers = containers.slice(0, 1);
  const last = Number(flagValue(parsed, 'last') ?? -1);
  if (last >= 0) containers = containers.slice(0, last);
  const trunc = !flagOn(parsed, 'no-trunc');
  const records = containers.map((c) => psRecord(c, context.now, trunc));
  await write(context.io.stdout, renderPs(psFormat(parsed), records), context.io.signal);
  return 0;
}
