/**
 * Private types of the addon's libiptc half (native/iptc). A transaction's
 * operations travel packed into one buffer per table change (the layout
 * below), validated by src/iptc/encode.ts; the C++ side copies the bytes and
 * unpacks them on a worker thread. A table read comes back the same way: one
 * buffer, packed on the worker thread that read it and decoded by
 * src/iptc/decode.ts. Addresses travel as bytes, names of kernel values as
 * numbers.
 */
import type { Family } from '../family';
import type { IptTableName } from '../iptc/rule';

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
 *                 protocol: u16 number (at most 255 in operations); then
 *                 u32 match count, count matches
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
 *
 * The dump of one table (NativeTableDump) is written by
 * native/iptc/packed_dump.cc and read by src/iptc/decode.ts, which trusts it
 * but throws rather than read past its end. Its rules are the records above,
 * as the kernel holds them (so without the limits above: a text is as long as
 * its u8 length says), and hold two more codes, for what this library does
 * not model; `u64` is unsigned too:
 *
 *     dump        u32 count, count chains, then text fingerprint (16 hex
 *                 digits, equal for equal chains, policies and rules,
 *                 counters aside)
 *     chain       text name, flag builtin, text policy if builtin,
 *                 u64 packets, u64 bytes (the policy's counters, 0 for a
 *                 user chain), u32 count, count entries
 *     entry       u64 packets, u64 bytes, u32 length L, L bytes of the entry
 *                 as the kernel holds it (ipt_entry or ip6t_entry, matches,
 *                 target) with counters zeroed, then its rule
 *     match       unsupported (MATCH_CODE.unsupported): text name, u8 revision
 *     target      unsupported (TARGET_CODE.unsupported): text name
 *                 (libiptc's reading of it, empty for none), u8 revision
 */
export type NativeOperations = Buffer;

export const OP_CODE = {
  newChain: 1, flushChain: 2, deleteChain: 3, setPolicy: 4, append: 5, insert: 6, replace: 7, deleteAt: 8, deleteRule: 9,
} as const;

/** `unsupported` in dumps only. */
export const TARGET_CODE = { ACCEPT: 1, DROP: 2, RETURN: 3, jump: 4, DNAT: 5, SNAT: 6, MASQUERADE: 7, unsupported: 8 } as const;

/** `unsupported` in dumps only. */
export const MATCH_CODE = { tcp: 1, udp: 2, sctp: 3, addrtype: 4, conntrack: 5, mark: 6, comment: 7, unsupported: 8 } as const;

export const RULE_FIELD = { source: 1, destination: 2, inInterface: 4, outInterface: 8, protocol: 16 } as const;

/** Which port ranges a port match has, and which of its ports are negated (with or without a range). */
export const PORT_FIELD = { source: 1, destination: 2, sourceNegated: 4, destinationNegated: 8 } as const;

export const ADDRTYPE_NEGATED = { source: 1, destination: 2 } as const;

export const NAT_FIELD = { address: 1, ports: 2 } as const;

/** Packed as the dump layout above describes. */
export type NativeTableDump = Buffer;

export interface NativeTableChange {
  family: Family;
  table: IptTableName;
  /** Packed as NativeOperations describes. */
  operations: NativeOperations;
  /** When given, the change is refused with ERESTART unless the table still has this fingerprint. */
  fingerprint?: string;
}

export interface NativeIptcTable {
  /**
   * Every table's snapshot changed in order, then all committed (or none),
   * under the xtables lock; resolves to each table's fingerprint as committed.
   */
  transaction(changes: NativeTableChange[], lockPath: string, lockTimeoutMs: number): Promise<string[]>;
  dump(family: Family, table: IptTableName): Promise<NativeTableDump>;
  /** The family's tables that exist in the namespace (ip_tables_names, read inside it); none is opened. */
  tables(family: Family): Promise<string[]>;
  /** Idempotent; later calls reject with EBADF. */
  close(): void;
}

/** One xt match or target as nft_compat carries it: its info is the bytes a legacy entry holds after its header. */
export interface NativeXtExtension {
  name: string;
  revision: number;
  info: Uint8Array;
}

/**
 * Rules' extensions packed, rule after rule (XtRecords reads them): per
 * rule a u8 count of its matches, each match's record in order, a u8 1 when
 * its target is an extension (DNAT, SNAT, MASQUERADE, else 0) and then the
 * target's record. A record is an extension's text name, u8 revision, u16
 * info length and info: the name and info as the packed nft expression
 * layout writes them (NATIVE_RULE_OP in src/native/nft.ts).
 */
export type NativeXtExtensions = Buffer;

/** Reads NativeXtExtensions front to back. */
export class XtRecords {
  #at = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** A rule's match count, or whether its target is an extension (1). */
  u8(): number {
    return this.bytes[this.#at++]!;
  }

  /** Where the next record starts (its name's length), and past it. */
  record(): number {
    const start = this.#at;
    const infoAt = start + 2 + this.bytes[start]!;
    this.#at = infoAt + 2 + (this.bytes[infoAt]! | (this.bytes[infoAt + 1]! << 8));
    return start;
  }

  /** Where the record at `start` has its revision, and its info's u16 length. */
  static revisionAt(bytes: Uint8Array, start: number): number {
    return start + 1 + bytes[start]!;
  }
}

export interface NativeIptcBinding {
  /** `netnsPath` '' means the namespace of the calling thread. */
  openIptcTable(netnsPath: string): Promise<NativeIptcTable>;
  /**
   * The extensions of each rule of `operations` (append operations only,
   * packed as NativeOperations describes), built by the legacy entry encoder, packed;
   * synchronous. A malformed buffer throws EINVAL of iptc.xtExtensions.
   */
  iptcXtExtensions(family: Family, operations: NativeOperations): NativeXtExtensions;
  /**
   * Each extension decoded as the same extension in a legacy entry is: its
   * match or target record of the dump layout above, one after the other;
   * synchronous. A target that is no NAT extension decodes as unsupported.
   */
  iptcDecodeXtExtensions(family: Family, extensions: readonly NativeXtItem[]): Buffer;
}

/** An nft_compat expression as read back: a match, or (`target`) a target. */
export interface NativeXtItem extends NativeXtExtension {
  target: boolean;
}
