/**
 * Addresses and prefixes, parsed and printed only with ipaddr.js, for every
 * layer: the spec (canonical text: canonicalAddress, parseSubnet), the
 * nftables expressions and the libiptc entries (network-order bytes:
 * parseAddress, parsePrefix, format*).
 *
 * Parsing is strict: IPv4 only as dotted-quad decimal (ipaddr.js also takes
 * `0x7f.1` and `127.1`, which other tools read differently) and IPv6 without a
 * zone id, which has no meaning in a rule.
 */
import ipaddr from 'ipaddr.js';
import { invalid } from './errors';
import { FAMILY_NAMES, type Family } from './family';

type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

function familyOf(address: IpAddress): Family {
  return address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/**
 * Parsed addresses by text: a spec names few distinct addresses, each in
 * thousands of bindings, and ipaddr.js's parser is the most expensive step of
 * packing a key. Bounded: emptied when full.
 */
/** Enough for every container address of 10,000 endpoints: past it, a cache starts over (and parses again). */
const MAX_CACHED_ADDRESSES = 16_384;

class AddressCache<V> {
  private readonly entries = new Map<string, V>();
  /** The text last asked for and its value: ports in a row name the same host address. */
  private lastText: string | undefined;
  private lastValue: V | undefined;

  constructor(private readonly parse: (text: string) => V) {}

  get(text: string): V {
    if (text === this.lastText) return this.lastValue as V;
    let value = this.entries.get(text);
    if (value === undefined && !this.entries.has(text)) {
      if (this.entries.size >= MAX_CACHED_ADDRESSES) this.entries.clear();
      value = this.parse(text);
      this.entries.set(text, value);
    }
    this.lastText = text;
    this.lastValue = value;
    return value as V;
  }
}

const CACHED_BYTES = new AddressCache((text) => {
  const address = parseIp(text);
  return address && Object.freeze({ family: familyOf(address), bytes: Uint8Array.from(address.toByteArray()) });
});
const CACHED_TEXT = new AddressCache((key) => ipaddr.fromByteArray([...Buffer.from(key, 'latin1')]).toString());
const CACHED_PREFIX_LENGTH = new AddressCache((key) => ipaddr.fromByteArray([...Buffer.from(key, 'latin1')]).prefixLengthFromSubnetMask());

/**
 * The family a text can only be of, told by its separators before ipaddr.js
 * is asked: its validity checks parse and throw inside on a text of the other
 * kind (about 80 µs a check, the bulk of planning 10,000 bindings).
 */
function plausibleFamily(text: string): Family | undefined {
  if (text.includes(':')) return 'ipv6';
  return text.includes('.') ? 'ipv4' : undefined;
}

/** An address of the given family (or either), or undefined. */
function parseIp(text: string, family?: Family): IpAddress | undefined {
  const plausible = plausibleFamily(text);
  if (plausible === undefined || (family !== undefined && family !== plausible) || text.includes('/')) return undefined;
  if (plausible === 'ipv4') return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : undefined;
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const address = ipaddr.IPv6.parse(text);
  return address.zoneId === undefined ? address : undefined;
}

/** `address/length` of the given family (or either), host bits kept, or undefined. */
function parseCidr(text: string, family?: Family): [IpAddress, number] | undefined {
  const plausible = plausibleFamily(text);
  if (plausible === undefined || (family !== undefined && family !== plausible) || !text.includes('/')) return undefined;
  if (plausible === 'ipv4') return ipaddr.IPv4.isValidCIDRFourPartDecimal(text) ? ipaddr.IPv4.parseCIDR(text) : undefined;
  if (!ipaddr.IPv6.isValidCIDR(text)) return undefined;
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

/**
 * Parsed prefixes by text, one cache per way of parsing (rules name the same
 * few prefixes thousands of times), made up front: picking one is on the path
 * of every address of every rule encoded. The bytes are shared.
 */
const PREFIX_CACHES = Object.fromEntries((['any', 'ipv4', 'ipv6'] as const).map((family) => [family, {
  clear: new AddressCache((text) => computePrefix(text, family === 'any' ? undefined : family, 'clear')),
  reject: new AddressCache((text) => computePrefix(text, family === 'any' ? undefined : family, 'reject')),
}])) as Record<Family | 'any', Record<'clear' | 'reject', AddressCache<Prefix | undefined>>>;

function prefixCache(family: Family | undefined, hostBits: 'clear' | 'reject'): AddressCache<Prefix | undefined> {
  return PREFIX_CACHES[family ?? 'any'][hostBits];
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

// ---------------------------------------------------------------------------
// The spec's addresses and subnets: canonical text (RFC 5952 for IPv6), the form iptables-save prints

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
  range: [IpAddress, number];
  /** The text had host bits set (`192.168.0.5/24`), which Docker refuses. */
  hostBitsSet: boolean;
  /** The first address and, in IPv4, the last, as canonical text (reservedAddressRole asks of each endpoint). */
  first: string;
  broadcast?: string;
}

/**
 * The spec's reading of an address of either family: canonical text, or
 * undefined (strict, as parseIp); IPv4-mapped IPv6 addresses are refused too
 * because they have no meaning in a rule.
 */
export function canonicalAddress(text: string): ParsedAddress | undefined {
  return CACHED_CANONICAL.get(text);
}

/** Parsed once a text: an endpoint's address is read canonical, then checked against its subnet. */
const CACHED_IP = new AddressCache((text) => parseIp(text) ?? null);

const CACHED_CANONICAL = new AddressCache((text) => {
  const address = CACHED_IP.get(text);
  return !address || isMapped(address) ? undefined : Object.freeze(canonicalOf(address));
});

export function parseSubnet(text: string): ParsedSubnet | undefined {
  const parsed = parseCidr(text);
  if (!parsed || isMapped(parsed[0])) return undefined;
  const [, prefix] = parsed;
  const network = parsed[0].kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  const subnet: ParsedSubnet = {
    family: familyOf(network),
    cidr: `${network.toString()}/${prefix}`,
    range: [network, prefix],
    hostBitsSet: network.toString() !== parsed[0].toString(),
    first: network.toString(),
  };
  if (network.kind() === 'ipv4') subnet.broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(subnet.cidr).toString();
  return subnet;
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
  if (subnet.family === 'ipv6') return address === subnet.first ? 'subnet-router anycast' : undefined;
  if (subnet.range[1] > 30) return undefined;
  if (address === subnet.first) return 'network';
  return address === subnet.broadcast ? 'broadcast' : undefined;
}

/** IPv4-mapped IPv6 addresses have no meaning in a rule of either family. */
function isMapped(address: IpAddress): boolean {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
}

export function subnetContains(subnet: ParsedSubnet, address: string): boolean {
  const parsed = CACHED_IP.get(address) ?? ipaddr.parse(address);
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
  const left = a === undefined ? new Uint8Array() : parseAddress(a, 'address').bytes;
  const right = b === undefined ? new Uint8Array() : parseAddress(b, 'address').bytes;
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function canonicalOf(address: IpAddress): ParsedAddress {
  const text = address.toString();
  return {
    family: familyOf(address),
    address: text,
    // ipaddr.js calls all of 0.0.0.0/8 "unspecified"; only 0.0.0.0 and :: mean "any" to Docker.
    unspecified: text === '0.0.0.0' || text === '::',
    // ipaddr.js's "loopback" range (127.0.0.0/8, ::1/128), without matching every special range to find it.
    loopback: address.kind() === 'ipv4' ? (address as ipaddr.IPv4).octets[0] === 127 : text === '::1',
  };
}
