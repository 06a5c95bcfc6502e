/**
 * Validates operations and rules of the public model and packs them into the
 * native binding's layout (src/native/iptc.ts): every check happens here, so
 * the C++ side only copies.
 */
import { invalid, ValidationError } from '../errors';
import {
  ADDRTYPE_NEGATED,
  MATCH_CODE,
  NAT_FIELD,
  type NativeOperations,
  OP_CODE,
  PORT_FIELD,
  RULE_FIELD,
  TARGET_CODE,
} from '../native/iptc';
import { PackedWriter } from '../native/packed-writer';
import { parseAddress, parsePrefix } from '../address';
import { ADDRESS_TYPES, CONNTRACK_STATES, FULL_MARK_MASK, PROTOCOLS } from './kernel-values';
import type { IptcOperation } from './operation';
import type { Family } from '../family';
import type { IptMatch, IptPortRange, IptRule, IptTableName, IptTarget } from './rule';
import { PORT_PROTOCOLS } from '../protocol';

/** iptables refuses longer chain names (XT_EXTENSION_MAXNAMELEN - 1). */
const MAX_CHAIN_NAME = 28;
/** IFNAMSIZ - 1 */
const MAX_INTERFACE_NAME = 15;
/** XT_MAX_COMMENT_LEN - 1 */
const MAX_COMMENT = 255;
const MAX_RULE_INDEX = 0xffffffff;
const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE']);
/** Bytes of a typical packed rule operation, so the buffer rarely grows. */
const OPERATION_ESTIMATE = 64;

/** The operations of one table change, validated and packed into one buffer. */
export function encodeOperations(family: Family, table: IptTableName, operations: unknown): NativeOperations {
  if (!Array.isArray(operations)) invalid('operations', 'an array of operations', operations);
  const out = new PackedWriter(4 + operations.length * OPERATION_ESTIMATE);
  out.u32(operations.length);
  encodeEach(out, operations, 'operations', (into, operation, field) => encodeOperation(into, family, table, operation, field));
  return out.finish();
}

/**
 * Rules alone, validated and packed as appends (to a chain of no meaning,
 * which the layout needs), for the native builder of their xt extensions
 * (src/iptnft/encode.ts). Errors name `field`[i].
 */
export function encodeRules(family: Family, table: IptTableName, rules: unknown, field: string): NativeOperations {
  if (!Array.isArray(rules)) invalid(field, 'an array of rules', rules);
  const out = new PackedWriter(4 + rules.length * OPERATION_ESTIMATE);
  out.u32(rules.length);
  encodeEach(out, rules, field, (into, rule, ruleField) => {
    encodeHead(into, 'append', RULES_CHAIN);
    encodeRule(into, family, table, rule, ruleField);
  });
  return out.finish();
}

/**
 * Encodes each of `values` into `out` with `encode`, which names the fields
 * of a value under the field it is given. Those names are spelled out only
 * when a value fails, by encoding it again under its own: spelling out every
 * field of every rule of a bulk took a third of encoding them.
 */
function encodeEach(
  out: PackedWriter, values: readonly unknown[], field: string, encode: (out: PackedWriter, value: unknown, field: string) => void,
): void {
  for (let i = 0; i < values.length; i++) {
    try {
      encode(out, values[i], '');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      encode(new PackedWriter(OPERATION_ESTIMATE), values[i], `${field}[${i}]`);
      throw error;
    }
  }
}

/**
 * The name of `part` of `field` (`.rule`, `Negated`); none while `field` has
 * none, as on encodeEach's first pass, which makes no names (a dozen strings
 * a rule) since a failing value is encoded again under its own.
 */
function named(field: string, part: string): string {
  return field === '' ? '' : field + part;
}

/** The chain encodeRules names: any valid name does. */
const RULES_CHAIN = 'rules';

function encodeOperation(out: PackedWriter, family: Family, table: IptTableName, value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) invalid(field, 'an operation object', value);
  const operation = value as IptcOperation;
  const chain = checkChainName(operation.chain, named(field, '.chain'));
  switch (operation.op) {
    case 'newChain':
    case 'flushChain':
    case 'deleteChain':
      return encodeHead(out, operation.op, chain);
    case 'setPolicy':
      if (operation.policy !== 'ACCEPT' && operation.policy !== 'DROP') {
        invalid(`${field}.policy`, '"ACCEPT" or "DROP"', operation.policy);
      }
      encodeHead(out, operation.op, chain);
      return out.u8(TARGET_CODE[operation.policy]);
    case 'append':
    case 'deleteRule':
      encodeHead(out, operation.op, chain);
      return encodeRule(out, family, table, operation.rule, named(field, '.rule'));
    case 'insert':
    case 'replace':
    case 'deleteAt': {
      const index = checkIndex(operation.index, named(field, '.index'));
      encodeHead(out, operation.op, chain);
      out.u32(index);
      return operation.op === 'deleteAt' ? undefined : encodeRule(out, family, table, operation.rule, named(field, '.rule'));
    }
    default:
      return invalid(
        `${field}.op`,
        'one of newChain, flushChain, deleteChain, setPolicy, append, insert, replace, deleteAt, deleteRule',
        (operation as { op: unknown }).op,
      );
  }
}

