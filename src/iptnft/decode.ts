/**
 * The iptables-nft reader: a rule read back from nf_tables, as the rule of
 * the iptables model (src/iptc/rule.ts) that iptables-nft 1.8.9 writes
 * exactly so, or why there is none. The expressions are read in the forms
 * encode.ts writes; each rule so read is then encoded again and must give
 * back the very expressions the kernel holds (counter values aside). A rule
 * reads as modelled only if iptables-nft itself would write it so: anything
 * else (another tool's rule, a form the model lacks) is kept as unsupported,
 * which the backend never takes for its own. The xt extensions' info bytes
 * decode natively, as the same extension of a legacy entry does
 * (src/iptc/decode.ts shares the records), so both readers agree.
 */
import type { Family } from '../family';
import { formatPrefixAt } from '../address';
import { decodeExtensionRecords, type DecodedRule } from '../iptc/decode';
import { PROTOCOLS } from '../iptc/kernel-values';
import type { ReadRuleEntry } from '../iptc/table';
import type { IptMatch, IptPortRange, IptRule, IptTableName, IptTarget } from '../iptc/rule';
import { binding } from '../native/binding';
import type { NativeXtItem } from '../native/iptc';
import type { NativeExpr, NativeRule } from '../native/nft';
import { callNativeSync } from '../errors';
import { CMP, META, PAYLOAD_BASE, VERDICT } from '../nft/constants';
import { unpackExprs } from '../nft/pack';
import { ADDRESS_OFFSET, DESTINATION_PORT_OFFSET, encodeIptnftRules, NO_INTERFACE, SOURCE_PORT_OFFSET } from './encode';

/** A rule as read, with its handle (where the backend inserts and deletes) and its counter. */
export type IptnftRuleEntry = ReadRuleEntry & { handle: number };

/**
 * The rules in the order given (a chain's, or a table's in chain order).
 * `known`: rules decoded before, by handle, for those read as known (without
 * their expressions): a rule's handle is never reused while its table lives
 * and its expressions never change (a replaced rule gets a new handle), so a
 * table read again is decoded only where it is new.
 */
export function decodeIptnftRules(
  family: Family, table: IptTableName, rules: readonly NativeRule[], known?: ReadonlyMap<number, DecodedRule>,
): IptnftRuleEntry[] {
  const fresh = rules.filter((rule) => !rule.known);
  const decoded = new Map(fresh.length === 0 ? [] : decodeVerified(family, table, fresh).map((entry, i) => [fresh[i]!.handle, entry]));
  return rules.map((rule) => {
    if (!rule.known) return { ...decoded.get(rule.handle)!, handle: rule.handle, ...counterOf(rule.exprs) };
    const before = known?.get(rule.handle);
    if (!before) throw new Error(`rule ${rule.handle} was read as known, and is not`);
    return { ...before, handle: rule.handle, packets: BigInt(rule.packets ?? 0), bytes: BigInt(rule.bytes ?? 0) };
  });
}

/** What the expressions are, counter values aside: equal keys, equal rules. */
function exprsKey(exprs: readonly NativeExpr[]): string {
  return exprs.map((e) => (e.type === 'counter' ? 'counter' : Object.keys(e).sort().map((name) => `${name}=${valueKey(e[name]!)}`).join(','))).join(';');
}

function valueKey(value: string | number | bigint | Uint8Array): string {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1') : String(value);
}

function counterOf(exprs: readonly NativeExpr[]): { packets: bigint; bytes: bigint } {
  const counter = exprs.find((e) => e.type === 'counter');
  return counter ? { packets: BigInt(counter.packets as number | bigint), bytes: BigInt(counter.bytes as number | bigint) } : { packets: 0n, bytes: 0n };
}

/** Each rule read, then checked by encoding it again. */
function decodeVerified(family: Family, table: IptTableName, rules: readonly NativeRule[]): DecodedRule[] {
  const parsed = rules.map((rule) => parseExprs(family, rule.exprs));
  const resolved = resolveExtensions(family, parsed);
  const candidates = resolved.flatMap((entry) => (entry.rule ? [entry.rule] : []));
  const encoded = encodeEach(family, table, candidates);
  let next = 0;
  return resolved.map((entry, i) => {
    if (!entry.rule) return entry;
    const again = encoded[next++];
    if (again === undefined || exprsKey(again) !== exprsKey(rules[i]!.exprs)) {
      return { unsupported: 'expressions iptables-nft does not write for the rule they resemble' };
    }
    return { rule: canonical(entry.rule) };
  });
}

