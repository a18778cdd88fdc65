// Listening sockets from `ss -ltn` (iproute2 of any age: aligned or compact columns, with or without Netid and
// Process, `-H`) and, because older hosts only have it, `netstat -ltn`.
import { isBlank, looksBinary, SERVICE_PORTS, splitLines } from './text.ts';

export type SocketFamily = 4 | 6 | 'any';

export interface ListeningSocket {
  /** Without brackets or `%interface`: `0.0.0.0`, `::`, `127.0.0.53`, or `*` (any address of either family). */
  address: string;
  port: number;
  family: SocketFamily;
  /** The `%lo` of `127.0.0.53%lo:53`. */
  interface?: string;
  /** `tcp`/`udp` when the output has a Netid (or netstat Proto) column. */
  netid: string | null;
  state: string | null;
  process: string | null;
  raw: string;
}

export interface SsListing {
  sockets: ListeningSocket[];
  unparsed: string[];
}

const SS_STATES = new Set(['LISTEN', 'UNCONN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'CLOSED', 'UNKNOWN']);
const NETIDS = new Set(['tcp', 'udp', 'raw', 'sctp', 'mptcp', 'dccp', 'u_str', 'u_dgr', 'u_seq', 'p_raw', 'p_dgr', 'nl']);
const NETSTAT_PROTOS = new Set(['tcp', 'tcp6', 'udp', 'udp6']);
// ss's header ("Peer Address:PortProcess" runs together when stdout is not a terminal) and netstat's two.
const HEADER = /^(?:(?:Netid\s+)?State\s+Recv-Q|Proto\s+Recv-Q|Active (?:Internet|UNIX) )/;

function portOf(text: string): number | null {
  if (/^\d{1,5}$/.test(text)) {
    const port = Number(text);
    return port <= 65535 ? port : null;
  }
  return SERVICE_PORTS[text] ?? null;
}

function familyOf(address: string): SocketFamily | null {
  if (address === '*') return 'any';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return 4;
  return /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/.test(address) ? 6 : null;
}

/**
 * `0.0.0.0:443`, `*:443`, `[::]:443`, `:::443` (iproute2 before 4.x and netstat), `127.0.0.53%lo:53`,
 * `[fe80::1]%eth0:53`; the port may be a service name when -n was left out.
 */
export function parseSocketAddress(text: string): Pick<ListeningSocket, 'address' | 'port' | 'family' | 'interface'> | null {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return null;
  const port = portOf(text.slice(colon + 1));
  let host = text.slice(0, colon);
  let iface: string | undefined;
  const percent = /^(.*?)%([^\]]+)(\]?)$/.exec(host);
  if (percent) {
    host = `${percent[1] ?? ''}${percent[3] ?? ''}`;
    iface = percent[2];
  }
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const family = familyOf(address);
  if (port === null || family === null || address === '') return null;
  return { address, port, family, ...(iface ? { interface: iface } : {}) };
}

function fromSs(tokens: string[], raw: string): ListeningSocket | null {
  const withNetid = NETIDS.has(tokens[0] ?? '') && SS_STATES.has(tokens[1] ?? '');
  const [netid, state, recvQ, sendQ, local, peer, ...process] = withNetid ? tokens : [null, ...tokens];
  if (!state || !SS_STATES.has(state) || !/^\d+$/.test(recvQ ?? '') || !/^\d+$/.test(sendQ ?? '') || !peer) return null;
  const address = parseSocketAddress(local ?? '');
  return address ? { ...address, netid: netid ?? null, state, process: process.length ? process.join(' ') : null, raw } : null;
}

/** `tcp6       0      0 :::443       :::*        LISTEN      2120/docker-proxy` */
function fromNetstat(tokens: string[], raw: string): ListeningSocket | null {
  const [proto, recvQ, sendQ, local, foreign, ...rest] = tokens;
  if (!proto || !NETSTAT_PROTOS.has(proto) || !/^\d+$/.test(recvQ ?? '') || !/^\d+$/.test(sendQ ?? '') || !foreign) return null;
  const address = parseSocketAddress(local ?? '');
  if (!address) return null;
  const state = proto.startsWith('tcp') ? (rest.shift() ?? null) : null;
  // netstat prints `:::443` for a dual-stack socket on tcp6 and `0.0.0.0:443` on tcp; the proto says which.
  const family = address.family === 'any' ? (proto.endsWith('6') ? 6 : 4) : address.family;
  return { ...address, family, netid: proto.replace(/6$/, ''), state, process: rest.length ? rest.join(' ') : null, raw };
}

export function parseSsListening(input: string): SsListing {
  const listing: SsListing = { sockets: [], unparsed: [] };
  for (const line of splitLines(input)) {
    if (isBlank(line) || HEADER.test(line.trim())) continue;
    const tokens = line.trim().split(/\s+/);
    const socket = looksBinary(line) ? null : (fromSs(tokens, line) ?? fromNetstat(tokens, line));
    if (socket) listing.sockets.push(socket);
    else listing.unparsed.push(line);
  }
  return listing;
}

const isLoopback = (socket: ListeningSocket) => socket.address.startsWith('127.') || socket.address === '::1' || socket.interface === 'lo';

/**
 * Whether something listens for TCP on the port, per family: `*` counts for both, `[::]` only for IPv6 (even where
 * the kernel would also hand it IPv4, ss cannot tell). `localOnly` when every such socket is on a loopback address.
 */
export function listensOn(sockets: ListeningSocket[], port: number): { ipv4: boolean; ipv6: boolean; localOnly: boolean } {
  const matching = sockets.filter((s) => s.port === port && (s.state === null || s.state === 'LISTEN') && (s.netid === null || s.netid === 'tcp'));
  return {
    ipv4: matching.some((s) => s.family === 4 || s.family === 'any'),
    ipv6: matching.some((s) => s.family === 6 || s.family === 'any'),
    localOnly: matching.length > 0 && matching.every(isLoopback),
  };
}
