/**
 * Address parsing for the spec, all through ipaddr.js. Results are canonical
 * strings (RFC 5952 for IPv6), the form iptables-save prints.
 */
import ipaddr from 'ipaddr.js';
import type { Family } from '../family.js';
import { familyOf, type IpAddress, parseAddress as addressBytes, parseCidr, parseIp } from '../address.js';

export interface ParsedAddress {
  family: Family;
  /** Canonical text, e.g. `fd49:efd7:54aa::1`. */
  address: string;
  /** `0.0.0.0` or `::`. */
  unspecified: boolean;
  loopback: boolean;
}

export interface ParsedSubnet {
  family: Family;
  /** Canonical `network/prefix`, host bits cleared, e.g. `192.168.0.0/24`. */
  cidr: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  /** The text had host bits set (`192.168.0.5/24`), which Docker refuses. */
  hostBitsSet: boolean;
}

/**
 * Parses an address of either family, or returns undefined (strict, see
 * src/address.ts); IPv4-mapped IPv6 addresses are refused too because they
 * have no meaning in a rule.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  let parsed = PARSED.get(text);
  if (parsed === undefined && !PARSED.has(text)) {
    const address = parseIp(text);
    parsed = !address || isMapped(address) ? undefined : Object.freeze(describe(address));
    // A spec names few distinct addresses, each in many ports; bounded, emptied when full.
    if (PARSED.size >= 4096) PARSED.clear();
    PARSED.set(text, parsed);
  }
  return parsed;
}

const PARSED = new Map<string, ParsedAddress | undefined>();

export function parseSubnet(text: string): ParsedSubnet | undefined {
  const parsed = parseCidr(text);
  if (!parsed || isMapped(parsed[0])) return undefined;
  const [, prefix] = parsed;
  const network = parsed[0].kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  return {
    family: familyOf(network),
    cidr: `${network.toString()}/${prefix}`,
    range: [network, prefix],
    hostBitsSet: network.toString() !== parsed[0].toString(),
  };
}

/**
 * Which address of the subnet Docker's IPAM never gives an endpoint, if
 * `address` (canonical, in the subnet) is one (moby
 * daemon/libnetwork/ipams/defaultipam/allocator.go newPoolData): in IPv4 the
 * network and broadcast addresses, except in a /31 point-to-point link (RFC
 * 3021) or a /32; in IPv6 the first address, the Subnet-Router anycast
 * address (RFC 4291 2.6.1).
 */
export function reservedAddressRole(subnet: ParsedSubnet, address: string): string | undefined {
  const [network, prefix] = subnet.range;
  if (subnet.family === 'ipv6') return address === network.toString() ? 'subnet-router anycast' : undefined;
  if (prefix > 30) return undefined;
  if (address === network.toString()) return 'network';
  return address === ipaddr.IPv4.broadcastAddressFromCIDR(subnet.cidr).toString() ? 'broadcast' : undefined;
}

/** IPv4-mapped IPv6 addresses have no meaning in a rule of either family. */
function isMapped(address: IpAddress): boolean {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

export function subnetContains(subnet: ParsedSubnet, address: string): boolean {
  const parsed = ipaddr.parse(address);
  return parsed.kind() === subnet.range[0].kind() && parsed.match(subnet.range);
}

export function subnetsOverlap(a: ParsedSubnet, b: ParsedSubnet): boolean {
  if (a.family !== b.family) return false;
  const narrower = a.range[1] >= b.range[1] ? a : b;
  const wider = narrower === a ? b : a;
  return narrower.range[0].match(wider.range);
}

/** Byte-wise, as Go's netip.Addr.Compare within a family; undefined (every address) is the zero address. */
export function compareAddresses(a: string | undefined, b: string | undefined): number {
  const left = a === undefined ? new Uint8Array() : addressBytes(a, 'address').bytes;
  const right = b === undefined ? new Uint8Array() : addressBytes(b, 'address').bytes;
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function describe(address: ipaddr.IPv4 | ipaddr.IPv6): ParsedAddress {
  const range = address.range();
  return {
    family: address.kind() === 'ipv4' ? 'ipv4' : 'ipv6',
    address: address.toString(),
    // ipaddr.js calls all of 0.0.0.0/8 "unspecified"; only 0.0.0.0 and :: mean "any" to Docker.
    unspecified: address.toString() === '0.0.0.0' || address.toString() === '::',
    loopback: range === 'loopback',
  };
}
