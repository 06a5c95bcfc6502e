/**
 * Addresses and prefixes of the rule model, parsed and printed only with
 * ipaddr.js. A prefix is canonical as `address/length` with no host bits,
 * which is also how iptables-save prints it.
 */
import ipaddr from 'ipaddr.js';
import { invalid } from '../errors';
import type { IptFamily } from './rule';

const FAMILY_NAMES: Record<IptFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

function parseHost(family: IptFamily, text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (family === 'ipv4') return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.zoneId === undefined ? address : undefined;
}

function parseCidr(family: IptFamily, text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  if (family === 'ipv4') return ipaddr.IPv4.isValidCIDRFourPartDecimal(text) ? ipaddr.IPv4.parseCIDR(text) : undefined;
  if (!ipaddr.IPv6.isValidCIDR(text)) return undefined;
  const parsed = ipaddr.IPv6.parseCIDR(text);
  return parsed[0].zoneId === undefined ? parsed : undefined;
}

function maskOf(family: IptFamily, length: number): number[] {
  const mask = family === 'ipv4' ? ipaddr.IPv4.subnetMaskFromPrefixLength(length) : ipaddr.IPv6.subnetMaskFromPrefixLength(length);
  return mask.toByteArray();
}

/** An address or prefix (`-s`, `-d`) as address and mask bytes; a bare address is a full-length prefix. */
export function encodePrefix(family: IptFamily, value: unknown, field: string): { address: Buffer; mask: Buffer } {
  const expected = `an ${FAMILY_NAMES[family]} address or prefix without host bits`;
  if (typeof value !== 'string') invalid(field, expected, value);
  const host = parseHost(family, value);
  const [address, length] = host ? [host, family === 'ipv4' ? 32 : 128] : (parseCidr(family, value) ?? invalid(field, expected, value));
  const mask = maskOf(family, length);
  const bytes = address.toByteArray();
  if (bytes.some((byte, i) => (byte & ~mask[i]!) !== 0)) invalid(field, expected, value);
  return { address: Buffer.from(bytes), mask: Buffer.from(mask) };
}

/** A single address (`--to-destination`, `--to-source`). */
export function encodeAddress(family: IptFamily, value: unknown, field: string): Buffer {
  const address = typeof value === 'string' ? parseHost(family, value) : undefined;
  if (!address) invalid(field, `an ${FAMILY_NAMES[family]} address`, value);
  return Buffer.from(address.toByteArray());
}

export function decodeAddress(bytes: Buffer): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

/** `address/length`, or undefined for a mask that is no prefix (iptables can write those; the model cannot). */
export function decodePrefix(address: Buffer, mask: Buffer): string | undefined {
  const length = ipaddr.fromByteArray([...mask]).prefixLengthFromSubnetMask();
  return length === null ? undefined : `${decodeAddress(address)}/${length}`;
}
