/**
 * Concatenations (`ip daddr . meta l4proto . th dport`) looked up in sets and
 * maps: each field is loaded into the next 32-bit-aligned register slot, in
 * the register numbering nft and the kernel use, so rules read back compare
 * equal to the ones committed and to the ones `nft -f` writes.
 */
import { invalid } from '../errors';
import type { Family } from '../family';
import { DATATYPE_LEN, META, NAT_RANGE, NAT_TYPE, NFPROTO, PAYLOAD_BASE, type NftDatatype } from './constants';
import { expr, type NftExpr } from './expr';

export type Field =
  | 'iifname' | 'oifname' | 'meta l4proto' | 'th dport' | 'th sport'
  | 'ip saddr' | 'ip daddr' | 'ip6 saddr' | 'ip6 daddr';

interface FieldLoad {
  type: NftDatatype;
  load: (dreg: number) => NftExpr;
}

const FIELDS: Record<Field, FieldLoad> = {
  iifname: { type: 'ifname', load: (dreg) => expr.meta(META.iifname, dreg) },
  oifname: { type: 'ifname', load: (dreg) => expr.meta(META.oifname, dreg) },
  'meta l4proto': { type: 'inet_proto', load: (dreg) => expr.meta(META.l4proto, dreg) },
  'th dport': { type: 'inet_service', load: (dreg) => expr.payload(PAYLOAD_BASE.transport, 2, 2, dreg) },
  'th sport': { type: 'inet_service', load: (dreg) => expr.payload(PAYLOAD_BASE.transport, 0, 2, dreg) },
  'ip saddr': { type: 'ipv4_addr', load: (dreg) => expr.payload(PAYLOAD_BASE.network, 12, 4, dreg) },
  'ip daddr': { type: 'ipv4_addr', load: (dreg) => expr.payload(PAYLOAD_BASE.network, 16, 4, dreg) },
  'ip6 saddr': { type: 'ipv6_addr', load: (dreg) => expr.payload(PAYLOAD_BASE.network, 8, 16, dreg) },
  'ip6 daddr': { type: 'ipv6_addr', load: (dreg) => expr.payload(PAYLOAD_BASE.network, 24, 16, dreg) },
};

/** 32-bit register slots from NFT_REG_1 on; the kernel has 16 of them. */
const REGISTER_SLOTS = 16;

/**
 * The register number of a 32-bit slot counted from NFT_REG_1: a slot that
 * starts a 16-byte register is named by that register (1..4), the others by
 * NFT_REG32_xx (8 + slot), as nft encodes them and the kernel dumps them.
 */
export function registerAt(slot: number): number {
  return slot % 4 === 0 ? 1 + slot / 4 : 8 + slot;
}

const slotsOf = (type: NftDatatype): number => Math.ceil(DATATYPE_LEN[type] / 4);

/** Loads the fields into consecutive slots from NFT_REG_1. */
export function loadFields(fields: readonly Field[]): NftExpr[] {
  const exprs: NftExpr[] = [];
  let slot = 0;
  for (const field of fields) {
    const spec = FIELDS[field];
    if (spec === undefined) invalid('field', `one of ${Object.keys(FIELDS).join(', ')}`, field);
    exprs.push(spec.load(registerAt(slot)));
    slot += slotsOf(spec.type);
  }
  if (slot > REGISTER_SLOTS) invalid('fields', `at most ${REGISTER_SLOTS * 4} bytes of keys`, fields);
  return exprs;
}

/** `FIELDS [!=] @set`: the concatenation is (not) an element of the set. */
export function inSet(fields: readonly Field[], set: string, options: { negate?: boolean } = {}): NftExpr[] {
  // The kernel reports the lookup flags even when zero, so they are written out.
  return [...loadFields(fields), { type: 'lookup', set, sreg: 1, flags: options.negate ? 1 : 0 }];
}

/** `FIELDS vmap @map`: jumps to (or applies) the verdict the map holds for the concatenation. */
export function verdictMap(fields: readonly Field[], map: string): NftExpr[] {
  return [...loadFields(fields), { type: 'lookup', set: map, sreg: 1, dreg: 0, flags: 0 }];
}

/**
 * `dnat ip to FIELDS map @map`: the map gives `address . port`; a packet
 * whose concatenation is not in the map goes on to the next rule.
 */
export function dnatFromMap(family: Family, fields: readonly Field[], map: string): NftExpr[] {
  const portRegister = registerAt(family === 'ipv4' ? 1 : 4);
  return [
    ...loadFields(fields),
    { type: 'lookup', set: map, sreg: 1, dreg: 1, flags: 0 },
    expr.nat({
      natType: NAT_TYPE.dnat,
      family: family === 'ipv4' ? NFPROTO.ip : NFPROTO.ip6,
      regAddrMin: 1, regAddrMax: 1, regProtoMin: portRegister, regProtoMax: portRegister,
      flags: NAT_RANGE.mapIps | NAT_RANGE.protoSpecified,
    }),
  ];
}
