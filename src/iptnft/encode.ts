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
 * The expressions are written straight into the packed layout NftBatch
 * sends (src/nft/pack.ts), rule after rule in one buffer, without an
 * expression object per rule: a bulk publish encodes tens of thousands of
 * rules. table.ts commits what it encodes; decode.ts reads it back
 * (unpackExprs) to check a rule read against the kernel's expressions;
 * test/iptnft-encoding.test.ts proves the encoding against iptables-nft-restore.
 */
import { encodeRules } from '../iptc/encode';
import { FULL_MARK_MASK } from '../iptc/kernel-values';
import { PROTOCOL_NUMBERS } from '../protocol';
import type { Family } from '../family';
import type { IptMatch, IptPortRange, IptRule, IptTableName } from '../iptc/rule';
import { binding } from '../native/binding';
import { XtRecords } from '../native/iptc';
import { PackedWriter } from '../native/packed-writer';
import { parsePrefix } from '../address';
import { callNativeSync, invalid } from '../errors';
import type { PackedRuleBodies } from '../nft/batch';
import { CMP, META, PAYLOAD_BASE, REG_VERDICT, VERDICT } from '../nft/constants';
import { exprCodes } from '../nft/pack';
import { hostU32 } from '../nft/match';

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

/** What iptables-nft compares `! -i +` with: '/' is in no interface name. */
export const NO_INTERFACE = Buffer.from('INVAL/D\0');

/** nft_compat's flag for a negated `-p` (NFT_RULE_COMPAT_F_INV). */
const COMPAT_INVERT = 2;

/**
 * Each rule in the order given, packed as NftBatch takes rules' bodies:
 * its expressions, and the `-p` iptables-nft sends along, which nft_compat
 * checks the rule's extensions against. Every rule is validated as the
 * legacy encoder validates it; errors name `rules[i]`.
 */
export function encodeIptnftRules(family: Family, table: IptTableName, rules: readonly IptRule[]): PackedRuleBodies {
  const packed = encodeRules(family, table, rules, 'rules');
  const extensions = new XtRecords(callNativeSync(() => binding.iptcXtExtensions(family, packed)));
  const encoder = new RuleEncoder(family, rules.length, extensions);
  const offsets = new Uint32Array(rules.length + 1);
  const compat = new Uint8Array(2 * rules.length);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    offsets[i] = encoder.out.length;
    encoder.rule(rule, i);
    compat[2 * i] = protocolNumber(rule) ?? 0;
    compat[2 * i + 1] = rule.protocolNegated ? COMPAT_INVERT : 0;
  }
  offsets[rules.length] = encoder.out.length;
  return { bytes: encoder.out.finish(), offsets, compat };
}

function protocolNumber(rule: IptRule): number | undefined {
  return rule.protocol === undefined ? undefined : PROTOCOL_NUMBERS[rule.protocol];
}

function op(negated: boolean | undefined): number {
  return negated ? CMP.neq : CMP.eq;
}

type PortMatch = Extract<IptMatch, { name: 'tcp' | 'udp' | 'sctp' }>;

/** The codes of the expressions iptables-nft writes, resolved once. */
let codes: ReturnType<typeof resolveCodes> | undefined;

function resolveCodes() {
  const xt = { name: 'xtName', rev: 'u32', info: 'xtInfo' } as const;
  return {
    meta: exprCodes('meta', { key: 'u32', dreg: 'u32' }),
    payload: exprCodes('payload', { base: 'u32', offset: 'u32', len: 'u32', dreg: 'u32' }),
    cmp: exprCodes('cmp', { sreg: 'u32', op: 'u32', data: 'bytes' }),
    range: exprCodes('range', { sreg: 'u32', op: 'u32', from: 'bytes', to: 'bytes' }),
    bitwise: exprCodes('bitwise', { sreg: 'u32', dreg: 'u32', len: 'u32', mask: 'bytes', xor: 'bytes' }),
    counter: exprCodes('counter', { packets: 'u64', bytes: 'u64' }),
    immediate: exprCodes('immediate', { dreg: 'u32', verdict: 's32', chain: 'string' }),
    match: exprCodes('match', xt),
    target: exprCodes('target', xt),
  };
}

/**
 * Packs rules' expressions one after the other into `out`: each rule its
 * expression count, then each expression (its type, attribute count and
 * attributes, NATIVE_RULE_OP in src/native/nft.ts).
 */
class RuleEncoder {
  readonly out: PackedWriter;
  private readonly codes = (codes ??= resolveCodes());
  /** The bytes compared for each interface name: a bulk names the same few bridges thousands of times. */
  private readonly interfaces = new Map<string, Uint8Array>();
  /** The expressions of the rule being written so far. */
  private count = 0;

