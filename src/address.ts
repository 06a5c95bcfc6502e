/**
 * Addresses and prefixes, parsed and printed only with ipaddr.js, for every
 * layer: the spec, the nftables expressions and the libiptc entries.
 *
 * Parsing is strict: IPv4 only as dotted-quad decimal (ipaddr.js also takes
 * `0x7f.1` and `127.1`, which other tools read differently) and IPv6 without a
 * zone id, which has no meaning in a rule.
 */
import ipaddr from 'ipaddr.js';
import { invalid } from './errors';
import type { Family } from './family';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

const FAMILY_NAMES: Record<Family, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

export function familyOf(address: IpAddress): Family {
  return address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/**
 * Parsed addresses by text: a spec names few distinct addresses, each in
 * thousands of bindings, and ipaddr.js's parser is the most expensive step of
 * packing a key. Bounded: emptied when full.
 */
class AddressCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly parse: (text: string) => V) {}

  get(text: string): V {
    let value = this.entries.get(text);
    if (value === undefined && !this.entries.has(text)) {
      if (this.entries.size >= 4096) this.entries.clear();
      value = this.parse(text);
      this.entries.set(text, value);
    }
    return value as V;
  }
}

const CACHED_BYTES = new AddressCache((text) => {
  const address = parseIp(text);
  return address && Object.freeze({ family: familyOf(address), bytes: Uint8Array.from(address.toByteArray()) });
});
const CACHED_TEXT = new AddressCache((key) => ipaddr.fromByteArray([...Buffer.from(key, 'latin1')]).toString());
const CACHED_PREFIX_LENGTH = new AddressCache((key) => ipaddr.fromByteArray([...Buffer.from(key, 'latin1')]).prefixLengthFromSubnetMask());

/** An address of the given family (or either), or undefined. */
export function parseIp(text: string, family?: Family): IpAddress | undefined {
  if (family !== 'ipv6' && ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (family === 'ipv4' || !ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.zoneId === undefined ? address : undefined;
}

/** `address/length` of the given family (or either), host bits kept, or undefined. */
export function parseCidr(text: string, family?: Family): [IpAddress, number] | undefined {
  if (family !== 'ipv6' && ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) return ipaddr.IPv4.parseCIDR(text);
  if (family === 'ipv4' || !ipaddr.IPv6.isValidCIDR(text)) return undefined;
  const parsed = ipaddr.IPv6.parseCIDR(text);
  return parsed[0].zoneId === undefined ? parsed : undefined;
}

export interface Prefix {
  family: Family;
  /** The network address, network byte order. */
  address: Uint8Array;
  /** The prefix length: 32 or 128 for a single address. */
  length: number;
  /** The netmask, network byte order. */
  mask: Uint8Array;
}

function describeExpected(family: Family | undefined, what: string): string {
  return family ? `an ${FAMILY_NAMES[family]} ${what}` : `an IP ${what}`;
}

/**
 * Parses an address ("192.0.2.1", "2001:db8::1") into network-order bytes, or
 * throws a ValidationError. The bytes are shared between calls: read them, or copy.
 */
export function parseAddress(text: unknown, field: string, family?: Family): { family: Family; bytes: Uint8Array } {
  const address = typeof text === 'string' ? CACHED_BYTES.get(text) : undefined;
  if (!address || (family !== undefined && address.family !== family)) invalid(field, describeExpected(family, 'address'), text);
  return address;
}

/**
 * Parses "address/length", or a bare address as a full-length prefix. Host
 * bits are cleared, or refused with `hostBits: 'reject'` (a rule written with
 * them would not read back as written). The bytes are shared between calls:
 * read them, or copy.
 */
export function parsePrefix(
  text: unknown,
  field: string,
  family?: Family,
  hostBits: 'clear' | 'reject' = 'clear',
): Prefix {
  const prefix = typeof text === 'string' ? prefixCache(family, hostBits).get(text) : undefined;
  if (!prefix) invalid(field, describeExpected(family, hostBits === 'reject' ? 'address or prefix without host bits' : 'address or prefix'), text);
  return prefix;
}

/** Parsed prefixes by text, one cache per way of parsing (rules name the same few prefixes thousands of times). The bytes are shared. */
const PREFIX_CACHES = new Map<string, AddressCache<Prefix | undefined>>();

function prefixCache(family: Family | undefined, hostBits: 'clear' | 'reject'): AddressCache<Prefix | undefined> {
  const name = `${family ?? 'any'} ${hostBits}`;
  let cache = PREFIX_CACHES.get(name);
  if (cache === undefined) PREFIX_CACHES.set(name, cache = new AddressCache((text) => computePrefix(text, family, hostBits)));
  return cache;
}

function computePrefix(text: string, family: Family | undefined, hostBits: 'clear' | 'reject'): Prefix | undefined {
  const host = parseIp(text, family);
  const parsed = host ? [host, host.kind() === 'ipv4' ? 32 : 128] as const : parseCidr(text, family);
  if (!parsed) return undefined;
  const [address, length] = parsed;
  const mask = Uint8Array.from(
    (address.kind() === 'ipv4' ? ipaddr.IPv4 : ipaddr.IPv6).subnetMaskFromPrefixLength(length).toByteArray(),
  );
  const bytes = Uint8Array.from(address.toByteArray());
  if (hostBits === 'reject' && bytes.some((byte, i) => (byte & ~mask[i]!) !== 0)) return undefined;
  for (let i = 0; i < bytes.length; i++) bytes[i]! &= mask[i]!;
  return Object.freeze({ family: familyOf(address), address: bytes, length, mask });
}

/** Formats network-order bytes as text ("192.0.2.1", "2001:db8::1"). */
export function formatAddress(bytes: Uint8Array): string {
  return formatAddressAt(asBuffer(bytes), 0, bytes.byteLength);
}

/** "address/length", or undefined for a mask that is not a prefix. */
export function formatPrefix(address: Uint8Array, mask: Uint8Array): string | undefined {
  const length = CACHED_PREFIX_LENGTH.get(asBuffer(mask).toString('latin1'));
  return length === null ? undefined : `${formatAddress(address)}/${length}`;
}

/** formatAddress of the `length` bytes of `buffer` at `offset`, without a view of them. */
export function formatAddressAt(buffer: Buffer, offset: number, length: number): string {
  return CACHED_TEXT.get(buffer.toString('latin1', offset, offset + length));
}

/** formatPrefix of the `length` address bytes at `offset` in `buffer` and the as many mask bytes after them. */
export function formatPrefixAt(buffer: Buffer, offset: number, length: number): string | undefined {
  return CACHED_PREFIX_TEXT.get(buffer.toString('latin1', offset, offset + 2 * length)) ?? undefined;
}

/** By the address bytes and then the mask bytes: the texts repeat, so rules read back share them. */
const CACHED_PREFIX_TEXT = new AddressCache((key) => {
  const bytes = Buffer.from(key, 'latin1');
  const half = bytes.length / 2;
  return formatPrefix(bytes.subarray(0, half), bytes.subarray(half)) ?? null;
});

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