/**
 * `-i +` and `-o +` match every interface: iptables-nft loads the name and
 * compares nothing, and reads such a rule back, as legacy iptables does, as
 * one without the option.
 */
function canonical(rule: IptRule): IptRule {
  const { inInterface, outInterface, ...rest } = rule;
  const anyIn = inInterface === '+' && !rule.inInterfaceNegated;
  const anyOut = outInterface === '+' && !rule.outInterfaceNegated;
  if (!anyIn && !anyOut) return rule;
  return { ...(anyIn ? {} : { inInterface }), ...(anyOut ? {} : { outInterface }), ...rest } as IptRule;
}

/** The expressions of each rule, or undefined for one the encoder refuses (it is no rule iptables-nft writes). */
function encodeEach(family: Family, table: IptTableName, rules: readonly IptRule[]): (readonly NativeExpr[] | undefined)[] {
  try {
    const bodies = encodeIptnftRules(family, table, rules);
    return rules.map((_, i) => unpackExprs(bodies.bytes, bodies.offsets[i]!));
  } catch {
    return rules.map((rule) => {
      try {
        return unpackExprs(encodeIptnftRules(family, table, [rule]).bytes, 0);
      } catch {
        return undefined;
      }
    });
  }
}

/** A match or the target still to decode from its info bytes, and where it goes. */
type Extension = NativeXtItem;

/** A rule read from its expressions, its xt extensions not yet decoded; or why it is no rule of the model. */
type Parsed = { rule: PartialRule; extensions: Extension[] } | { unsupported: string };