  /** `extensions`: the rules' xt matches and targets, read rule by rule as the rules are written. */
  constructor(private readonly family: Family, rules: number, private readonly extensions: XtRecords) {
    // Docker's rules take 206 (nat) to 214 (filter) bytes each, most of them xt infos: a bulk of them fills one buffer without growing it.
    this.out = new PackedWriter(rules * 224);
  }

  rule(rule: IptRule, index: number): void {
    const countAt = this.out.length;
    this.out.u16(0);
    this.count = 0;
    if (rule.inInterface !== undefined) this.interfaceMatch(META.iifname, rule.inInterface, rule.inInterfaceNegated);
    if (rule.outInterface !== undefined) this.interfaceMatch(META.oifname, rule.outInterface, rule.outInterfaceNegated);
    const protocol = protocolNumber(rule);
    if (protocol !== undefined) {
      this.meta(META.l4proto);
      this.cmpHead(rule.protocolNegated, 1);
      this.out.u8(protocol);
    }
    const offsets = ADDRESS_OFFSET[this.family];
    if (rule.source !== undefined) this.addressMatch(offsets.source, rule.source, rule.sourceNegated, `rules[${index}].source`);
    if (rule.destination !== undefined) {
      this.addressMatch(offsets.destination, rule.destination, rule.destinationNegated, `rules[${index}].destination`);
    }
    const matches = rule.matches;
    if (this.extensions.u8() !== (matches?.length ?? 0)) throw new Error(`rule ${index} has not its matches' extensions`);
    // Every match has its extension built, which the match is written as or skipped.
    if (matches !== undefined) for (let i = 0; i < matches.length; i++) this.match(matches[i]!, this.extensions.record());
    const target = this.extensions.u8() === 1 ? this.extensions.record() : undefined;
    this.counter();
    this.target(rule, target);
    this.out.setU16(countAt, this.count);
  }

  /**
   * The name and its NUL, or for a `prefix+` wildcard only the prefix. `+`
   * alone (any interface) loads the name and compares nothing; `! +` (none)
   * compares with a name no interface has.
   */
  private interfaceMatch(key: number, name: string, negated: boolean | undefined): void {
    this.meta(key);
    if (name === '+') {
      if (negated) this.cmp(false, NO_INTERFACE);
      return;
    }
    let bytes = this.interfaces.get(name);
    if (bytes === undefined) {
      bytes = name.endsWith('+') ? Buffer.from(name.slice(0, -1)) : Buffer.from(`${name}\0`);
      this.interfaces.set(name, bytes);
    }
    this.cmp(negated, bytes);
  }

  /**
   * A prefix on a byte boundary compares its leading bytes; any other masks
   * the whole address first. A /0 matches every address and compares nothing.
   */
  private addressMatch(offset: number, value: string, negated: boolean | undefined, field: string): void {
    const prefix = parsePrefix(value, field, this.family, 'reject');
    if (prefix.length === 0) {
      // iptables-nft would load zero bytes, which the kernel refuses.
      if (negated) invalid(`${field}Negated`, 'no negation of a /0 prefix, which iptables-nft cannot write', negated);
      return;
    }
    const address = prefix.address;
    if (prefix.length % 8 === 0) {
      const bytes = prefix.length / 8;
      this.payload(PAYLOAD_BASE.network, offset, bytes);
      this.cmpHead(negated, bytes);
      for (let i = 0; i < bytes; i++) this.out.u8(address[i]!);
      return;
    }
    this.payload(PAYLOAD_BASE.network, offset, address.length);
    this.bitwise(prefix.mask);
    this.cmp(negated, address);
  }

  private match(match: IptMatch, extension: number): void {
    if ((match.name === 'tcp' || match.name === 'udp') && restrictsPorts(match)) this.portMatch(match);
    else if (match.name === 'mark') this.markMatch(match);
    else this.xt(this.codes.match, extension);
  }

  /** `meta mark`, masked unless the mask is full; the kernel holds marks in host byte order. */
  private markMatch(match: Extract<IptMatch, { name: 'mark' }>): void {
    const mask = match.mask ?? FULL_MARK_MASK;
    this.meta(META.mark);
    if (mask !== FULL_MARK_MASK) this.bitwise(hostU32(mask));
    this.cmp(match.negated, hostU32(match.mark));
  }

  /** The tcp and udp matches as payload comparisons: one per port, or one of both ports when each is single and equally negated. */
  private portMatch(match: PortMatch): void {
    const source = match.sourcePort === undefined ? undefined : range(match.sourcePort);
    const destination = match.destinationPort === undefined ? undefined : range(match.destinationPort);
    if (
      source && destination && source[0] === source[1] && destination[0] === destination[1] &&
      Boolean(match.sourcePortNegated) === Boolean(match.destinationPortNegated)
    ) {
      this.payload(PAYLOAD_BASE.transport, SOURCE_PORT_OFFSET, 4);
      this.cmpHead(match.sourcePortNegated, 4);
      this.be16(source[0]);
      this.be16(destination[0]);
      return;
    }
    if (source) this.portRange(SOURCE_PORT_OFFSET, source, match.sourcePortNegated);
    if (destination) this.portRange(DESTINATION_PORT_OFFSET, destination, match.destinationPortNegated);
  }

