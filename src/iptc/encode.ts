/**
 * Validates operations and rules of the public model and turns them into the
 * native descriptors: every check happens here, so the C++ side only copies.
 */
import { invalid } from '../errors';
import type {
  NativeAddressMatch,
  NativeInterfaceMatch,
  NativeMatch,
  NativeOperation,
  NativePortRange,
  NativeRule,
  NativeTarget,
} from '../native/iptc';
import { parseAddress, parsePrefix } from '../address';
import { ADDRESS_TYPES, CONNTRACK_STATES, FULL_MARK_MASK, PROTOCOLS } from './kernel-values';
import type { IptcOperation } from './operation';
import type { IptFamily, IptMatch, IptPortRange, IptRule, IptTableName, IptTarget } from './rule';

/** iptables refuses longer chain names (XT_EXTENSION_MAXNAMELEN - 1). */
const MAX_CHAIN_NAME = 28;
/** IFNAMSIZ - 1 */
const MAX_INTERFACE_NAME = 15;
/** XT_MAX_COMMENT_LEN - 1 */
const MAX_COMMENT = 255;
const MAX_RULE_INDEX = 0xffffffff;
const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'];
const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE']);

export function encodeOperations(family: IptFamily, table: IptTableName, operations: unknown): NativeOperation[] {
  if (!Array.isArray(operations)) invalid('operations', 'an array of operations', operations);
  return operations.map((operation, i) => encodeOperation(family, table, operation, `operations[${i}]`));
}

function encodeOperation(family: IptFamily, table: IptTableName, value: unknown, field: string): NativeOperation {
  if (typeof value !== 'object' || value === null) invalid(field, 'an operation object', value);
  const operation = value as IptcOperation;
  const chain = checkChainName(operation.chain, `${field}.chain`);
  const rule = (): NativeRule => encodeRule(family, table, (operation as { rule: unknown }).rule, `${field}.rule`);
  const index = (): number => checkIndex((operation as { index: unknown }).index, `${field}.index`);
  switch (operation.op) {
    case 'newChain':
    case 'flushChain':
    case 'deleteChain':
      return { op: operation.op, chain };
    case 'setPolicy':
      if (operation.policy !== 'ACCEPT' && operation.policy !== 'DROP') {
        invalid(`${field}.policy`, '"ACCEPT" or "DROP"', operation.policy);
      }
      return { op: 'setPolicy', chain, policy: operation.policy };
    case 'append':
    case 'deleteRule':
      return { op: operation.op, chain, rule: rule() };
    case 'insert':
    case 'replace':
      return { op: operation.op, chain, index: index(), rule: rule() };
    case 'deleteAt':
      return { op: 'deleteAt', chain, index: index() };
    default:
      return invalid(
        `${field}.op`,
        'one of newChain, flushChain, deleteChain, setPolicy, append, insert, replace, deleteAt, deleteRule',
        (operation as { op: unknown }).op,
      );
  }
}

function checkChainName(value: unknown, field: string): string {
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

function encodePorts(value: IptPortRange | undefined, field: string): NativePortRange | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    const port = checkPort(value, field);
    return [port, port];
  }
  if (value.length !== 2) invalid(field, 'a port or a [first, last] port range', value);
  const first = checkPort(value[0], `${field}[0]`);
  const last = checkPort(value[1], `${field}[1]`);
  if (first > last) invalid(field, 'a port range whose first port is not above its last', `${first}-${last}`);
  return [first, last];
}

function encodeInterface(name: unknown, negated: unknown, field: string): NativeInterfaceMatch | undefined {
  if (name === undefined) {
    if (negated !== undefined) invalid(`${field}Negated`, `no negation without ${field}`, negated);
    return undefined;
  }
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    Buffer.byteLength(name) > MAX_INTERFACE_NAME ||
    /[\s"'/\\\0]/.test(name)
  ) {
    invalid(field, `an interface name of 1 to ${MAX_INTERFACE_NAME} bytes without spaces, quotes or slashes`, name);
  }
  return { name, negated: checkFlag(negated, `${field}Negated`) };
}

function encodeAddressMatch(
  family: IptFamily,
  value: unknown,
  negated: unknown,
  field: string,
): NativeAddressMatch | undefined {
  if (value === undefined) {
    if (negated !== undefined) invalid(`${field}Negated`, `no negation without ${field}`, negated);
    return undefined;
  }
  const prefix = parsePrefix(value, field, family, 'reject');
  return { address: Buffer.from(prefix.address), mask: Buffer.from(prefix.mask), negated: checkFlag(negated, `${field}Negated`) };
}

function encodeRule(family: IptFamily, table: IptTableName, value: unknown, field: string): NativeRule {
  if (typeof value !== 'object' || value === null) invalid(field, 'a rule object', value);
  const rule = value as IptRule;
  const native: NativeRule = { matches: [], target: encodeTarget(family, table, rule, field) };
  const source = encodeAddressMatch(family, rule.source, rule.sourceNegated, `${field}.source`);
  if (source) native.source = source;
  const destination = encodeAddressMatch(family, rule.destination, rule.destinationNegated, `${field}.destination`);
  if (destination) native.destination = destination;
  const inInterface = encodeInterface(rule.inInterface, rule.inInterfaceNegated, `${field}.inInterface`);
  if (inInterface) native.inInterface = inInterface;
  const outInterface = encodeInterface(rule.outInterface, rule.outInterfaceNegated, `${field}.outInterface`);
  if (outInterface) native.outInterface = outInterface;
  if (rule.protocol !== undefined) {
    const protocol = PROTOCOLS.find((p) => p.name === rule.protocol && (p.family ?? family) === family);
    if (!protocol) {
      const names = PROTOCOLS.filter((p) => (p.family ?? family) === family).map((p) => p.name);
      invalid(`${field}.protocol`, `one of ${names.join(', ')}`, rule.protocol);
    }
    native.protocol = { number: protocol.number, negated: checkFlag(rule.protocolNegated, `${field}.protocolNegated`) };
  } else if (rule.protocolNegated !== undefined) {
    invalid(`${field}.protocolNegated`, `no negation without ${field}.protocol`, rule.protocolNegated);
  }
  if (rule.matches !== undefined) {
    if (!Array.isArray(rule.matches)) invalid(`${field}.matches`, 'an array of matches', rule.matches);
    native.matches = rule.matches.map((match, i) => encodeMatch(rule, match, field, `${field}.matches[${i}]`));
  }
  return native;
}

