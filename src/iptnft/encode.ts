/**
 * The iptables-nft encoder: a rule of the iptables model (src/iptc/rule.ts,
 * what the Docker planner produces) as the nf_tables expressions
 * `iptables-nft` 1.8.9 writes for it, expression for expression, so that
 * `iptables-nft-save`, `iptables -C` and `-D` see our rules as their own.
 *
 * iptables-nft writes the rule's header natively (interfaces, protocol,
 * addresses), turns the tcp and udp port matches into payload comparisons,
 * keeps the other matches (addrtype, conntrack, sctp, comment) and the
 * NAT targets as nft_compat extensions, puts a counter before the verdict,
 * and nothing else. (The mark match, which the planner does not use, becomes
 * `meta mark` too.) The extensions' info bytes come from the legacy entry
 * encoder (native/iptc/entry.cc, through iptcXtExtensions), so both
 * encoders share every byte of them.
 *
 * table.ts commits what it encodes; test/iptnft-encoding.test.ts proves the
 * encoding against iptables-nft-restore.
 */
import { encodeRules } from '../iptc/encode';
import { FULL_MARK_MASK } from '../iptc/kernel-values';
import { PROTOCOL_NUMBERS } from '../protocol';
import type { Family } from '../family';
import type { IptMatch, IptPortRange, IptRule, IptTableName } from '../iptc/rule';
import { binding } from '../native/binding';
import type { NativeXtExtension, NativeXtExtensions } from '../native/iptc';
import { parsePrefix } from '../address';
import { callNativeSync, invalid } from '../errors';
import type { RuleCompat } from '../nft/batch';
import { CMP, META, PAYLOAD_BASE, VERDICT } from '../nft/constants';
import { expr, type NftExpr } from '../nft/expr';
import { be16, hostU32 } from '../nft/match';

/** iptables-nft loads every value into the first 16-byte register. */
const REG = 1;

/** Where the addresses sit in the network header, by family. */
export const ADDRESS_OFFSET = {
  ipv4: { source: 12, destination: 16 },
  ipv6: { source: 8, destination: 24 },
} as const;

/** The transport header's ports. */
export const SOURCE_PORT_OFFSET = 0;
export const DESTINATION_PORT_OFFSET = 2;

/** What a rule is in nf_tables, as NftBatch's RuleSpec takes it. */
export interface IptnftRuleBody {
  exprs: NftExpr[];
  /** iptables-nft sends every rule's `-p` along, which nft_compat checks the rule's extensions against. */
  compat: RuleCompat;
}

/**
 * Each rule in the order given. Every rule is validated as the legacy
 * encoder validates it; errors name `rules[i]`.
 */
export function encodeIptnftRules(family: Family, table: IptTableName, rules: readonly IptRule[]): IptnftRuleBody[] {
  const packed = encodeRules(family, table, rules, 'rules');
  const extensions = callNativeSync(() => binding.iptcXtExtensions(family, packed));
  return rules.map((rule, i) => ({
    exprs: encodeExprs(family, rule, extensions[i]!, `rules[${i}]`),
    compat: { protocol: protocolNumber(rule) ?? 0, negated: rule.protocolNegated === true },
  }));
}

function protocolNumber(rule: IptRule): number | undefined {
  return rule.protocol === undefined ? undefined : PROTOCOL_NUMBERS[rule.protocol];
}

function encodeExprs(family: Family, rule: IptRule, extensions: NativeXtExtensions, field: string): NftExpr[] {
  const exprs: NftExpr[] = [];
  if (rule.inInterface !== undefined) exprs.push(...interfaceMatch(META.iifname, rule.inInterface, rule.inInterfaceNegated));
  if (rule.outInterface !== undefined) exprs.push(...interfaceMatch(META.oifname, rule.outInterface, rule.outInterfaceNegated));
  const protocol = protocolNumber(rule);
  if (protocol !== undefined) {
    exprs.push(expr.meta(META.l4proto, REG), expr.cmp(REG, op(rule.protocolNegated), Uint8Array.of(protocol)));
  }
  const offsets = ADDRESS_OFFSET[family];
  if (rule.source !== undefined) {
    exprs.push(...addressMatch(family, offsets.source, rule.source, rule.sourceNegated, `${field}.source`));
  }
  if (rule.destination !== undefined) {
    exprs.push(...addressMatch(family, offsets.destination, rule.destination, rule.destinationNegated, `${field}.destination`));
  }
  (rule.matches ?? []).forEach((match, i) => exprs.push(...matchExprs(match, extensions.matches[i]!)));
  exprs.push(expr.counter());
  exprs.push(targetExpr(rule, extensions.target));
  return exprs;
}

function op(negated: boolean | undefined): 'eq' | 'neq' {
  return negated ? 'neq' : 'eq';
}

/**
 * The name and its NUL, or for a `prefix+` wildcard only the prefix. `+`
 * alone (any interface) loads the name and compares nothing; `! +` (none)
 * compares with a name no interface has.
 */