  private portRange(offset: number, [first, last]: readonly [number, number], negated: boolean | undefined): void {
    this.payload(PAYLOAD_BASE.transport, offset, 2);
    if (first === last) {
      this.cmpHead(negated, 2);
      this.be16(first);
      return;
    }
    const codes = this.codes.range;
    this.head(codes.type, 4);
    this.u32(codes.sreg, REG);
    this.u32(codes.op, op(negated));
    this.out.u8(codes.from);
    this.out.u16(2);
    this.be16(first);
    this.out.u8(codes.to);
    this.out.u16(2);
    this.be16(last);
  }

  private target(rule: IptRule, extension: number | undefined): void {
    const target = rule.target;
    switch (target.name) {
      case 'ACCEPT':
        return this.verdict(VERDICT.accept);
      case 'DROP':
        return this.verdict(VERDICT.drop);
      case 'RETURN':
        return this.verdict(VERDICT.return);
      case 'jump':
        return this.verdict(target.goto ? VERDICT.goto : VERDICT.jump, target.chain);
      default:
        return this.xt(this.codes.target, extension!);
    }
  }

  // The expressions, each with exactly the attributes iptables-nft sets.

  private meta(key: number): void {
    const codes = this.codes.meta;
    this.head(codes.type, 2);
    this.u32(codes.key, key);
    this.u32(codes.dreg, REG);
  }

  private payload(base: number, offset: number, length: number): void {
    const codes = this.codes.payload;
    this.head(codes.type, 4);
    this.u32(codes.base, base);
    this.u32(codes.offset, offset);
    this.u32(codes.len, length);
    this.u32(codes.dreg, REG);
  }

  private cmp(negated: boolean | undefined, data: Uint8Array): void {
    this.cmpHead(negated, data.length);
    this.out.bytes(data);
  }

  /** A comparison up to its `length` bytes of data, which the caller writes. */
  private cmpHead(negated: boolean | undefined, length: number): void {
    const codes = this.codes.cmp;
    this.head(codes.type, 3);
    this.u32(codes.sreg, REG);
    this.u32(codes.op, op(negated));
    this.out.u8(codes.data);
    this.out.u16(length);
  }

  /** `mask`, xor nothing. */
  private bitwise(mask: Uint8Array): void {
    const codes = this.codes.bitwise;
    this.head(codes.type, 5);
    this.u32(codes.sreg, REG);
    this.u32(codes.dreg, REG);
    this.u32(codes.len, mask.length);
    this.out.u8(codes.mask);
    this.out.u16(mask.length);
    this.out.bytes(mask);
    this.out.u8(codes.xor);
    this.out.u16(mask.length);
    for (let i = 0; i < mask.length; i++) this.out.u8(0);
  }

  /** A counter from zero. */
  private counter(): void {
    const codes = this.codes.counter;
    this.head(codes.type, 2);
    this.u32(codes.packets, 0);
    this.out.u32(0);
    this.u32(codes.bytes, 0);
    this.out.u32(0);
  }

  private verdict(code: number, chain?: string): void {
    const codes = this.codes.immediate;
    this.head(codes.type, chain === undefined ? 2 : 3);
    this.u32(codes.dreg, REG_VERDICT);
    this.u32(codes.verdict, code >>> 0);
    if (chain !== undefined) {
      this.out.u8(codes.chain);
      this.out.text(chain);
    }
  }

  /** nft_compat: the xt match or target the legacy encoder built, its record at `start`: name and info are copied as they are packed. */
  private xt(codes: ReturnType<typeof resolveCodes>['match'], start: number): void {
    const records = this.extensions.bytes;
    const revisionAt = XtRecords.revisionAt(records, start);
    const infoAt = revisionAt + 1;
    this.head(codes.type, 3);
    this.out.u8(codes.name);
    this.out.copy(records, start, revisionAt);
    this.u32(codes.rev, records[revisionAt]!);
    this.out.u8(codes.info);
    this.out.copy(records, infoAt, infoAt + 2 + (records[infoAt]! | (records[infoAt + 1]! << 8)));
  }

  private head(type: number, attributes: number): void {
    this.out.u8(type);
    this.out.u8(attributes);
    this.count++;
  }

  private u32(code: number, value: number): void {
    this.out.u8(code);
    this.out.u32(value);
  }

  private be16(value: number): void {
    this.out.u8(value >> 8);
    this.out.u8(value & 0xff);
  }
}

function range(value: IptPortRange): readonly [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

/** iptables-nft keeps a tcp or udp match that names no port (`-m tcp` alone) as the extension. */
function restrictsPorts(match: PortMatch): boolean {
  return match.sourcePort !== undefined || match.destinationPort !== undefined;
}
