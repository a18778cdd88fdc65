// `ip addr` for a simulated host, laid out as iproute2 lays it out. The host's lab IP sits on ens3, the user-facing
// interface the troubleshooting guide tells you to find and curl.
import { createHash } from 'node:crypto';
import type { HostState } from '../state.ts';
import { CommandFailure, HostContext, write, type Io } from './context.ts';

interface Address {
  family: 'inet' | 'inet6';
  cidr: string;
  broadcast?: string;
  scope: 'host' | 'global' | 'link';
}

interface Link {
  index: number;
  name: string;
  /** `@if<n>` for a veth whose peer lives in a container's namespace. */
  peer?: string;
  flags: string;
  mtu: number;
  qdisc: string;
  master?: string;
  state: 'UNKNOWN' | 'UP' | 'DOWN';
  qlen?: number;
  linkType: 'loopback' | 'ether';
  mac: string;
  altname?: string;
  netnsid?: number;
  addresses: Address[];
}

function hexFrom(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function macFrom(prefix: string, seed: string): string {
  const tail = hexFrom(seed, 12 - prefix.replaceAll(':', '').length);
  return `${prefix.replaceAll(':', '')}${tail}`.match(/../g)!.join(':');
}

/** The EUI-64 link-local address the kernel derives from a MAC. */
function linkLocal(mac: string): string {
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  bytes[0] = (bytes[0] ?? 0) ^ 0x02;
  const eui = [...bytes.slice(0, 3), 0xff, 0xfe, ...bytes.slice(3)];
  const groups = [0xfe80, 0, 0, 0, ...Array.from({ length: 4 }, (_, i) => ((eui[2 * i] ?? 0) << 8) | (eui[2 * i + 1] ?? 0))];
  return `${compressIpv6(groups)}/64`;
}

function compressIpv6(groups: number[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

function broadcastOf(ip: string, prefix: number): string {
  const value = ip.split('.').reduce((acc, octet) => (acc << 8) + Number(octet), 0) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const broadcast = (value | ~mask) >>> 0;
  return [24, 16, 8, 0].map((shift) => (broadcast >>> shift) & 0xff).join('.');
}

/** The kasm_default_network bridge, named like docker names user-defined bridges. */
export function bridgeName(host: HostState): string {
  return `br-${hexFrom(`${host.id}/bridge`, 12)}`;
}

function links(host: HostState): Link[] {
  const ens3Mac = macFrom('02:00', `${host.id}/ens3`);
  const bridge = bridgeName(host);
  const bridgeMac = macFrom('02:42', `${host.id}/bridge`);
  const vethMac = macFrom('6a', `${host.id}/veth`);
  return [
    {
      index: 1, name: 'lo', flags: 'LOOPBACK,UP,LOWER_UP', mtu: 65536, qdisc: 'noqueue', state: 'UNKNOWN', qlen: 1000, linkType: 'loopback', mac: '00:00:00:00:00:00',
      addresses: [
        { family: 'inet', cidr: '127.0.0.1/8', scope: 'host' },
        { family: 'inet6', cidr: '::1/128', scope: 'host' },
      ],
    },
    {
      index: 2, name: 'ens3', flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu: 9000, qdisc: 'pfifo_fast', state: 'UP', qlen: 1000, linkType: 'ether', mac: ens3Mac, altname: 'enp0s3',
      addresses: [
        { family: 'inet', cidr: `${host.ip}/8`, broadcast: broadcastOf(host.ip, 8), scope: 'global' },
        { family: 'inet6', cidr: linkLocal(ens3Mac), scope: 'link' },
      ],
    },
    {
      index: 3, name: 'docker0', flags: 'NO-CARRIER,BROADCAST,MULTICAST,UP', mtu: 1500, qdisc: 'noqueue', state: 'DOWN', linkType: 'ether', mac: macFrom('02:42', `${host.id}/docker0`),
      addresses: [{ family: 'inet', cidr: '172.17.0.1/16', broadcast: '172.17.255.255', scope: 'global' }],
    },
    {
      index: 4, name: bridge, flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu: 1500, qdisc: 'noqueue', state: 'UP', linkType: 'ether', mac: bridgeMac,
      addresses: [
        { family: 'inet', cidr: '172.18.0.1/16', broadcast: '172.18.255.255', scope: 'global' },
        { family: 'inet6', cidr: linkLocal(bridgeMac), scope: 'link' },
      ],
    },
    {
      index: 6, name: `veth${hexFrom(`${host.id}/veth`, 7)}`, peer: '@if5', flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', mtu: 1500, qdisc: 'noqueue', master: bridge, state: 'UP', linkType: 'ether', mac: vethMac, netnsid: 0,
      addresses: [{ family: 'inet6', cidr: linkLocal(vethMac), scope: 'link' }],
    },
  ];
}

/** The address line as print_addrinfo writes it; IPv4 lines end with the label, IPv6 lines with a space. */
function addressText(link: Link, address: Address): string {
  const broadcast = address.broadcast ? ` brd ${address.broadcast}` : '';
  const label = address.family === 'inet' ? link.name : '';
  return `    ${address.family} ${address.cidr}${broadcast} scope ${address.scope} ${label}`;
}

const LIFETIMES = '       valid_lft forever preferred_lft forever';

function linkHeader(link: Link): string {
  const master = link.master ? ` master ${link.master}` : '';
  const qlen = link.qlen ? `qlen ${link.qlen}` : '';
  return `${link.index}: ${link.name}${link.peer ?? ''}: <${link.flags}> mtu ${link.mtu} qdisc ${link.qdisc}${master} state ${link.state} group default ${qlen}`;
}

function fullListing(shown: Link[], family: Address['family'] | undefined): string {
  const lines: string[] = [];
  for (const link of shown) {
    const addresses = link.addresses.filter((a) => !family || a.family === family);
    if (family && addresses.length === 0) continue;
    lines.push(linkHeader(link));
    if (!family) {
      const netns = link.netnsid === undefined ? '' : ` link-netnsid ${link.netnsid}`;
      lines.push(`    link/${link.linkType} ${link.mac} brd ${link.linkType === 'loopback' ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff'}${netns}`);
      if (link.altname) lines.push(`    altname ${link.altname}`);
    }
    for (const address of addresses) lines.push(addressText(link, address), LIFETIMES);
  }
  return lines.map((line) => `${line}\n`).join('');
}

function oneLineListing(shown: Link[], family: Address['family'] | undefined): string {
  return shown
    .flatMap((link) =>
      link.addresses
        .filter((a) => !family || a.family === family)
        .map((address) => `${link.index}: ${link.name}${addressText(link, address)}\\${LIFETIMES}\n`),
    )
    .join('');
}

function briefListing(shown: Link[], family: Address['family'] | undefined): string {
  return shown
    .map((link) => {
      const addresses = link.addresses.filter((a) => !family || a.family === family).map((a) => `${a.cidr} `);
      return `${`${link.name}${link.peer ?? ''}`.padEnd(16)} ${link.state.padEnd(14)} ${addresses.join('')}\n`;
    })
    .join('');
}

const ADDR_OBJECTS = new Set(['a', 'ad', 'add', 'addr', 'addre', 'addres', 'address']);

export async function ip(io: Io, args: string[]): Promise<number> {
  let family: Address['family'] | undefined;
  let style: 'full' | 'oneline' | 'brief' = 'full';
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('-'); i++) {
    const option = args[i]!;
    if (option === '-4') family = 'inet';
    else if (option === '-6') family = 'inet6';
    else if (option === '-o' || option === '-oneline') style = 'oneline';
    else if (option === '-br' || option === '-brief') style = 'brief';
    else if (option !== '-c' && option !== '-color' && !option.startsWith('-c=')) throw new CommandFailure(`Option "${option}" is unknown, try "ip -help".`, 255);
  }
  const object = args[i] ?? '';
  if (!ADDR_OBJECTS.has(object)) throw new CommandFailure(`Object "${object}" is unknown, try "ip help".`, 255);
  const rest = args.slice(i + 1).filter((word) => !['show', 'list', 'lst', 'sh', 's', 'dev'].includes(word));
  const all = links(HostContext.of(io).host());
  const shown = rest.length ? all.filter((link) => rest.includes(link.name)) : all;
  if (rest.length && shown.length === 0) throw new CommandFailure(`Device "${rest[0]}" does not exist.`, 1);
  const render = style === 'oneline' ? oneLineListing : style === 'brief' ? briefListing : fullListing;
  await write(io.stdout, render(shown, family), io.signal);
  return 0;
}