function interfaceMatch(key: number, name: string, negated: boolean | undefined): NftExpr[] {
  if (name === '+') return negated ? [expr.meta(key, REG), expr.cmp(REG, 'eq', NO_INTERFACE)] : [expr.meta(key, REG)];
  const bytes = name.endsWith('+') ? Buffer.from(name.slice(0, -1)) : Buffer.from(`${name}\0`);
  return [expr.meta(key, REG), expr.cmp(REG, op(negated), bytes)];
}

/** What iptables-nft compares `! -i +` with: '/' is in no interface name. */
export const NO_INTERFACE = Buffer.from('INVAL/D\0');

/**
 * A prefix on a byte boundary compares its leading bytes; any other masks
 * the whole address first. A /0 matches every address and compares nothing.
 */
function addressMatch(family: Family, offset: number, value: string, negated: boolean | undefined, field: string): NftExpr[] {
  const prefix = parsePrefix(value, field, family, 'reject');
  if (prefix.length === 0) {
    // iptables-nft would load zero bytes, which the kernel refuses.
    if (negated) invalid(`${field}Negated`, 'no negation of a /0 prefix, which iptables-nft cannot write', negated);
    return [];
  }
  if (prefix.length % 8 === 0) {
    const bytes = prefix.length / 8;
    return [
      expr.payload(PAYLOAD_BASE.network, offset, bytes, REG),
      expr.cmp(REG, op(negated), prefix.address.slice(0, bytes)),
    ];
  }
  const length = prefix.address.length;
  return [
    expr.payload(PAYLOAD_BASE.network, offset, length, REG),
    expr.bitwise(REG, REG, prefix.mask.slice(), new Uint8Array(length)),
    expr.cmp(REG, op(negated), prefix.address.slice()),
  ];
}

function matchExprs(match: IptMatch, extension: NativeXtExtension): NftExpr[] {
  if ((match.name === 'tcp' || match.name === 'udp') && restrictsPorts(match)) return portMatch(match);
  if (match.name === 'mark') return markMatch(match);
  return [expr.xtMatch(extension.name, extension.revision, extension.info)];
}

/** `meta mark`, masked unless the mask is full; the kernel holds marks in host byte order. */
function markMatch(match: Extract<IptMatch, { name: 'mark' }>): NftExpr[] {
  const mask = match.mask ?? FULL_MARK_MASK;
  return [
    expr.meta(META.mark, REG),
    ...(mask === FULL_MARK_MASK ? [] : [expr.bitwise(REG, REG, hostU32(mask), new Uint8Array(4))]),
    expr.cmp(REG, op(match.negated), hostU32(match.mark)),
  ];
}

type PortMatch = Extract<IptMatch, { name: 'tcp' | 'udp' | 'sctp' }>;

function range(value: IptPortRange): readonly [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

/** iptables-nft keeps a tcp or udp match that names no port (`-m tcp` alone) as the extension. */
function restrictsPorts(match: PortMatch): boolean {
  return match.sourcePort !== undefined || match.destinationPort !== undefined;
}

/** The tcp and udp matches as payload comparisons: one per port, or one of both ports when each is single and equally negated. */
function portMatch(match: PortMatch): NftExpr[] {
  const source = match.sourcePort === undefined ? undefined : range(match.sourcePort);
  const destination = match.destinationPort === undefined ? undefined : range(match.destinationPort);
  if (
    source && destination && source[0] === source[1] && destination[0] === destination[1] &&
    Boolean(match.sourcePortNegated) === Boolean(match.destinationPortNegated)
  ) {
    return [
      expr.payload(PAYLOAD_BASE.transport, SOURCE_PORT_OFFSET, 4, REG),
      expr.cmp(REG, op(match.sourcePortNegated), Uint8Array.of(...be16(source[0]), ...be16(destination[0]))),
    ];
  }
  return [
    ...(source ? portRange(SOURCE_PORT_OFFSET, source, match.sourcePortNegated) : []),
    ...(destination ? portRange(DESTINATION_PORT_OFFSET, destination, match.destinationPortNegated) : []),
  ];
}

function portRange(offset: number, [first, last]: readonly [number, number], negated: boolean | undefined): NftExpr[] {
  const load = expr.payload(PAYLOAD_BASE.transport, offset, 2, REG);
  if (first === last) return [load, expr.cmp(REG, op(negated), be16(first))];
  return [load, { type: 'range', sreg: REG, op: CMP[op(negated)], from: be16(first), to: be16(last) }];
}

function targetExpr(rule: IptRule, extension: NativeXtExtension | undefined): NftExpr {
  const target = rule.target;
  switch (target.name) {
    case 'ACCEPT':
      return expr.verdict(VERDICT.accept);
    case 'DROP':
      return expr.verdict(VERDICT.drop);
    case 'RETURN':
      return expr.verdict(VERDICT.return);
    case 'jump':
      return expr.verdict(target.goto ? VERDICT.goto : VERDICT.jump, target.chain);
    default:
      return expr.xtTarget(extension!.name, extension!.revision, extension!.info);
  }
}
