// `iptables -S` / `-L` for a simulated host: docker's filter chains plus a DROP per port the lab's firewall model
// blocks. It reports; the lab enforces nothing through it. Layout as iptables' print_firewall().
import type { HostState } from '../state.ts';
import { CommandFailure, containerAddresses, HostContext, write, type Io } from './context.ts';
import { parsePorts } from './docker-format.ts';
import { bridgeName } from './ip.ts';

interface Interface {
  name: string;
  negated?: boolean;
}

interface Rule {
  chain: string;
  target: string;
  protocol?: 'tcp';
  destination?: string;
  in?: Interface;
  out?: Interface;
  /** The match as iptables-save writes it and as iptables -L describes it. */
  match?: { save: string; list: (numeric: boolean) => string };
}

interface Chain {
  name: string;
  policy?: 'ACCEPT' | 'DROP';
}

const SERVICE_NAMES: Record<number, string> = { 22: 'ssh', 80: 'http', 443: 'https' };

const dport = (port: number): Rule['match'] => ({
  save: `-m tcp --dport ${port}`,
  list: (numeric) => `tcp dpt:${numeric ? port : (SERVICE_NAMES[port] ?? port)}`,
});

const ESTABLISHED: Rule['match'] = { save: '-m conntrack --ctstate RELATED,ESTABLISHED', list: () => 'ctstate RELATED,ESTABLISHED' };

const CHAINS: Chain[] = [
  { name: 'INPUT', policy: 'ACCEPT' },
  { name: 'FORWARD', policy: 'DROP' },
  { name: 'OUTPUT', policy: 'ACCEPT' },
  { name: 'DOCKER' },
  { name: 'DOCKER-ISOLATION-STAGE-1' },
  { name: 'DOCKER-ISOLATION-STAGE-2' },
  { name: 'DOCKER-USER' },
];

/** Docker's filter table for two bridges (docker0 and the compose network) plus a DROP per blocked port. */
function filterRules(context: HostContext, host: HostState): Rule[] {
  const bridges = [bridgeName(host), 'docker0'];
  const addresses = containerAddresses(context);
  const published = context.containers().flatMap((c) =>
    parsePorts(c.state.ports)
      .filter((p) => p.hostPort !== undefined && p.hostIp !== '::' && p.containerPort.endsWith('/tcp'))
      .map((p) => ({ ip: addresses.get(c.state.name) ?? '172.18.0.2', port: Number(p.containerPort.split('/')[0]) })),
  );
  const bridge = bridges[0]!;
  return [
    ...host.firewall.blockedPorts.map((port): Rule => ({ chain: 'INPUT', target: 'DROP', protocol: 'tcp', match: dport(port) })),
    { chain: 'FORWARD', target: 'DOCKER-USER' },
    { chain: 'FORWARD', target: 'DOCKER-ISOLATION-STAGE-1' },
    ...bridges.flatMap((name): Rule[] => [
      { chain: 'FORWARD', target: 'ACCEPT', out: { name }, match: ESTABLISHED },
      { chain: 'FORWARD', target: 'DOCKER', out: { name } },
      { chain: 'FORWARD', target: 'ACCEPT', in: { name }, out: { name, negated: true } },
      { chain: 'FORWARD', target: 'ACCEPT', in: { name }, out: { name } },
    ]),
    ...published.map(({ ip, port }): Rule => ({ chain: 'DOCKER', target: 'ACCEPT', protocol: 'tcp', destination: `${ip}/32`, in: { name: bridge, negated: true }, out: { name: bridge }, match: dport(port) })),
    ...bridges.map((name): Rule => ({ chain: 'DOCKER-ISOLATION-STAGE-1', target: 'DOCKER-ISOLATION-STAGE-2', in: { name }, out: { name, negated: true } })),
    { chain: 'DOCKER-ISOLATION-STAGE-1', target: 'RETURN' },
    ...bridges.map((name): Rule => ({ chain: 'DOCKER-ISOLATION-STAGE-2', target: 'DROP', out: { name } })),
    { chain: 'DOCKER-ISOLATION-STAGE-2', target: 'RETURN' },
    { chain: 'DOCKER-USER', target: 'RETURN' },
  ];
}

function saveInterface(flag: string, iface: Interface | undefined): string {
  return iface ? ` ${iface.negated ? '! ' : ''}${flag} ${iface.name}` : '';
}

function saveRule(rule: Rule): string {
  const destination = rule.destination ? ` -d ${rule.destination}` : '';
  const protocol = rule.protocol ? ` -p ${rule.protocol}` : '';
  const match = rule.match ? ` ${rule.match.save}` : '';
  return `-A ${rule.chain}${destination}${saveInterface('-i', rule.in)}${saveInterface('-o', rule.out)}${protocol}${match} -j ${rule.target}`;
}

interface ListOptions {
  numeric: boolean;
  verbose: boolean;
  lineNumbers: boolean;
}