function encodeHead(out: PackedWriter, op: IptcOperation['op'], chain: string): void {
  out.u8(OP_CODE[op]);
  out.text(chain);
}

/**
 * Names found valid, so that the thousands of rules naming the same few
 * chains and interfaces are checked once. Bounded: emptied when full.
 */
class CheckedNames {
  private readonly names = new Set<string>();

  has(value: unknown): value is string {
    return typeof value === 'string' && this.names.has(value);
  }

  add(value: string): void {
    if (this.names.size >= MAX_CHECKED_NAMES) this.names.clear();
    this.names.add(value);
  }
}

const MAX_CHECKED_NAMES = 1_024;
const CHAIN_NAMES = new CheckedNames();
const INTERFACE_NAMES = new CheckedNames();

function checkChainName(value: unknown, field: string): string {
  if (CHAIN_NAMES.has(value)) return value;
  const expected = `a chain name of 1 to ${MAX_CHAIN_NAME} bytes without spaces, not starting with "-" or "!"`;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value) > MAX_CHAIN_NAME ||
    /[\s\0]/.test(value) ||
    value.startsWith('-') ||
    value.startsWith('!')
  ) {
    invalid(field, expected, value);
  }
  CHAIN_NAMES.add(value);
  return value;
}

function checkIndex(value: unknown, field: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_RULE_INDEX) {
    invalid(field, 'a 0-based rule index', value);
  }
  return value as number;
}

function checkFlag(value: unknown, field: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') invalid(field, 'a boolean', value);
  return value === true;
}

function checkPort(value: unknown, field: string): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    invalid(field, 'a port from 1 to 65535', value);
  }
  return value as number;
}

/** Writes the ports of `value` when given; true when it did. */
function encodePorts(out: PackedWriter, value: IptPortRange | undefined, field: string): boolean {
  if (value === undefined) return false;
  if (!Array.isArray(value)) {
    const port = checkPort(value, field);
    out.u16(port);
    out.u16(port);
    return true;
  }
  if (value.length !== 2) invalid(field, 'a port or a [first, last] port range', value);
  const first = checkPort(value[0], `${field}[0]`);
  const last = checkPort(value[1], `${field}[1]`);
  if (first > last) invalid(field, 'a port range whose first port is not above its last', `${first}-${last}`);
  out.u16(first);
  out.u16(last);
  return true;
}

/** What a rule part's encoder reports: absent, present, or present and negated. */
type Part = undefined | 'present' | 'negated';

function part(negated: boolean): Part {
  return negated ? 'negated' : 'present';
}

/** `bit` when the part is present, for the rule's set of parts present. */
function partBit(found: Part, bit: number): number {
  return found === undefined ? 0 : bit;
}

/** `bit` when the part is negated, for the rule's set of parts negated. */
function negatedBit(found: Part, bit: number): number {
  return found === 'negated' ? bit : 0;
}

/** Each family's protocols by name, to their numbers. */
const PROTOCOL_NUMBERS_OF: Record<Family, ReadonlyMap<string, number>> = {
  ipv4: protocolNumbers('ipv4'),
  ipv6: protocolNumbers('ipv6'),
};

function protocolNumbers(family: Family): ReadonlyMap<string, number> {
  return new Map(PROTOCOLS.filter((p) => (p.family ?? family) === family).map((p) => [p.name, p.number]));
}

function checkInterface(name: unknown, negated: unknown, field: string): Part {
  if (name === undefined) {
    if (negated !== undefined) invalid(`${field}Negated`, `no negation without ${field}`, negated);
    return undefined;
  }
  if (INTERFACE_NAMES.has(name)) return part(checkFlag(negated, named(field, 'Negated')));
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    Buffer.byteLength(name) > MAX_INTERFACE_NAME ||
    /[\s"'/\\\0]/.test(name)
  ) {
    invalid(field, `an interface name of 1 to ${MAX_INTERFACE_NAME} bytes without spaces, quotes or slashes`, name);
  }
  INTERFACE_NAMES.add(name);
  return part(checkFlag(negated, named(field, 'Negated')));
}

function encodeAddressMatch(out: PackedWriter, family: Family, value: unknown, negated: unknown, field: string): Part {
  if (value === undefined) {
    if (negated !== undefined) invalid(`${field}Negated`, `no negation without ${field}`, negated);
    return undefined;
  }
  const prefix = parsePrefix(value, field, family, 'reject');
  const result = part(checkFlag(negated, named(field, 'Negated')));
  out.u8(prefix.address.length);
  out.bytes(prefix.address);
  out.bytes(prefix.mask);
  return result;
}

