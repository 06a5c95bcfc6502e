/**
 * Matches and statements as nft writes them, built from raw expressions.
 * Each returns the expression list of one `nft` phrase ("iifname != br0",
 * "ip saddr 192.0.2.0/24", "tcp dport 80", "dnat to 192.0.2.2:80") so rules
 * read back from the kernel print the same in `nft list ruleset`.
 *
 * Address matches assume an `ip` or `ip6` table, where the network protocol
 * is implied by the table's family.
 */
import { parseAddress, parsePrefix } from '../address';
import { invalid } from '../errors';
import {
  CT_KEY, CT_STATE, type CtState, FIB_FLAGS, FIB_RESULT, IFNAMSIZ, META, NAT_RANGE, NAT_TYPE, NFPROTO, PAYLOAD_BASE, RTN,
  VERDICT,
} from './constants';
import { expr, type NftExpr } from './expr';
import { PROTOCOL_NUMBERS } from '../protocol';

/** The 16-byte registers nft uses for single values (NFT_REG_1, NFT_REG_2). */
export const REG_1 = 1;
export const REG_2 = 2;

export type L4Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'ipv6-icmp';

export interface Negatable {
  negate?: boolean;
}

/** Interface names compare with their NUL padding, so "br0" does not match "br01"; "br*" is a prefix. */
export function ifnameBytes(name: string): Uint8Array {
  const wildcard = name.endsWith('*');
  const text = Buffer.from(wildcard ? name.slice(0, -1) : name);
  if (text.length >= IFNAMSIZ) invalid('interface name', `at most ${IFNAMSIZ - 1} bytes`, name);
  if (wildcard) return Uint8Array.from(text);
  const bytes = new Uint8Array(IFNAMSIZ);
  bytes.set(text);
  return bytes;
}

export function be16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

/** Host byte order, as the kernel stores ct state bits and fib results. */
export function hostU32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function cmpOp(options: Negatable): 'eq' | 'neq' {
  return options.negate ? 'neq' : 'eq';
}

function addressMatch(offsets: { ipv4: number; ipv6: number }, prefix: string, options: Negatable, field: string): NftExpr[] {
  const parsed = parsePrefix(prefix, field);
  const offset = offsets[parsed.family];
  // A prefix on a byte boundary compares only its leading bytes, as nft writes it.
  if (parsed.length > 0 && parsed.length % 8 === 0) {
    const bytes = parsed.length / 8;
    return [
      expr.payload(PAYLOAD_BASE.network, offset, bytes, REG_1),
      expr.cmp(REG_1, cmpOp(options), parsed.address.subarray(0, bytes)),
    ];
  }
  const load = expr.payload(PAYLOAD_BASE.network, offset, parsed.address.length, REG_1);
  return [
    load,
    expr.bitwise(REG_1, REG_1, parsed.mask, new Uint8Array(parsed.address.length)),
    expr.cmp(REG_1, cmpOp(options), parsed.address),
  ];
}

function portMatch(offset: number, port: number | readonly [number, number], options: Negatable): NftExpr[] {
  const load = expr.payload(PAYLOAD_BASE.transport, offset, 2, REG_1);
  if (typeof port === 'number') return [load, expr.cmp(REG_1, cmpOp(options), be16(port))];
  const [first, last] = port;
  if (options.negate) return [load, { type: 'range', sreg: REG_1, op: 1, from: be16(first), to: be16(last) }];
  return [load, expr.cmp(REG_1, 'gte', be16(first)), expr.cmp(REG_1, 'lte', be16(last))];
}