/** A rule being read: its matches may hold extensions' places, its target one too. */
interface PartialRule extends Omit<IptRule, 'matches' | 'target'> {
  matches: (IptMatch | Extension)[];
  target?: IptTarget | Extension;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type PortMatch = Mutable<Extract<IptMatch, { name: 'tcp' | 'udp' | 'sctp' }>>;

/** The rule's own expressions, in the order and forms encode.ts writes them. */
function parseExprs(family: Family, exprs: readonly NativeExpr[]): Parsed {
  const rule: PartialRule = { matches: [] };
  const extensions: Extension[] = [];
  let i = 0;
  const cmpAfter = (load: NativeExpr): NativeExpr | undefined => {
    const next = exprs[i];
    return next?.type === 'cmp' && next.sreg === load.dreg ? next : undefined;
  };
  while (i < exprs.length) {
    const e = exprs[i++]!;
    if (rule.target !== undefined) return { unsupported: `expression ${e.type} after the verdict` };
    switch (e.type) {
      case 'meta': {
        if (e.key === META.iifname || e.key === META.oifname) {
          const inbound = e.key === META.iifname;
          if ((inbound ? rule.inInterface : rule.outInterface) !== undefined) return { unsupported: 'an interface compared twice' };
          const cmp = cmpAfter(e);
          if (cmp) i++;
          const { name, negated } = cmp ? interfaceOf(cmp) : { name: '+', negated: false };
          if (inbound) Object.assign(rule, { inInterface: name }, negated ? { inInterfaceNegated: true } : {});
          else Object.assign(rule, { outInterface: name }, negated ? { outInterfaceNegated: true } : {});
        } else if (e.key === META.l4proto) {
          const cmp = cmpAfter(e);
          const data = cmp?.data as Uint8Array | undefined;
          if (!cmp || data?.length !== 1 || rule.protocol !== undefined) return { unsupported: 'a protocol iptables-nft does not compare so' };
          i++;
          const protocol = PROTOCOLS.find((p) => p.number === data[0] && (p.family ?? family) === family);
          if (!protocol) return { unsupported: `protocol ${data[0]}` };
          rule.protocol = protocol.name;
          if (cmp.op === CMP.neq) rule.protocolNegated = true;
        } else if (e.key === META.mark) {
          const mask = exprs[i]?.type === 'bitwise' ? exprs[i++]! : undefined;
          const cmp = cmpAfter(e);
          if (!cmp) return { unsupported: 'a mark loaded and not compared' };
          i++;
          const mark: Mutable<Extract<IptMatch, { name: 'mark' }>> = { name: 'mark', mark: hostU32Of(cmp.data as Uint8Array) };
          if (mask) mark.mask = hostU32Of(mask.mask as Uint8Array);
          if (cmp.op === CMP.neq) mark.negated = true;
          rule.matches.push(mark);
        } else {
          return { unsupported: `meta key ${String(e.key)}` };
        }
        break;
      }
      case 'payload': {
        if (e.base === PAYLOAD_BASE.network) {
          const which = e.offset === ADDRESS_OFFSET[family].source ? 'source' : e.offset === ADDRESS_OFFSET[family].destination ? 'destination' : undefined;
          if (!which || rule[which] !== undefined) return { unsupported: `a network header field at ${String(e.offset)}` };
          const mask = exprs[i]?.type === 'bitwise' ? exprs[i++]! : undefined;
          const cmp = cmpAfter(e);
          if (!cmp) return { unsupported: 'an address loaded and not compared' };
          i++;
          const prefix = prefixOf(family, cmp.data as Uint8Array, mask?.mask as Uint8Array | undefined);
          if (prefix === undefined) return { unsupported: `a non-prefix ${which} mask` };
          rule[which] = prefix;
          if (cmp.op === CMP.neq) rule[`${which}Negated`] = true;
        } else if (e.base === PAYLOAD_BASE.transport) {
          const port = portsOf(e, exprs[i]);
          if (!port) return { unsupported: 'a transport header field iptables-nft does not compare so' };
          i++;
          const protocol = rule.protocol;
          if (protocol !== 'tcp' && protocol !== 'udp') return { unsupported: `ports of protocol ${protocol ?? 'any'}` };
          // A match's destination port follows its source port; anything else starts a match.
          const last = rule.matches.at(-1);
          const extends_ = last !== undefined && !isExtension(last) && last.name === protocol && port.source === undefined &&
            (last as PortMatch).sourcePort !== undefined && (last as PortMatch).destinationPort === undefined;
          const match: PortMatch = extends_ ? (last as PortMatch) : { name: protocol };
          if (!extends_) rule.matches.push(match);
          if (port.source !== undefined) {
            match.sourcePort = port.source;
            if (port.sourceNegated) match.sourcePortNegated = true;
          }
          if (port.destination !== undefined) {
            match.destinationPort = port.destination;
            if (port.destinationNegated) match.destinationPortNegated = true;
          }
        } else {
          return { unsupported: `payload base ${String(e.base)}` };
        }
        break;
      }
      case 'match': {
        const extension = xtItem(e, false);
        extensions.push(extension);
        rule.matches.push(extension);
        break;
      }
      case 'counter':
        if (exprs[i]?.type !== 'immediate' && exprs[i]?.type !== 'target') return { unsupported: 'a counter that is not last before the verdict' };
        break;
      case 'immediate': {
        if (exprs[i - 2]?.type !== 'counter') return { unsupported: 'a verdict without a counter' };
        const target = verdictOf(e);
        if (!target) return { unsupported: `verdict ${String(e.verdict)}` };
        rule.target = target;
        break;
      }
      case 'target': {
        if (exprs[i - 2]?.type !== 'counter') return { unsupported: 'a target without a counter' };
        const extension = xtItem(e, true);
        extensions.push(extension);
        rule.target = extension;
        break;
      }
      default:
        return { unsupported: `expression ${e.type}` };
    }
  }
  if (rule.target === undefined) return { unsupported: 'no verdict' };
  return { rule, extensions };
}

function isExtension(value: IptMatch | Extension): value is Extension {
  return 'info' in value;
}

function xtItem(e: NativeExpr, target: boolean): Extension {
  return { target, name: String(e.name), revision: Number(e.rev), info: e.info as Uint8Array };
}

function interfaceOf(cmp: NativeExpr): { name: string; negated: boolean } {
  const data = Buffer.from(cmp.data as Uint8Array);
  const negated = cmp.op === CMP.neq;
  if (!negated && data.equals(NO_INTERFACE)) return { name: '+', negated: true };
  // A name ends with its NUL; a wildcard's prefix has none.
  return data.at(-1) === 0 ? { name: data.toString('latin1', 0, data.length - 1), negated } : { name: `${data.toString('latin1')}+`, negated };
}

/** The prefix compared: leading bytes (a byte-boundary prefix), or the whole address under a mask. */
function prefixOf(family: Family, compared: Uint8Array, mask: Uint8Array | undefined): string | undefined {
  const length = family === 'ipv4' ? 4 : 16;
  const bytes = Buffer.alloc(2 * length);
  if (compared.length > length || (mask !== undefined && mask.length !== length)) return undefined;
  bytes.set(compared, 0);
  if (mask) bytes.set(mask, length);
  else bytes.fill(0xff, length, length + compared.length);
  return formatPrefixAt(bytes, 0, length);
}

function hostU32Of(bytes: Uint8Array): number {
  return bytes.length === 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) : Number.NaN;
}

