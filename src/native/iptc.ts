/**
 * Private types of the addon's libiptc half (native/iptc). These descriptors
 * are plain data the C++ side copies field by field: addresses are already
 * bytes, names of kernel values are already numbers, and everything has been
 * validated by src/iptc/encode.ts. Reading returns the same shapes.
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

/** Rule positions are 0-based. */
export type NativeOperation =
  | { op: 'newChain' | 'flushChain' | 'deleteChain'; chain: string }
  | { op: 'setPolicy'; chain: string; policy: 'ACCEPT' | 'DROP' }
  | { op: 'append' | 'deleteRule'; chain: string; rule: NativeRule }
  | { op: 'insert' | 'replace'; chain: string; index: number; rule: NativeRule }
  | { op: 'deleteAt'; chain: string; index: number };

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
  operations: NativeOperation[];
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
