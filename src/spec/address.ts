/**
 * Address parsing for the spec, all through ipaddr.js. Results are canonical
 * strings (RFC 5952 for IPv6), the form iptables-save prints.
 */
import ipaddr from 'ipaddr.js';
import type { IptFamily } from '../iptc/rule.js';

export interface ParsedAddress {
  family: IptFamily;
  /** Canonical text, e.g. `fd49:efd7:54aa::1`. */
  address: string;
  /** `0.0.0.0` or `::`. */
  unspecified: boolean;
  loopback: boolean;
}

export interface ParsedSubnet {
  family: IptFamily;
  /** Canonical `network/prefix`, host bits cleared, e.g. `192.168.0.0/24`. */
  cidr: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/**
 * Parses an address of either family, or returns undefined. IPv4 must be
 * dotted-quad decimal (ipaddr.js also takes `0x7f.1` and `127.1`, which
 * iptables would read differently); IPv6 zone ids and IPv4-mapped addresses
 * are refused because they have no meaning in a rule.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return describe(ipaddr.IPv4.parse(text));
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  if (address.zoneId !== undefined || address.isIPv4MappedAddress()) return undefined;
  return describe(address);
}

export function parseSubnet(text: string): ParsedSubnet | undefined {
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    const [, prefix] = ipaddr.IPv4.parseCIDR(text);
    const network = ipaddr.IPv4.networkAddressFromCIDR(text);
    return { family: 'ipv4', cidr: `${network.toString()}/${prefix}`, range: [network, prefix] };
  }
  if (!ipaddr.IPv6.isValidCIDR(text)) return undefined;
  const [address, prefix] = ipaddr.IPv6.parseCIDR(text);
  if (address.zoneId !== undefined || address.isIPv4MappedAddress()) return undefined;
  const network = ipaddr.IPv6.networkAddressFromCIDR(text);
  return { family: 'ipv6', cidr: `${network.toString()}/${prefix}`, range: [network, prefix] };
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
  const left = a === undefined ? [] : ipaddr.parse(a).toByteArray();
  const right = b === undefined ? [] : ipaddr.parse(b).toByteArray();
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
