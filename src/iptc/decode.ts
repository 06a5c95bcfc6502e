/**
 * Decodes a packed table dump (the layout of src/native/iptc.ts) straight
 * into the public model, in canonical form: negations only when true, a
 * single port as a number, prefixes as `address/length`, conntrack states in
 * iptables' order, the default mark mask omitted. A rule encoded from
 * canonical input decodes deep-equal to it; a rule the model cannot hold
 * decodes as the reason why.
 */
import { ADDRTYPE_NEGATED, MATCH_CODE, NAT_FIELD, type NativeTableDump, PORT_FIELD, RULE_FIELD, TARGET_CODE } from '../native/iptc';
import { PackedReader } from '../native/packed-reader';
import { formatAddressAt, formatPrefixAt } from '../address';
import { ADDRESS_TYPES, CONNTRACK_STATES, FULL_MARK_MASK, PROTOCOLS } from './kernel-values';
import type { Family } from '../family';
import type { IptAddrType, IptMatch, IptPortRange, IptRule, IptTarget } from './rule';
import type { IptChain, IptRuleEntry, IptTableRead } from './table';

/** A rule of the model, or why the kernel's rule has no equivalent in it. */
export type DecodedRule = { rule: IptRule; unsupported?: never } | { rule?: never; unsupported: string };

/**
 * Why part of a rule cannot be modelled. Decoders return it instead of
 * throwing, as the rest of the rule's record must still be read.
 */
class Unmodelled {
  constructor(readonly reason: string) {}
}

export function decodeDump(family: Family, dump: NativeTableDump): IptTableRead<IptRuleEntry> {
  const input = new PackedReader(dump);
  const count = input.u32();
  const chains: IptChain<IptRuleEntry>[] = [];
  for (let i = 0; i < count; i++) chains.push(decodeChain(input, family));
  const fingerprint = input.text();
  input.end();
  return { chains, fingerprint };
}

function decodeChain(input: PackedReader, family: Family): IptChain<IptRuleEntry> {
  const name = input.text();
  const builtin = input.u8() === 1;
  const policy = builtin ? input.text() : undefined;
  const chain: IptChain<IptRuleEntry> = { name, builtin, packets: input.u64(), bytes: input.u64(), rules: [] };
  const count = input.u32();
  for (let i = 0; i < count; i++) chain.rules.push(decodeEntry(input, family));
  if (policy !== undefined) chain.policy = policy as 'ACCEPT' | 'DROP';
  return chain;
}

function decodeEntry(input: PackedReader, family: Family): IptRuleEntry {
  const packets = input.u64();
  const bytes = input.u64();
  const raw = input.bytes(input.u32());
  const decoded = decodeRule(input, family);
  return decoded instanceof Unmodelled
    ? { unsupported: decoded.reason, packets, bytes, raw }
    : { rule: decoded, packets, bytes, raw };
}

function decodeRule(input: PackedReader, family: Family): IptRule | Unmodelled {
  // First in the record, last in the rule (and in the order its parts are judged).
  const target = decodeTarget(input, family);
  const present = input.u8();
  const negated = input.u8();
  const rule: Partial<IptRule> = {};
  let unmodelled: Unmodelled | undefined;
  if (present & RULE_FIELD.source) {
    const source = prefix(input, family, 'source');
    if (source instanceof Unmodelled) unmodelled ??= source;
    else rule.source = source;
    if (negated & RULE_FIELD.source) rule.sourceNegated = true;
  }
  if (present & RULE_FIELD.destination) {
    const destination = prefix(input, family, 'destination');
    if (destination instanceof Unmodelled) unmodelled ??= destination;
    else rule.destination = destination;
    if (negated & RULE_FIELD.destination) rule.destinationNegated = true;
  }
  if (present & RULE_FIELD.inInterface) {
    rule.inInterface = input.text();
    if (negated & RULE_FIELD.inInterface) rule.inInterfaceNegated = true;
  }
  if (present & RULE_FIELD.outInterface) {
    rule.outInterface = input.text();
    if (negated & RULE_FIELD.outInterface) rule.outInterfaceNegated = true;
  }
  if (present & RULE_FIELD.protocol) {
    const number = input.u16();
    const protocol = PROTOCOLS.find((p) => p.number === number && (p.family ?? family) === family);
    if (protocol) rule.protocol = protocol.name;
    else unmodelled ??= new Unmodelled(`protocol ${number}`);
    if (negated & RULE_FIELD.protocol) rule.protocolNegated = true;
  }
  const count = input.u32();
  if (count > 0) {
    const matches: IptMatch[] = [];
    for (let i = 0; i < count; i++) {
      const match = decodeMatch(input);
      if (match instanceof Unmodelled) unmodelled ??= match;
      else matches.push(match);
    }
    rule.matches = matches;
  }
  if (unmodelled) return unmodelled;
  if (target instanceof Unmodelled) return target;
  rule.target = target;
  return rule as IptRule;
}

/** What an extension's record decodes to: a match or a target of the model, or why the model has none. */
export type DecodedExtension<T> = { value: T; unsupported?: never } | { value?: never; unsupported: string };

/**
 * The records of iptcDecodeXtExtensions, one per extension, in order:
 * `targets[i]` says whether the i-th is a target.
 */
export function decodeExtensionRecords(
  family: Family, records: Buffer, targets: readonly boolean[],
): DecodedExtension<IptMatch | IptTarget>[] {
  const input = new PackedReader(records);
  const decoded = targets.map((target) => {
    const value = target ? decodeTarget(input, family) : decodeMatch(input);
    return value instanceof Unmodelled ? { unsupported: value.reason } : { value };
  });
  input.end();
  return decoded;
}