/** The kernel's port matches and NAT port maps only work on a positively matched port protocol. */
function requirePortProtocol(rule: IptRule, protocols: readonly string[], ruleField: string, what: string): void {
  if (rule.protocol === undefined || !protocols.includes(rule.protocol) || rule.protocolNegated === true) {
    const expected = `${protocols.map((p) => `"${p}"`).join(' or ')} (not negated) with ${what}`;
    invalid(`${ruleField}.protocol`, expected, rule.protocol);
  }
}

function encodeMatch(rule: IptRule, value: unknown, ruleField: string, field: string): NativeMatch {
  if (typeof value !== 'object' || value === null) invalid(field, 'a match object', value);
  const match = value as IptMatch;
  switch (match.name) {
    case 'tcp':
    case 'udp':
    case 'sctp': {
      requirePortProtocol(rule, [match.name], ruleField, `the ${match.name} match`);
      const native: NativeMatch = {
        kind: match.name,
        sourceNegated: checkFlag(match.sourcePortNegated, `${field}.sourcePortNegated`),
        destinationNegated: checkFlag(match.destinationPortNegated, `${field}.destinationPortNegated`),
      };
      const source = encodePorts(match.sourcePort, `${field}.sourcePort`);
      if (source) native.source = source;
      const destination = encodePorts(match.destinationPort, `${field}.destinationPort`);
      if (destination) native.destination = destination;
      return native;
    }
    case 'addrtype': {
      if (match.sourceType === undefined && match.destinationType === undefined) {
        invalid(field, 'sourceType or destinationType', undefined);
      }
      return {
        kind: 'addrtype',
        sourceTypes: addressTypeBit(match.sourceType, `${field}.sourceType`),
        sourceNegated: checkFlag(match.sourceTypeNegated, `${field}.sourceTypeNegated`),
        destinationTypes: addressTypeBit(match.destinationType, `${field}.destinationType`),
        destinationNegated: checkFlag(match.destinationTypeNegated, `${field}.destinationTypeNegated`),
      };
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
      return { kind: 'conntrack', states, negated: checkFlag(match.statesNegated, `${field}.statesNegated`) };
    }
    case 'mark':
      return {
        kind: 'mark',
        mark: checkUint32(match.mark, `${field}.mark`),
        mask: match.mask === undefined ? FULL_MARK_MASK : checkUint32(match.mask, `${field}.mask`),
        negated: checkFlag(match.negated, `${field}.negated`),
      };
    case 'comment':
      if (typeof match.comment !== 'string' || Buffer.byteLength(match.comment) > MAX_COMMENT || match.comment.includes('\0')) {
        invalid(`${field}.comment`, `a string of at most ${MAX_COMMENT} bytes without NUL`, match.comment);
      }
      return { kind: 'comment', comment: match.comment };
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

function encodeTarget(family: IptFamily, table: IptTableName, rule: IptRule, ruleField: string): NativeTarget {
  const field = `${ruleField}.target`;
  const target = rule.target as IptTarget | undefined;
  if (typeof target !== 'object' || target === null) invalid(field, 'a target object', target);
  if (NAT_TARGETS.has(target.name) && table !== 'nat') invalid(`${field}.name`, `a target of the ${table} table`, target.name);
  switch (target.name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return { kind: 'verdict', verdict: target.name };
    case 'jump':
      return { kind: 'jump', chain: checkChainName(target.chain, `${field}.chain`), goto: checkFlag(target.goto, `${field}.goto`) };
    case 'DNAT':
    case 'SNAT': {
      const native: NativeTarget = { kind: target.name, address: Buffer.from(parseAddress(target.toAddress, `${field}.toAddress`, family).bytes) };
      const ports = encodeTargetPorts(rule, target.toPort, ruleField, `${field}.toPort`);
      if (ports) native.ports = ports;
      return native;
    }
    case 'MASQUERADE': {
      const ports = encodeTargetPorts(rule, target.toPort, ruleField, `${field}.toPort`);
      return ports ? { kind: 'MASQUERADE', ports } : { kind: 'MASQUERADE' };
    }
    default:
      return invalid(`${field}.name`, 'one of ACCEPT, DROP, RETURN, jump, DNAT, SNAT, MASQUERADE', (target as { name: unknown }).name);
  }
}

function encodeTargetPorts(
  rule: IptRule,
  value: IptPortRange | undefined,
  ruleField: string,
  field: string,
): NativePortRange | undefined {
  if (value === undefined) return undefined;
  requirePortProtocol(rule, PORT_PROTOCOLS, ruleField, 'a port mapping');
  return encodePorts(value, field);
}
