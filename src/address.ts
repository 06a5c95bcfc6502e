/**
 * Addresses and prefixes, parsed with ipaddr.js and turned into the network
 * byte order the kernel compares against.
 */
import ipaddr from 'ipaddr.js';
import { invalid } from './errors';

export type AddressFamily = 'ipv4' | 'ipv6';

export interface Prefix {
  family: AddressFamily;
  /** The network address (host bits cleared), network byte order. */
  address: Uint8Array;
  /** The prefix length: 32 or 128 for a single address. */
  length: number;
  /** The netmask, network byte order. */
  mask: Uint8Array;
}

function familyOf(address: ipaddr.IPv4 | ipaddr.IPv6): AddressFamily {
  return address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/** Parses an address ("192.0.2.1", "2001:db8::1") into network-order bytes. */
export function parseAddress(text: unknown, field: string, family?: AddressFamily): { family: AddressFamily; bytes: Uint8Array } {
  if (typeof text !== 'string' || !ipaddr.isValid(text) || text.includes('/')) {
    invalid(field, family ? `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address` : 'an IP address', text);
  }
  const address = ipaddr.parse(text);
  const actual = familyOf(address);
  if (family !== undefined && actual !== family) invalid(field, `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`, text);
  return { family: actual, bytes: Uint8Array.from(address.toByteArray()) };
}

/** Parses "addr/len" or a bare address (a /32 or /128) into a prefix with host bits cleared. */
export function parsePrefix(text: unknown, field: string, family?: AddressFamily): Prefix {
  if (typeof text !== 'string') invalid(field, 'an address or prefix', text);
  if (!text.includes('/')) {
    const { family: actual, bytes } = parseAddress(text, field, family);
    const length = bytes.length * 8;
    return { family: actual, address: bytes, length, mask: maskBytes(bytes.length, length) };
  }
  if (!ipaddr.isValidCIDR(text)) invalid(field, 'an address prefix such as 192.0.2.0/24', text);
  const [address, length] = ipaddr.parseCIDR(text);
  const actual = familyOf(address);
  if (family !== undefined && actual !== family) {
    invalid(field, `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} prefix`, text);
  }
  const bytes = Uint8Array.from(address.toByteArray());
  const mask = maskBytes(bytes.length, length);
  for (let i = 0; i < bytes.length; i++) bytes[i]! &= mask[i]!;
  return { family: actual, address: bytes, length, mask };
}

function maskBytes(size: number, length: number): Uint8Array {
  const mask = new Uint8Array(size);
  for (let bit = 0; bit < length; bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
  return mask;
}

/** Formats network-order bytes back to text ("192.0.2.1", "2001:db8::1"). */
export function formatAddress(bytes: Uint8Array): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

/** Formats a prefix as "addr/len". */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.address)}/${prefix.length}`;
}

/** The prefix length of a contiguous netmask, or undefined if the mask has holes. */
export function maskLength(mask: Uint8Array): number | undefined {
  let length = 0;
  while (length < mask.length * 8 && (mask[length >> 3]! & (0x80 >> (length & 7))) !== 0) length++;
  for (let bit = length; bit < mask.length * 8; bit++) {
    if ((mask[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) return undefined;
  }
  return length;
}
