// Interfaces and addresses from `ip addr` (full listing), `ip -o addr` (one line per address, continuation joined with
// `\`) and `ip -br addr` (name, state, addresses), as iproute2 prints them.
import { isBlank, looksBinary, splitLines } from './text.ts';

export interface IpAddress {
  family: 4 | 6;
  address: string;
  prefix: number;
  scope?: string;
  broadcast?: string;
  /** The far end of a point-to-point address (`inet 10.8.0.1 peer 10.8.0.2/32`). */
  peer?: string;
  /** IPv4 alias label such as `ens3:1`, when it differs from the interface name. */
  label?: string;
  /** `dynamic`, `secondary`, `noprefixroute`, `tentative`, ... */
  flags: string[];
}

export interface IpInterface {
  index?: number;
  /** Without the `@if5` peer suffix of a veth. */
  name: string;
  state?: string;
  /** `<BROADCAST,MULTICAST,UP,LOWER_UP>` */
  linkFlags?: string[];
  master?: string;
  altnames?: string[];
  addresses: IpAddress[];
}

export interface IpListing {
  interfaces: IpInterface[];
  unparsed: string[];
}

const HEADER = /^(\d+):\s+([^\s:@]+)(?:@(\S+?))?:\s+<([^>]*)>(.*)$/;
const ONE_LINE_ADDRESS = /^(\d+):\s+([^\s:@]+)(?:@\S+?)?\s+(inet6?)\s+(.+)$/;
const LINK_STATES = new Set(['UP', 'DOWN', 'UNKNOWN', 'LOWERLAYERDOWN', 'DORMANT', 'NOTPRESENT', 'TESTING']);
const VALUED = new Set(['brd', 'peer', 'scope', 'metric', 'proto', 'label', 'valid_lft', 'preferred_lft', 'dev']);
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;

function readCidr(text: string, family: 4 | 6): { address: string; prefix: number } | null {
  const [address = '', prefixText] = text.split('/');
  const valid = family === 4 ? IPV4.test(address) : IPV6.test(address);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!valid || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) return null;
  return { address, prefix };
}

/** One `inet`/`inet6` line after the family word: `10.0.0.5/24 metric 100 brd 10.0.0.255 scope global dynamic ens3`. */
function readAddress(familyWord: string, text: string, interfaceName: string): IpAddress | null {
  const family = familyWord === 'inet6' ? 6 : 4;
  const [first = '', ...tokens] = text.trim().split(/\s+/);
  const cidr = readCidr(first, family);
  if (!cidr) return null;
  const address: IpAddress = { family, ...cidr, flags: [] };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (VALUED.has(token)) {
      const value = tokens[++i] ?? '';
      if (token === 'brd') address.broadcast = value;
      else if (token === 'scope') address.scope = value;
      else if (token === 'label' && value !== interfaceName) address.label = value;
      else if (token === 'peer') {
        const peer = readCidr(value, family);
        address.peer = peer?.address ?? value;
        // The prefix of a point-to-point address is written on the peer.
        if (peer && !first.includes('/')) address.prefix = peer.prefix;
      }
    } else if (token === interfaceName) continue;
    else if (token.startsWith(`${interfaceName}:`)) address.label = token;
    else address.flags.push(token);
  }
  return address;
}

class Interfaces {
  readonly list: IpInterface[] = [];

  get(name: string, index?: number): IpInterface {
    let found = this.list.find((i) => i.name === name);
    if (!found) {
      found = { ...(index === undefined ? {} : { index }), name, addresses: [] };
      this.list.push(found);
    }
    return found;
  }
}

function readHeader(m: RegExpExecArray, interfaces: Interfaces): IpInterface {
  const entry = interfaces.get(m[2] ?? '', Number(m[1]));
  entry.linkFlags = (m[4] ?? '').split(',').filter(Boolean);
  const words = (m[5] ?? '').trim().split(/\s+/);
  const value = (key: string) => {
    const at = words.indexOf(key);
    return at >= 0 ? words[at + 1] : undefined;
  };
  const state = value('state');
  const master = value('master');
  if (state) entry.state = state;
  if (master) entry.master = master;
  return entry;
}