function encodeRule(out: PackedWriter, family: Family, table: IptTableName, value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) invalid(field, 'a rule object', value);
  const rule = value as IptRule;
  encodeTarget(out, family, table, rule, field);
  const sets = out.length;
  out.u16(0);
  const source = encodeAddressMatch(out, family, rule.source, rule.sourceNegated, named(field, '.source'));
  const destination = encodeAddressMatch(out, family, rule.destination, rule.destinationNegated, named(field, '.destination'));
  const inInterface = checkInterface(rule.inInterface, rule.inInterfaceNegated, named(field, '.inInterface'));
  if (inInterface) out.text(rule.inInterface!);
  const outInterface = checkInterface(rule.outInterface, rule.outInterfaceNegated, named(field, '.outInterface'));
  if (outInterface) out.text(rule.outInterface!);
  let protocol: Part;
  if (rule.protocol !== undefined) {
    const number = PROTOCOL_NUMBERS_OF[family].get(rule.protocol);
    if (number === undefined) {
      const names = PROTOCOLS.filter((p) => (p.family ?? family) === family).map((p) => p.name);
      invalid(`${field}.protocol`, `one of ${names.join(', ')}`, rule.protocol);
    }
    protocol = part(checkFlag(rule.protocolNegated, named(field, '.protocolNegated')));
    out.u16(number);
  } else if (rule.protocolNegated !== undefined) {
    invalid(`${field}.protocolNegated`, `no negation without ${field}.protocol`, rule.protocolNegated);
  }
  out.setU8(sets, partBit(source, RULE_FIELD.source) | partBit(destination, RULE_FIELD.destination) |
    partBit(inInterface, RULE_FIELD.inInterface) | partBit(outInterface, RULE_FIELD.outInterface) | partBit(protocol, RULE_FIELD.protocol));
  out.setU8(sets + 1, negatedBit(source, RULE_FIELD.source) | negatedBit(destination, RULE_FIELD.destination) |
    negatedBit(inInterface, RULE_FIELD.inInterface) | negatedBit(outInterface, RULE_FIELD.outInterface) | negatedBit(protocol, RULE_FIELD.protocol));
  if (rule.matches === undefined) return out.u32(0);
  if (!Array.isArray(rule.matches)) invalid(`${field}.matches`, 'an array of matches', rule.matches);
  out.u32(rule.matches.length);
  for (let i = 0; i < rule.matches.length; i++) encodeMatch(out, rule, rule.matches[i], field, field === '' ? '' : `${field}.matches[${i}]`);
}

/** The kernel's port matches and NAT port maps only work on a positively matched port protocol. */
function requirePortProtocol(rule: IptRule, protocols: readonly string[], ruleField: string, what: string): void {
  if (rule.protocol === undefined || !protocols.includes(rule.protocol) || rule.protocolNegated === true) {
    const expected = `${protocols.map((p) => `"${p}"`).join(' or ')} (not negated) with ${what}`;
    invalid(`${ruleField}.protocol`, expected, rule.protocol);
  }
}