interface ReadPorts {
  source?: IptPortRange;
  sourceNegated?: boolean;
  destination?: IptPortRange;
  destinationNegated?: boolean;
}

/** The ports a transport payload load and the comparison after it say. */
function portsOf(load: NativeExpr, next: NativeExpr | undefined): ReadPorts | undefined {
  if (next === undefined || (next.type !== 'cmp' && next.type !== 'range') || next.sreg !== load.dreg) return undefined;
  const negated = next.op === CMP.neq;
  if (next.type === 'range') {
    const range: IptPortRange = [be16Of(next.from as Uint8Array), be16Of(next.to as Uint8Array)];
    if (load.len !== 2) return undefined;
    if (load.offset === SOURCE_PORT_OFFSET) return { source: range, ...(negated ? { sourceNegated: true } : {}) };
    if (load.offset === DESTINATION_PORT_OFFSET) return { destination: range, ...(negated ? { destinationNegated: true } : {}) };
    return undefined;
  }
  const data = next.data as Uint8Array;
  if (load.offset === SOURCE_PORT_OFFSET && load.len === 4 && data.length === 4) {
    return {
      source: be16Of(data.subarray(0, 2)), destination: be16Of(data.subarray(2)),
      ...(negated ? { sourceNegated: true, destinationNegated: true } : {}),
    };
  }
  if (load.len !== 2 || data.length !== 2) return undefined;
  if (load.offset === SOURCE_PORT_OFFSET) return { source: be16Of(data), ...(negated ? { sourceNegated: true } : {}) };
  if (load.offset === DESTINATION_PORT_OFFSET) return { destination: be16Of(data), ...(negated ? { destinationNegated: true } : {}) };
  return undefined;
}

function be16Of(bytes: Uint8Array): number {
  return bytes.length === 2 ? (bytes[0]! << 8) | bytes[1]! : Number.NaN;
}

function verdictOf(e: NativeExpr): IptTarget | undefined {
  switch (e.verdict) {
    case VERDICT.accept: return { name: 'ACCEPT' };
    case VERDICT.drop: return { name: 'DROP' };
    case VERDICT.return: return { name: 'RETURN' };
    case VERDICT.jump: return { name: 'jump', chain: String(e.chain) };
    case VERDICT.goto: return { name: 'jump', chain: String(e.chain), goto: true };
    default: return undefined;
  }
}

/** Every rule's extensions decoded (one native call for all), put in their places. */
function resolveExtensions(family: Family, parsed: readonly Parsed[]): DecodedRule[] {
  const items = parsed.flatMap((entry) => ('extensions' in entry ? entry.extensions : []));
  const records = items.length === 0 ? [] : decodeExtensionRecords(
    family, callNativeSync(() => binding.iptcDecodeXtExtensions(family, items)), items.map((item) => item.target),
  );
  const decoded = new Map(items.map((item, i) => [item, records[i]!]));
  return parsed.map((entry) => {
    if (!('rule' in entry)) return entry;
    const { matches, target, ...header } = entry.rule;
    const resolvedMatches: IptMatch[] = [];
    for (const match of matches) {
      if (!isExtension(match)) resolvedMatches.push(match);
      else {
        const record = decoded.get(match)!;
        if (record.unsupported !== undefined) return { unsupported: record.unsupported };
        resolvedMatches.push(record.value as IptMatch);
      }
    }
    let resolvedTarget = target as IptTarget;
    if (isExtensionTarget(target)) {
      const record = decoded.get(target)!;
      if (record.unsupported !== undefined) return { unsupported: record.unsupported };
      resolvedTarget = record.value as IptTarget;
    }
    const rule: IptRule = { ...header, ...(resolvedMatches.length > 0 ? { matches: resolvedMatches } : {}), target: resolvedTarget };
    return { rule };
  });
}

function isExtensionTarget(target: IptTarget | Extension | undefined): target is Extension {
  return target !== undefined && 'info' in target;
}