function listAddress(cidr: string | undefined, numeric: boolean): string {
  if (!cidr) return numeric ? '0.0.0.0/0' : 'anywhere';
  return cidr.replace(/\/32$/, '');
}

function listInterface(iface: Interface | undefined, numeric: boolean): string {
  if (!iface) return numeric ? '*' : 'any';
  return `${iface.negated ? '!' : ''}${iface.name}`;
}

/** One print_firewall() line: target, prot, opt, [in, out,] source, destination, then the matches. */
function listRule(rule: Rule, index: number, options: ListOptions): string {
  const number = options.lineNumbers ? `${String(index + 1).padEnd(4)} ` : '';
  const counters = options.verbose ? `${'0'.padStart(5)} ${'0'.padStart(5)} ` : '';
  const via = options.verbose ? `  ${listInterface(rule.in, options.numeric).padEnd(6)} ${listInterface(rule.out, options.numeric).padEnd(6)}` : '';
  const source = ` ${listAddress(undefined, options.numeric).padEnd(19)} `;
  const destination = ` ${listAddress(rule.destination, options.numeric).padEnd(19)} `;
  const match = rule.match ? ` ${rule.match.list(options.numeric)}` : '';
  return `${number}${counters}${rule.target.padEnd(9)}  ${(rule.protocol ?? 'all').padEnd(5)}--${via} ${source}${destination}${match}`;
}

function listChain(chain: Chain, rules: Rule[], allRules: Rule[], options: ListOptions): string {
  const references = allRules.filter((r) => r.target === chain.name).length;
  const title = chain.policy
    ? `Chain ${chain.name} (policy ${chain.policy}${options.verbose ? ' 0 packets, 0 bytes' : ''})`
    : `Chain ${chain.name} (${references} references)`;
  const header = `${options.lineNumbers ? 'num  ' : ''}${options.verbose ? ' pkts bytes ' : ''}target     prot opt ${options.verbose ? 'in     out     ' : ''}source               destination         `;
  return [title, header, ...rules.map((rule, i) => listRule(rule, i, options))].map((line) => `${line}\n`).join('');
}

interface IptablesCommand {
  mode: 'save' | 'list';
  chain?: string;
  table: string;
  options: ListOptions;
}

const LONG_OPTIONS: Record<string, string> = { '--list': 'L', '--list-rules': 'S', '--numeric': 'n', '--verbose': 'v', '--exact': 'x', '--table': 't' };

function parseIptables(args: string[]): IptablesCommand {
  const command: IptablesCommand = { mode: 'list', table: 'filter', options: { numeric: false, verbose: false, lineNumbers: false } };
  let modeSeen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--line-numbers') {
      command.options.lineNumbers = true;
      continue;
    }
    const letters = LONG_OPTIONS[arg] ?? (arg.startsWith('-') && !arg.startsWith('--') ? arg.slice(1) : undefined);
    if (letters === undefined) {
      if (arg.startsWith('-')) throw new CommandFailure(`iptables v1.8.7 (nf_tables): unknown option "${arg}"\nTry \`iptables -h' or 'iptables --help' for more information.`, 2);
      command.chain = arg;
      continue;
    }
    for (const letter of letters) {
      if (letter === 'S' || letter === 'L') {
        command.mode = letter === 'S' ? 'save' : 'list';
        modeSeen = true;
      } else if (letter === 'n') command.options.numeric = true;
      else if (letter === 'v') command.options.verbose = true;
      else if (letter === 't') command.table = args[++i] ?? '';
      else if (letter !== 'x') throw new CommandFailure(`lab: iptables -${letter} is not simulated (the suite only reads the firewall)`, 2);
    }
  }
  if (!modeSeen) throw new CommandFailure(`iptables v1.8.7 (nf_tables): no command specified\nTry \`iptables -h' or 'iptables --help' for more information.`, 2);
  return command;
}

export async function iptables(io: Io, args: string[]): Promise<number> {
  const command = parseIptables(args);
  if (command.table !== 'filter') throw new CommandFailure(`lab: only the filter table is simulated (asked for "${command.table}")`, 2);
  const context = HostContext.of(io);
  const rules = filterRules(context, context.host());
  const chains = command.chain ? CHAINS.filter((c) => c.name === command.chain) : CHAINS;
  if (chains.length === 0) throw new CommandFailure('iptables: No chain/target/match by that name.', 1);
  const text =
    command.mode === 'save'
      ? [
          ...chains.map((c) => (c.policy ? `-P ${c.name} ${c.policy}` : `-N ${c.name}`)),
          ...rules.filter((r) => chains.some((c) => c.name === r.chain)).map(saveRule),
        ]
          .map((line) => `${line}\n`)
          .join('')
      : chains.map((c) => listChain(c, rules.filter((r) => r.chain === c.name), rules, command.options)).join('\n');
  await write(io.stdout, text, io.signal);
  return 0;
}