function encodeMatch(out: PackedWriter, rule: IptRule, value: unknown, ruleField: string, field: string): void {
  if (typeof value !== 'object' || value === null) invalid(field, 'a match object', value);
  const match = value as IptMatch;
  switch (match.name) {
    case 'tcp':
    case 'udp':
    case 'sctp': {
      if (rule.protocol !== match.name || rule.protocolNegated === true) requirePortProtocol(rule, [match.name], ruleField, `the ${match.name} match`);
      let fields = checkFlag(match.sourcePortNegated, named(field, '.sourcePortNegated')) ? PORT_FIELD.sourceNegated : 0;
      if (checkFlag(match.destinationPortNegated, named(field, '.destinationPortNegated'))) fields |= PORT_FIELD.destinationNegated;
      out.u8(MATCH_CODE[match.name]);
      const at = out.length;
      out.u8(0);
      if (encodePorts(out, match.sourcePort, named(field, '.sourcePort'))) fields |= PORT_FIELD.source;
      if (encodePorts(out, match.destinationPort, named(field, '.destinationPort'))) fields |= PORT_FIELD.destination;
      return out.setU8(at, fields);
    }
    case 'addrtype': {
      if (match.sourceType === undefined && match.destinationType === undefined) {
        invalid(field, 'sourceType or destinationType', undefined);
      }
      const sourceTypes = addressTypeBit(match.sourceType, named(field, '.sourceType'));
      let negated = checkFlag(match.sourceTypeNegated, named(field, '.sourceTypeNegated')) ? ADDRTYPE_NEGATED.source : 0;
      const destinationTypes = addressTypeBit(match.destinationType, named(field, '.destinationType'));
      if (checkFlag(match.destinationTypeNegated, named(field, '.destinationTypeNegated'))) negated |= ADDRTYPE_NEGATED.destination;
      out.u8(MATCH_CODE.addrtype);
      out.u16(sourceTypes);
      out.u16(destinationTypes);
      return out.u8(negated);
    }
    case 'conntrack': {
      const names = CONNTRACK_STATES.map((s) => s.name);
      if (!Array.isArray(match.states) || match.states.length === 0) {
        invalid(`${field}.states`, `a non-empty array of ${names.join(', ')}`, match.states);
      }
      let states = 0;
      match.states.forEach((state, i) => {
        const known = CONNTRACK_STATES.find((s) => s.name === state);
        if (!known) invalid(`${field}.states[${i}]`, `one of ${names.join(', ')}`, state);
        states |= known.bit;
      });
      const negated = checkFlag(match.statesNegated, named(field, '.statesNegated'));
      out.u8(MATCH_CODE.conntrack);
      out.u16(states);
      return out.u8(negated ? 1 : 0);
    }
    case 'mark': {
      const mark = checkUint32(match.mark, named(field, '.mark'));
      const mask = match.mask === undefined ? FULL_MARK_MASK : checkUint32(match.mask, named(field, '.mask'));
      const negated = checkFlag(match.negated, named(field, '.negated'));
      out.u8(MATCH_CODE.mark);
      out.u32(mark);
      out.u32(mask);
      return out.u8(negated ? 1 : 0);
    }
    case 'comment':
      if (typeof match.comment !== 'string' || Buffer.byteLength(match.comment) > MAX_COMMENT || match.comment.includes('\0')) {
        invalid(`${field}.comment`, `a string of at most ${MAX_COMMENT} bytes without NUL`, match.comment);
      }
      out.u8(MATCH_CODE.comment);
      return out.text(match.comment);
    default:
      return invalid(`${field}.name`, 'one of tcp, udp, sctp, addrtype, conntrack, mark, comment', (match as { name: unknown }).name);
  }
}

function addressTypeBit(value: unknown, field: string): number {
  if (value === undefined) return 0;
  const known = ADDRESS_TYPES.find((t) => t.name === value);
  if (!known) invalid(field, `one of ${ADDRESS_TYPES.map((t) => t.name).join(', ')}`, value);
  return known.bit;
}

function checkUint32(value: unknown, field: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) {
    invalid(field, 'an integer from 0 to 0xffffffff', value);
  }
  return value as number;
}

function encodeTarget(out: PackedWriter, family: Family, table: IptTableName, rule: IptRule, ruleField: string): void {
  const field = named(ruleField, '.target');
  const target = rule.target as IptTarget | undefined;
  if (typeof target !== 'object' || target === null) invalid(field, 'a target object', target);
  if (NAT_TARGETS.has(target.name) && table !== 'nat') invalid(`${field}.name`, `a target of the ${table} table`, target.name);
  switch (target.name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return out.u8(TARGET_CODE[target.name]);
    case 'jump': {
      const chain = checkChainName(target.chain, named(field, '.chain'));
      const goTo = checkFlag(target.goto, named(field, '.goto'));
      out.u8(TARGET_CODE.jump);
      out.text(chain);
      return out.u8(goTo ? 1 : 0);
    }
    case 'DNAT':
    case 'SNAT': {
      const address = parseAddress(target.toAddress, named(field, '.toAddress'), family).bytes;
      out.u8(TARGET_CODE[target.name]);
      const at = out.length;
      out.u8(0);
      out.u8(address.length);
      out.bytes(address);
      const ports = encodeTargetPorts(out, rule, target.toPort, ruleField, named(field, '.toPort'));
      return out.setU8(at, NAT_FIELD.address | (ports ? NAT_FIELD.ports : 0));
    }
    case 'MASQUERADE': {
      out.u8(TARGET_CODE.MASQUERADE);
      const at = out.length;
      out.u8(0);
      const ports = encodeTargetPorts(out, rule, target.toPort, ruleField, named(field, '.toPort'));
      return out.setU8(at, ports ? NAT_FIELD.ports : 0);
    }
    default:
      return invalid(`${field}.name`, 'one of ACCEPT, DROP, RETURN, jump, DNAT, SNAT, MASQUERADE', (target as { name: unknown }).name);
  }
}

function encodeTargetPorts(
  out: PackedWriter,
  rule: IptRule,
  value: IptPortRange | undefined,
  ruleField: string,
  field: string,
): boolean {
  if (value === undefined) return false;
  requirePortProtocol(rule, PORT_PROTOCOLS, ruleField, 'a port mapping');
  return encodePorts(out, value, field);
}