export const match = {
  /** `iifname [!=] NAME` */
  iifname: (name: string, options: Negatable = {}): NftExpr[] => [
    expr.meta(META.iifname, REG_1),
    expr.cmp(REG_1, cmpOp(options), ifnameBytes(name)),
  ],
  /** `oifname [!=] NAME` */
  oifname: (name: string, options: Negatable = {}): NftExpr[] => [
    expr.meta(META.oifname, REG_1),
    expr.cmp(REG_1, cmpOp(options), ifnameBytes(name)),
  ],
  /** `ip saddr` / `ip6 saddr [!=] PREFIX` */
  saddr: (prefix: string, options: Negatable = {}): NftExpr[] =>
    addressMatch({ ipv4: 12, ipv6: 8 }, prefix, options, 'saddr'),
  /** `ip daddr` / `ip6 daddr [!=] PREFIX` */
  daddr: (prefix: string, options: Negatable = {}): NftExpr[] =>
    addressMatch({ ipv4: 16, ipv6: 24 }, prefix, options, 'daddr'),
  /** `meta l4proto [!=] PROTO` */
  l4proto: (protocol: L4Protocol, options: Negatable = {}): NftExpr[] => [
    expr.meta(META.l4proto, REG_1),
    expr.cmp(REG_1, cmpOp(options), Uint8Array.of(PROTOCOL_NUMBERS[protocol])),
  ],
  /** `tcp dport 80`, `udp dport 1000-2000`: the protocol check and the port. */
  dport: (protocol: 'tcp' | 'udp' | 'sctp', port: number | readonly [number, number], options: Negatable = {}): NftExpr[] => [
    ...match.l4proto(protocol),
    ...portMatch(2, port, options),
  ],
  /** `tcp sport 80` */
  sport: (protocol: 'tcp' | 'udp' | 'sctp', port: number | readonly [number, number], options: Negatable = {}): NftExpr[] => [
    ...match.l4proto(protocol),
    ...portMatch(0, port, options),
  ],
  /** `fib daddr type [!=] local` */
  fibDaddrType: (type: keyof typeof RTN, options: Negatable = {}): NftExpr[] => [
    expr.fib(FIB_FLAGS.daddr, FIB_RESULT.addrtype, REG_1),
    expr.cmp(REG_1, cmpOp(options), hostU32(RTN[type])),
  ],
  /** `fib saddr type [!=] local` */
  fibSaddrType: (type: keyof typeof RTN, options: Negatable = {}): NftExpr[] => [
    expr.fib(FIB_FLAGS.saddr, FIB_RESULT.addrtype, REG_1),
    expr.cmp(REG_1, cmpOp(options), hostU32(RTN[type])),
  ],
  /** `ct state established,related`: any of the states. */
  ctState: (states: readonly CtState[]): NftExpr[] => {
    const bits = states.reduce((mask, state) => mask | CT_STATE[state], 0);
    return [
      expr.ct(CT_KEY.state, REG_1),
      expr.bitwise(REG_1, REG_1, hostU32(bits), new Uint8Array(4)),
      expr.cmp(REG_1, 'neq', new Uint8Array(4)),
    ];
  },
};

function natTo(natType: number, address: string, port: number | undefined, field: string): NftExpr[] {
  const { family, bytes } = parseAddress(address, field);
  const exprs = [expr.immediate(REG_1, bytes)];
  if (port !== undefined) exprs.push(expr.immediate(REG_2, be16(port)));
  // Written in the form the kernel reports back (flags and max registers
  // filled in), so a rule read back compares equal to the one committed.
  exprs.push(
    expr.nat({
      natType,
      family: family === 'ipv4' ? NFPROTO.ip : NFPROTO.ip6,
      regAddrMin: REG_1,
      regAddrMax: REG_1,
      ...(port !== undefined ? { regProtoMin: REG_2, regProtoMax: REG_2 } : {}),
      flags: NAT_RANGE.mapIps | (port !== undefined ? NAT_RANGE.protoSpecified : 0),
    }),
  );
  return exprs;
}

export const statement = {
  counter: (): NftExpr[] => [expr.counter()],
  accept: (): NftExpr[] => [expr.verdict(VERDICT.accept)],
  drop: (): NftExpr[] => [expr.verdict(VERDICT.drop)],
  return: (): NftExpr[] => [expr.verdict(VERDICT.return)],
  jump: (chain: string): NftExpr[] => [expr.verdict(VERDICT.jump, chain)],
  goto: (chain: string): NftExpr[] => [expr.verdict(VERDICT.goto, chain)],
  /** `dnat to ADDRESS[:PORT]` */
  dnat: (address: string, port?: number): NftExpr[] => natTo(NAT_TYPE.dnat, address, port, 'dnat'),
  /** `snat to ADDRESS[:PORT]` */
  snat: (address: string, port?: number): NftExpr[] => natTo(NAT_TYPE.snat, address, port, 'snat'),
  masquerade: (): NftExpr[] => [expr.masq()],
};
