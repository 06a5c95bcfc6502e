/**
 * Private types of the addon's libiptc half (native/iptc). A transaction's
 * operations travel packed into one buffer per table change (the layout
 * below), validated by src/iptc/encode.ts; the C++ side copies the bytes and
 * unpacks them on a worker thread. Reading returns plain descriptors: addresses
 * as bytes, names of kernel values as numbers.
 */
import type { IptFamily, IptTableName } from '../iptc/rule';

/** `[first, last]`, inclusive; a single port is `[p, p]`. */
export type NativePortRange = [first: number, last: number];

/** Network-order bytes: 4 for IPv4, 16 for IPv6. */
export interface NativeAddressMatch {
  address: Buffer;
  mask: Buffer;
  negated: boolean;
}

export interface NativeInterfaceMatch {
  /** A trailing `+` is a wildcard, as in iptables. */
  name: string;
  negated: boolean;
}

export interface NativeProtocolMatch {
  number: number;
  negated: boolean;
}

/** What the native side reports for a match or target this library does not model. */
export interface NativeUnsupported {
  kind: 'unsupported';
  name: string;
  revision: number;
}

export type NativeMatch =
  | {
      kind: 'tcp' | 'udp' | 'sctp';
      source?: NativePortRange;
      sourceNegated: boolean;
      destination?: NativePortRange;
      destinationNegated: boolean;
    }
  /** Type sets are bit sets of `1 << RTN_*` (XT_ADDRTYPE_*). */
  | { kind: 'addrtype'; sourceTypes: number; sourceNegated: boolean; destinationTypes: number; destinationNegated: boolean }
  /** `states` is a bit set of XT_CONNTRACK_STATE_* values. */
  | { kind: 'conntrack'; states: number; negated: boolean }
  | { kind: 'mark'; mark: number; mask: number; negated: boolean }
  | { kind: 'comment'; comment: string }
  | NativeUnsupported;

export type NativeTarget =
  | { kind: 'verdict'; verdict: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'jump'; chain: string; goto: boolean }
  | { kind: 'DNAT' | 'SNAT'; address?: Buffer; ports?: NativePortRange }
  | { kind: 'MASQUERADE'; ports?: NativePortRange }
  | NativeUnsupported;

export interface NativeRule {
  source?: NativeAddressMatch;
  destination?: NativeAddressMatch;
  inInterface?: NativeInterfaceMatch;
  outInterface?: NativeInterfaceMatch;
  protocol?: NativeProtocolMatch;
  matches: NativeMatch[];
  target: NativeTarget;
}

/**
 * The packed operations of one table change: written by src/iptc/encode.ts,
 * read (strictly: any malformed byte fails the transaction with EINVAL) by
 * native/iptc/packed_operations.cc. This comment is the layout's one
 * description.
 *
 * Integers are little-endian, whatever the host. `u8`, `u16`, `u32` are
 * unsigned; a flag is a u8 of 0 or 1; a bit set holds only the bits named
 * for it. `text` is a u8 byte length and as many UTF-8 bytes, no NUL and no
 * terminator: a chain name has 1 to 28 bytes, an interface name 0 to 15, a
 * comment 0 to 255. An address is a u8 length, 4 for an ipv4 change and 16
 * for an ipv6 one, then that many network-order bytes. Ports are a u16 first
 * and a u16 last port, first not above last.
 *
 *     operations  u32 count, then count operations
 *     operation   u8 OP_CODE, text chain, then
 *                 setPolicy: u8 policy (TARGET_CODE.ACCEPT or .DROP)
 *                 insert, replace: u32 index, rule
 *                 deleteAt: u32 index
 *                 append, deleteRule: rule
 *     rule        target, u8 RULE_FIELD set of the parts present,
 *                 u8 RULE_FIELD set of those negated, then the parts present:
 *                 source: address length L, L address bytes, L mask bytes;
 *                 destination: the same; inInterface: text; outInterface: text;
 *                 protocol: u8 number; then u32 match count, count matches
 *     match       u8 MATCH_CODE, then
 *                 tcp, udp, sctp: u8 PORT_FIELD set, ports source if
 *                   present, ports destination if present
 *                 addrtype: u16 source types, u16 destination types,
 *                   u8 ADDRTYPE_NEGATED set
 *                 conntrack: u16 states, flag negated
 *                 mark: u32 mark, u32 mask, flag negated
 *                 comment: text comment
 *     target      u8 TARGET_CODE, then
 *                 ACCEPT, DROP, RETURN: nothing
 *                 jump: text chain, flag goto
 *                 DNAT, SNAT: u8 NAT_FIELD set, address if present, ports if present
 *                 MASQUERADE: u8 NAT_FIELD set (ports only), ports if present
 *
 * Codes start at 1, so a run of zero bytes is never a valid record.
 */
export type NativeOperations = Buffer;

export const OP_CODE = {
  newChain: 1, flushChain: 2, deleteChain: 3, setPolicy: 4, append: 5, insert: 6, replace: 7, deleteAt: 8, deleteRule: 9,
} as const;

export const TARGET_CODE = { ACCEPT: 1, DROP: 2, RETURN: 3, jump: 4, DNAT: 5, SNAT: 6, MASQUERADE: 7 } as const;

export const MATCH_CODE = { tcp: 1, udp: 2, sctp: 3, addrtype: 4, conntrack: 5, mark: 6, comment: 7 } as const;

export const RULE_FIELD = { source: 1, destination: 2, inInterface: 4, outInterface: 8, protocol: 16 } as const;

/** Which port ranges a port match has, and which of its ports are negated (with or without a range). */
export const PORT_FIELD = { source: 1, destination: 2, sourceNegated: 4, destinationNegated: 8 } as const;

export const ADDRTYPE_NEGATED = { source: 1, destination: 2 } as const;

export const NAT_FIELD = { address: 1, ports: 2 } as const;

export interface NativeRuleDump {
  rule: NativeRule;
  packets: bigint;
  bytes: bigint;
  /** The entry as the kernel holds it (ipt_entry / ip6t_entry, matches, target), counters zeroed. */
  raw: Buffer;
}

export interface NativeChainDump {
  name: string;
  builtin: boolean;
  /** Built-in chains only. */
  policy?: string;
  packets: bigint;
  bytes: bigint;
  rules: NativeRuleDump[];
}

export interface NativeTableDump {
  chains: NativeChainDump[];
  /** Equal for equal chains, policies and rules (counters aside). */
  fingerprint: string;
}

export interface NativeTableChange {
  family: IptFamily;
  table: IptTableName;
  /** Packed as NativeOperations describes. */
  operations: NativeOperations;
  /** When given, the change is refused with ERESTART unless the table still has this fingerprint. */
  fingerprint?: string;
}

export interface NativeIptcTable {
  /** Every table's snapshot changed in order, then all committed (or none), under the xtables lock. */
  transaction(changes: NativeTableChange[], lockPath: string, lockTimeoutMs: number): Promise<void>;
  dump(family: IptFamily, table: IptTableName): Promise<NativeTableDump>;
  /** Idempotent; later calls reject with EBADF. */
  close(): void;
}

export interface NativeIptcBinding {
  /** `netnsPath` '' means the namespace of the calling thread. */
  openIptcTable(netnsPath: string): Promise<NativeIptcTable>;
}