/** An indented line under a full-listing header; false when it is not one iproute2 prints. */
function readDetail(line: string, current: IpInterface): boolean {
  const [word = '', ...rest] = line.trim().split(/\s+/);
  if (word === 'inet' || word === 'inet6') {
    const address = readAddress(word, rest.join(' '), current.name);
    if (address) current.addresses.push(address);
    return address !== null;
  }
  if (word === 'altname' && rest[0]) {
    current.altnames = [...(current.altnames ?? []), rest[0]];
    return true;
  }
  return word.startsWith('link/') || word === 'valid_lft';
}

/** `lo               UNKNOWN        127.0.0.1/8 ::1/128` */
function readBrief(line: string, interfaces: Interfaces): boolean {
  const [nameWithPeer = '', state = '', ...cidrs] = line.trim().split(/\s+/);
  if (!LINK_STATES.has(state) || !/^[^\s:]+$/.test(nameWithPeer)) return false;
  const addresses = cidrs.map((cidr) => (cidr.includes(':') ? readCidr(cidr, 6) : readCidr(cidr, 4)));
  if (addresses.some((a) => a === null)) return false;
  const entry = interfaces.get(nameWithPeer.replace(/@.*$/, ''));
  entry.state = state;
  addresses.forEach((a, i) => a && entry.addresses.push({ family: (cidrs[i] ?? '').includes(':') ? 6 : 4, ...a, flags: [] }));
  return true;
}

function readLine(line: string, interfaces: Interfaces, current: IpInterface | null): { ok: boolean; current: IpInterface | null } {
  // `ip -o` joins a record's lines with a backslash; the pieces after the first are detail lines.
  const [head = '', ...details] = line.split('\\');
  const header = HEADER.exec(head);
  if (header) {
    const entry = readHeader(header, interfaces);
    return { ok: details.every((detail) => isBlank(detail) || readDetail(detail, entry)), current: entry };
  }
  const oneLine = ONE_LINE_ADDRESS.exec(head);
  if (oneLine) {
    const entry = interfaces.get(oneLine[2] ?? '', Number(oneLine[1]));
    const address = readAddress(oneLine[3] ?? '', oneLine[4] ?? '', entry.name);
    if (address) entry.addresses.push(address);
    return { ok: address !== null, current: null };
  }
  if (/^\s/.test(line) && current) return { ok: readDetail(line, current), current };
  return { ok: readBrief(line, interfaces), current: null };
}

export function parseIpAddr(input: string): IpListing {
  const interfaces = new Interfaces();
  const unparsed: string[] = [];
  let current: IpInterface | null = null;
  for (const line of splitLines(input)) {
    if (isBlank(line)) continue;
    const read: { ok: boolean; current: IpInterface | null } = looksBinary(line) ? { ok: false, current } : readLine(line, interfaces, current);
    current = read.current;
    if (!read.ok) unparsed.push(line);
  }
  return { interfaces: interfaces.list, unparsed };
}

// Container and virtual-network plumbing: docker0 and docker's `br-<id>` networks, veths, libvirt, CNI/Kubernetes
// overlays. A plain `br0` is not here: admins bridge the physical NIC under that name and the host IP moves onto it.
// VPN tunnels (tun*, wg*, tap*) stay: on some deployments users reach Kasm only through one.
const NOT_USER_FACING = /^(docker\d*|br-[0-9a-f]+|veth|virbr|cni|flannel|cali|vxlan|kube|weave|cilium|lxcbr|lxdbr|podman|tunl0$|dummy)/;

export interface UserFacingAddress {
  interface: string;
  address: string;
  prefix: number;
}

/**
 * The addresses the guide tells you to curl ("Ignore loopback interfaces, docker0, bridge interfaces, and any other
 * interfaces without an IP address"): global-scope IPv4 on interfaces that are not loopback, container plumbing or DOWN.
 */
export function userFacingAddresses(interfaces: IpInterface[]): UserFacingAddress[] {
  return interfaces
    .filter((i) => i.name !== 'lo' && !(i.linkFlags ?? []).includes('LOOPBACK') && !NOT_USER_FACING.test(i.name) && i.state !== 'DOWN')
    .flatMap((i) =>
      i.addresses
        .filter((a) => a.family === 4 && !a.address.startsWith('169.254.') && (a.scope === undefined || a.scope === 'global'))
        .map((a) => ({ interface: i.name, address: a.address, prefix: a.prefix })),
    );
}
