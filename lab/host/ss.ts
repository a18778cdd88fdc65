// `ss` for a simulated host, laid out as iproute2 lays it out. kasm_proxy's port listens only while the lab says the
// proxy accepts connections (HostState.proxyListening).
import type { HostState } from '../state.ts';
import { CommandFailure, HostContext, write, type Io } from './context.ts';

interface Socket {
  netid: 'tcp' | 'udp';
  state: 'LISTEN' | 'UNCONN';
  recvQ: number;
  sendQ: number;
  v6: boolean;
  address: string;
  interface?: string;
  port: number;
  process: string;
}

const SERVICES: Record<number, string> = { 22: 'ssh', 53: 'domain', 80: 'http', 111: 'sunrpc', 443: 'https' };

function sockets(host: HostState): Socket[] {
  const tcp = (address: string, port: number, backlog: number, process: string, v6 = false): Socket => ({ netid: 'tcp', state: 'LISTEN', recvQ: 0, sendQ: backlog, v6, address, port, process });
  const udp = (address: string, port: number, process: string, v6 = false): Socket => ({ netid: 'udp', state: 'UNCONN', recvQ: 0, sendQ: 0, v6, address, port, process });
  const proxy = host.proxyListening && host.proxyPort > 0;
  return [
    { ...udp('127.0.0.53', 53, '("systemd-resolve",pid=612,fd=13)'), interface: 'lo' },
    udp('0.0.0.0', 111, '("rpcbind",pid=598,fd=5),("systemd",pid=1,fd=36)'),
    udp('::', 111, '("rpcbind",pid=598,fd=7),("systemd",pid=1,fd=38)', true),
    { ...tcp('127.0.0.53', 53, 4096, '("systemd-resolve",pid=612,fd=14)'), interface: 'lo' },
    tcp('0.0.0.0', 22, 128, '("sshd",pid=901,fd=3)'),
    tcp('0.0.0.0', 111, 4096, '("rpcbind",pid=598,fd=4),("systemd",pid=1,fd=35)'),
    ...(proxy ? [tcp('0.0.0.0', host.proxyPort, 4096, '("docker-proxy",pid=2113,fd=4)')] : []),
    tcp('::', 111, 4096, '("rpcbind",pid=598,fd=6),("systemd",pid=1,fd=37)', true),
    tcp('::', 22, 128, '("sshd",pid=901,fd=4)', true),
    ...(proxy ? [tcp('::', host.proxyPort, 4096, '("docker-proxy",pid=2120,fd=4)', true)] : []),
  ];
}

interface Column {
  header: string;
  align: 'left' | 'right';
  /** Printed before the cell when it is not the first on its line. */
  delimiter: string;
}

const SS_COLUMNS: Column[] = [
  { header: 'Netid', align: 'left', delimiter: '' },
  { header: 'State', align: 'left', delimiter: ' ' },
  { header: 'Recv-Q', align: 'left', delimiter: ' ' },
  { header: 'Send-Q', align: 'left', delimiter: ' ' },
  { header: 'Local Address:', align: 'right', delimiter: ' ' },
  { header: 'Port', align: 'left', delimiter: '' },
  { header: 'Peer Address:', align: 'right', delimiter: ' ' },
  { header: 'Port', align: 'left', delimiter: '' },
  { header: 'Process', align: 'left', delimiter: '' },
];

/**
 * ss's render() when stdout is not a terminal (as over `ssh host cmd`): each column as wide as its longest cell plus
 * its delimiter, no spreading to the screen width (iproute2 >= 5.5).
 */
function renderColumns(columns: Column[], rows: string[][]): string {
  const widths = columns.map((column, i) => {
    const longest = Math.max(...rows.map((row) => row[i]!.length));
    return i > 0 && longest > 0 ? longest + column.delimiter.length : longest;
  });
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const column = columns[i]!;
          const delimiter = i > 0 ? column.delimiter : '';
          const room = Math.max(widths[i]! - delimiter.length - cell.length, 0);
          return column.align === 'right' ? delimiter + ' '.repeat(room) + cell : delimiter + cell + ' '.repeat(room);
        })
        .join(''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function formatAddress(socket: Socket, numeric: boolean): [string, string] {
  const address = socket.v6 ? `[${socket.address}]` : socket.address;
  const port = numeric ? String(socket.port) : (SERVICES[socket.port] ?? String(socket.port));
  return [`${address}${socket.interface ? `%${socket.interface}` : ''}:`, port];
}

interface SsOptions {
  listening: boolean;
  all: boolean;
  tcp: boolean;
  udp: boolean;
  numeric: boolean;
  processes: boolean;
  header: boolean;
  family?: 'v4' | 'v6';
}

function ssOptions(args: string[]): SsOptions {
  const options: SsOptions = { listening: false, all: false, tcp: false, udp: false, numeric: false, processes: false, header: true };
  const long: Record<string, string> = { listening: 'l', all: 'a', tcp: 't', udp: 'u', numeric: 'n', processes: 'p', 'no-header': 'H', ipv4: '4', ipv6: '6' };
  const letters = args.flatMap((arg) => {
    if (arg.startsWith('--')) {
      const letter = long[arg.slice(2)];
      if (!letter) throw new CommandFailure(`ss: unrecognized option '${arg}'`, 255);
      return [letter];
    }
    if (arg.startsWith('-')) return [...arg.slice(1)];
    throw new CommandFailure(`ss: filters are not supported by the lab: ${arg}`, 255);
  });
  for (const letter of letters) {
    if (letter === 'l') options.listening = true;
    else if (letter === 'a') options.all = true;
    else if (letter === 't') options.tcp = true;
    else if (letter === 'u') options.udp = true;
    else if (letter === 'n') options.numeric = true;
    else if (letter === 'p') options.processes = true;
    else if (letter === 'H') options.header = false;
    else if (letter === '4') options.family = 'v4';
    else if (letter === '6') options.family = 'v6';
    else if (!'eomiO'.includes(letter)) throw new CommandFailure(`ss: invalid option -- '${letter}'`, 255);
  }
  if (!options.tcp && !options.udp) options.tcp = options.udp = true;
  return options;
}

export async function ss(io: Io, args: string[]): Promise<number> {
  const options = ssOptions(args);
  const host = HostContext.of(io).host();
  const shown = sockets(host)
    .filter((s) => (s.netid === 'tcp' ? options.tcp : options.udp))
    .filter((s) => options.family === undefined || s.v6 === (options.family === 'v6'))
    .filter(() => options.listening || options.all);
  const showNetid = options.tcp && options.udp;
  const rows = shown.map((s) => {
    const [local, port] = formatAddress(s, options.numeric);
    const peer = s.v6 ? '[::]:' : '0.0.0.0:';
    return [s.netid, s.state, String(s.recvQ).padEnd(6), String(s.sendQ).padEnd(6), local, port, peer, '*', options.processes ? ` users:(${s.process})` : ''];
  });
  const all = options.header ? [SS_COLUMNS.map((c) => c.header), ...rows] : rows;
  const keep = (_: unknown, i: number) => showNetid || i > 0;
  await write(io.stdout, renderColumns(SS_COLUMNS.filter(keep), all.map((row) => row.filter(keep))), io.signal);
  return 0;
}
