// `docker inspect`: the Engine API's container JSON (the fields checks read), or a --format template over it.
import { createHash } from 'node:crypto';
import { containerAddresses, write, type Container, type HostContext } from './context.ts';
import { dockerUsageError, exitCodeOf, finishedAt, goJson, goRfc3339Nano, NETWORK, parsePorts } from './docker-format.ts';
import { flagValue, parseFlags, type FlagSpec } from './flags.ts';
import { compileTemplate } from './template.ts';

const INSPECT_FLAGS: Record<string, FlagSpec> = {
  format: { short: 'f', value: true },
  type: { value: true },
  size: { short: 's' },
};

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Splits a command line the way a shell would (docker stores compose `command:` strings as argv). */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
}

function portMaps(c: Container, running: boolean) {
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const mapping of parsePorts(c.state.ports)) {
    if (mapping.hostPort === undefined) {
      ports[mapping.containerPort] ??= null;
      continue;
    }
    const binding = bindings[mapping.containerPort] ?? [];
    if (!binding.some((b) => b.HostPort === mapping.hostPort)) binding.push({ HostIp: '', HostPort: mapping.hostPort });
    bindings[mapping.containerPort] = binding;
    ports[mapping.containerPort] = [...(ports[mapping.containerPort] ?? []), { HostIp: mapping.hostIp ?? '', HostPort: mapping.hostPort }];
  }
  return { bindings: sortedKeys(bindings), ports: running ? sortedKeys(ports) : {} };
}

/** Go marshals maps with sorted keys (structs keep their field order). */
function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function inspectState(c: Container) {
  const running = c.state.state !== 'exited';
  const pid = running ? 1000 + (parseInt(c.fullId.slice(0, 4), 16) % 30000) : 0;
  return {
    Status: c.state.state,
    Running: running,
    Paused: false,
    Restarting: c.state.state === 'restarting',
    OOMKilled: false,
    Dead: false,
    Pid: pid,
    ExitCode: exitCodeOf(c.state),
    Error: '',
    StartedAt: goRfc3339Nano(new Date(c.state.startedAt)),
    FinishedAt: c.state.state === 'running' ? ZERO_TIME : goRfc3339Nano(finishedAt(c)),
    ...(c.state.health ? { Health: { Status: c.state.health, FailingStreak: c.state.health === 'unhealthy' ? 3 : 0, Log: [] } } : {}),
  };
}

function inspectObject(context: HostContext, c: Container): Record<string, unknown> {
  const argv = shellWords(c.state.command);
  const { bindings, ports } = portMaps(c, c.state.state !== 'exited');
  const runDir = `/var/lib/docker/containers/${c.fullId}`;
  const ip = containerAddresses(context).get(c.state.name) ?? '172.18.0.2';
  return {
    Id: c.fullId,
    Created: goRfc3339Nano(new Date(c.state.created)),
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: inspectState(c),
    Image: `sha256:${createHash('sha256').update(c.state.image).digest('hex')}`,
    ResolvConfPath: `${runDir}/resolv.conf`,
    HostnamePath: `${runDir}/hostname`,
    HostsPath: `${runDir}/hosts`,
    LogPath: `${runDir}/${c.fullId}-json.log`,
    Name: `/${c.state.name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    HostConfig: { NetworkMode: NETWORK, PortBindings: bindings, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } },
    Mounts: [],
    Config: {
      Hostname: c.state.hostname,
      Domainname: '',
      User: '',
      ExposedPorts: sortedKeys(Object.fromEntries(parsePorts(c.state.ports).map((p) => [p.containerPort, {}]))),
      Tty: false,
      Env: Object.entries(c.state.env).map(([k, v]) => `${k}=${v}`),
      Cmd: argv,
      Image: c.state.image,
      WorkingDir: '',
      Entrypoint: null,
      Labels: {},
    },
    NetworkSettings: {
      Ports: ports,
      Networks: c.state.state === 'exited' ? {} : { [NETWORK]: { IPAddress: ip, IPPrefixLen: 16, Gateway: '172.18.0.1', MacAddress: `02:42:ac:12:00:${Number(ip.split('.').at(-1)).toString(16).padStart(2, '0')}` } },
    },
  };
}

export async function inspect(context: HostContext, args: string[]): Promise<number> {
  const parsed = parseFlags(args, INSPECT_FLAGS, { command: 'docker inspect' });
  if (parsed.positionals.length < 1) throw dockerUsageError('inspect', '[OPTIONS] NAME|ID [NAME|ID...]', 'Return low-level information on Docker objects', 'at least 1 argument');
  const found = parsed.positionals.map((name) => ({ name, container: context.findContainer(name) }));
  const objects = found.flatMap(({ container }) => (container ? [inspectObject(context, container)] : []));
  const format = flagValue(parsed, 'format');
  if (format) {
    const template = compileTemplate(format, {
      missingField: (expression, key, column) => `template parsing error: template: :1:${column}: executing "" at <${expression}>: map has no entry for key "${key}"`,
    });
    await write(context.io.stdout, objects.map((object) => `${template.render(object)}\n`).join(''), context.io.signal);
  } else {
    await write(context.io.stdout, `${goJson(objects, '    ')}\n`, context.io.signal);
  }
  const missing = found.filter(({ container }) => !container);
  if (missing.length === 0) return 0;
  await write(context.io.stderr, missing.map(({ name }) => `Error: No such object: ${name}\n`).join(''), context.io.signal);
  return 1;
}