function prefix(input: PackedReader, family: Family, what: string): string | Unmodelled {
  const length = addressLength(input, family);
  const at = input.skip(2 * length, 'address and mask bytes');
  return formatPrefixAt(input.buffer, at, length) ?? new Unmodelled(`a non-prefix ${what} mask`);
}

function address(input: PackedReader, family: Family): string {
  const length = addressLength(input, family);
  return formatAddressAt(input.buffer, input.skip(length, 'address bytes'), length);
}

function addressLength(input: PackedReader, family: Family): number {
  const length = input.u8();
  if (length !== (family === 'ipv4' ? 4 : 16)) throw new RangeError(`packed bytes: a ${family} address of ${length} bytes`);
  return length;
}

function ports(input: PackedReader): IptPortRange {
  const first = input.u16();
  const last = input.u16();
  return first === last ? first : [first, last];
}

function addressType(bits: number, what: string): IptAddrType | Unmodelled | undefined {
  if (bits === 0) return undefined;
  const known = ADDRESS_TYPES.find((t) => t.bit === bits);
  return known ? known.name : new Unmodelled(`addrtype ${what} set 0x${bits.toString(16)}`);
}

const PORT_MATCHES = { [MATCH_CODE.tcp]: 'tcp', [MATCH_CODE.udp]: 'udp', [MATCH_CODE.sctp]: 'sctp' } as const;

function decodeMatch(input: PackedReader): IptMatch | Unmodelled {
  const code = input.u8();
  switch (code) {
    case MATCH_CODE.tcp:
    case MATCH_CODE.udp:
    case MATCH_CODE.sctp: {
      const fields = input.u8();
      const match: IptMatch = { name: PORT_MATCHES[code] };
      if (fields & PORT_FIELD.source) match.sourcePort = ports(input);
      if (fields & PORT_FIELD.sourceNegated) match.sourcePortNegated = true;
      if (fields & PORT_FIELD.destination) match.destinationPort = ports(input);
      if (fields & PORT_FIELD.destinationNegated) match.destinationPortNegated = true;
      return match;
    }
    case MATCH_CODE.addrtype: {
      const sourceType = addressType(input.u16(), 'source');
      const destinationType = addressType(input.u16(), 'destination');
      const negated = input.u8();
      if (sourceType instanceof Unmodelled) return sourceType;
      if (destinationType instanceof Unmodelled) return destinationType;
      const match: IptMatch = { name: 'addrtype' };
      if (sourceType) match.sourceType = sourceType;
      if (negated & ADDRTYPE_NEGATED.source) match.sourceTypeNegated = true;
      if (destinationType) match.destinationType = destinationType;
      if (negated & ADDRTYPE_NEGATED.destination) match.destinationTypeNegated = true;
      return match;
    }
    case MATCH_CODE.conntrack: {
      const states = input.u16();
      const negated = input.u8() === 1;
      const known = CONNTRACK_STATES.filter((s) => (states & s.bit) !== 0);
      if (known.reduce((bits, s) => bits | s.bit, 0) !== states) return new Unmodelled(`conntrack state set 0x${states.toString(16)}`);
      const match: IptMatch = { name: 'conntrack', states: known.map((s) => s.name) };
      if (negated) match.statesNegated = true;
      return match;
    }
    case MATCH_CODE.mark: {
      const mark = input.u32();
      const mask = input.u32();
      const match: IptMatch = { name: 'mark', mark };
      if (mask !== FULL_MARK_MASK) match.mask = mask;
      if (input.u8() === 1) match.negated = true;
      return match;
    }
    case MATCH_CODE.comment:
      return { name: 'comment', comment: input.text() };
    case MATCH_CODE.unsupported: {
      const name = input.text();
      return new Unmodelled(`match ${name} revision ${input.u8()}`);
    }
    default:
      throw new RangeError(`packed bytes: unknown match code ${code}`);
  }
}

function decodeTarget(input: PackedReader, family: Family): IptTarget | Unmodelled {
  const code = input.u8();
  switch (code) {
    case TARGET_CODE.ACCEPT:
      return { name: 'ACCEPT' };
    case TARGET_CODE.DROP:
      return { name: 'DROP' };
    case TARGET_CODE.RETURN:
      return { name: 'RETURN' };
    case TARGET_CODE.jump: {
      const chain = input.text();
      return input.u8() === 1 ? { name: 'jump', chain, goto: true } : { name: 'jump', chain };
    }
    case TARGET_CODE.DNAT:
    case TARGET_CODE.SNAT: {
      const name = code === TARGET_CODE.DNAT ? 'DNAT' : 'SNAT';
      const fields = input.u8();
      const toAddress = fields & NAT_FIELD.address ? address(input, family) : undefined;
      const toPort = fields & NAT_FIELD.ports ? ports(input) : undefined;
      if (toAddress === undefined) return new Unmodelled(`${name} without an address`);
      const target: IptTarget = { name, toAddress };
      if (toPort !== undefined) target.toPort = toPort;
      return target;
    }
    case TARGET_CODE.MASQUERADE:
      return input.u8() & NAT_FIELD.ports ? { name: 'MASQUERADE', toPort: ports(input) } : { name: 'MASQUERADE' };
    case TARGET_CODE.unsupported: {
      const name = input.text();
      const revision = input.u8();
      return new Unmodelled(name === '' ? 'no target' : `target ${name} revision ${revision}`);
    }
    default:
      throw new RangeError(`packed bytes: unknown target code ${code}`);
  }
}
