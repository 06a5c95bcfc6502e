/**
 * Turns rules read from the kernel back into the public model, in canonical
 * form: negations only when true, a single port as a number, prefixes as
 * `address/length`, conntrack states in iptables' order, the default mark
 * mask omitted. A rule encoded from canonical input decodes deep-equal to it.
 */
import type { NativeMatch, NativePortRange, NativeRule, NativeTarget } from '../native/iptc';
import { formatAddress, formatPrefix } from '../address';
import { ADDRESS_TYPES, CONNTRACK_STATES, FULL_MARK_MASK, PROTOCOLS } from './kernel-values';
import type { IptAddrType, IptFamily, IptMatch, IptPortRange, IptRule, IptTarget } from './rule';

/** A rule of the model, or why the kernel's rule has no equivalent in it. */
export type DecodedRule = { rule: IptRule; unsupported?: never } | { rule?: never; unsupported: string };

/** Thrown inside this module only, for the part of a rule that cannot be modelled. */
class Unmodelled extends Error {}

export function decodeRule(family: IptFamily, native: NativeRule): DecodedRule {
  try {
    return { rule: decodeModelled(family, native) };
  } catch (error) {
    if (error instanceof Unmodelled) return { unsupported: error.message };
    throw error;
  }
}

function decodeModelled(family: IptFamily, native: NativeRule): IptRule {
  const rule: Partial<IptRule> = {};
  if (native.source) {
    rule.source = prefix(native.source.address, native.source.mask, 'source');
    if (native.source.negated) rule.sourceNegated = true;
  }
  if (native.destination) {
    rule.destination = prefix(native.destination.address, native.destination.mask, 'destination');
    if (native.destination.negated) rule.destinationNegated = true;
  }
  if (native.inInterface) {
    rule.inInterface = native.inInterface.name;
    if (native.inInterface.negated) rule.inInterfaceNegated = true;
  }
  if (native.outInterface) {
    rule.outInterface = native.outInterface.name;
    if (native.outInterface.negated) rule.outInterfaceNegated = true;
  }
  if (native.protocol) {
    const { number, negated } = native.protocol;
    const protocol = PROTOCOLS.find((p) => p.number === number && (p.family ?? family) === family);
    if (!protocol) throw new Unmodelled(`protocol ${number}`);
    rule.protocol = protocol.name;
    if (negated) rule.protocolNegated = true;
  }
  if (native.matches.length > 0) rule.matches = native.matches.map(decodeMatch);
  rule.target = decodeTarget(native.target);
  return rule as IptRule;
}

function prefix(address: Buffer, mask: Buffer, what: string): string {
  const text = formatPrefix(address, mask);
  if (text === undefined) throw new Unmodelled(`a non-prefix ${what} mask`);
  return text;
}

function ports([first, last]: NativePortRange): IptPortRange {
  return first === last ? first : [first, last];
}

function addressType(bits: number, what: string): IptAddrType | undefined {
  if (bits === 0) return undefined;
  const known = ADDRESS_TYPES.find((t) => t.bit === bits);
  if (!known) throw new Unmodelled(`addrtype ${what} set 0x${bits.toString(16)}`);
  return known.name;
}

function decodeMatch(native: NativeMatch): IptMatch {
  switch (native.kind) {
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const match: IptMatch = { name: native.kind };
      if (native.source) match.sourcePort = ports(native.source);
      if (native.sourceNegated) match.sourcePortNegated = true;
      if (native.destination) match.destinationPort = ports(native.destination);
      if (native.destinationNegated) match.destinationPortNegated = true;
      return match;
    }
    case 'addrtype': {
      const match: IptMatch = { name: 'addrtype' };
      const sourceType = addressType(native.sourceTypes, 'source');
      if (sourceType) match.sourceType = sourceType;
      if (native.sourceNegated) match.sourceTypeNegated = true;
      const destinationType = addressType(native.destinationTypes, 'destination');
      if (destinationType) match.destinationType = destinationType;
      if (native.destinationNegated) match.destinationTypeNegated = true;
      return match;
    }
    case 'conntrack': {
      const known = CONNTRACK_STATES.filter((s) => (native.states & s.bit) !== 0);
      if (known.reduce((bits, s) => bits | s.bit, 0) !== native.states) {
        throw new Unmodelled(`conntrack state set 0x${native.states.toString(16)}`);
      }
      const match: IptMatch = { name: 'conntrack', states: known.map((s) => s.name) };
      if (native.negated) match.statesNegated = true;
      return match;
    }
    case 'mark': {
      const match: IptMatch = { name: 'mark', mark: native.mark };
      if (native.mask !== FULL_MARK_MASK) match.mask = native.mask;
      if (native.negated) match.negated = true;
      return match;
    }
    case 'comment':
      return { name: 'comment', comment: native.comment };
    case 'unsupported':
      throw new Unmodelled(`match ${native.name} revision ${native.revision}`);
  }
}

function decodeTarget(native: NativeTarget): IptTarget {
  switch (native.kind) {
    case 'verdict':
      return { name: native.verdict };
    case 'jump':
      return native.goto ? { name: 'jump', chain: native.chain, goto: true } : { name: 'jump', chain: native.chain };
    case 'DNAT':
    case 'SNAT': {
      if (!native.address) throw new Unmodelled(`${native.kind} without an address`);
      const target: IptTarget = { name: native.kind, toAddress: formatAddress(native.address) };
      if (native.ports) target.toPort = ports(native.ports);
      return target;
    }
    case 'MASQUERADE':
      return native.ports ? { name: 'MASQUERADE', toPort: ports(native.ports) } : { name: 'MASQUERADE' };
    case 'unsupported':
      throw new Unmodelled(native.name === '' ? 'no target' : `target ${native.name} revision ${native.revision}`);
  }
}
