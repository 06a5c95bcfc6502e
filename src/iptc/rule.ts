/**
 * The iptables rule model shared by the libiptc layer and the Docker semantics.
 * Field names follow iptables' own options so a rule reads like its
 * `iptables-save` line: `-s`, `-d`, `-i`, `-o`, `-p`, `-m ...`, `-j ...`.
 */

export type IptTableName = 'filter' | 'nat' | 'raw' | 'mangle';
/** The tables iptables knows, in either flavour. */
export const IPT_TABLES: readonly IptTableName[] = ['filter', 'nat', 'raw', 'mangle'];

/** A single port or an inclusive range `[first, last]`. */
export type IptPortRange = number | readonly [number, number];

export type IptProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'ipv6-icmp';

/** Address types of the `addrtype` match (iptables `--src-type` / `--dst-type`). */
export type IptAddrType =
  | 'UNSPEC' | 'UNICAST' | 'LOCAL' | 'BROADCAST' | 'ANYCAST' | 'MULTICAST'
  | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT' | 'THROW' | 'NAT' | 'XRESOLVE';

/** Conntrack states of the `conntrack` match (`--ctstate`). */
export type IptCtState = 'INVALID' | 'NEW' | 'RELATED' | 'ESTABLISHED' | 'UNTRACKED' | 'SNAT' | 'DNAT';

export type IptMatch =
  | {
      name: 'tcp' | 'udp' | 'sctp';
      sourcePort?: IptPortRange;
      sourcePortNegated?: boolean;
      destinationPort?: IptPortRange;
      destinationPortNegated?: boolean;
    }
  | {
      name: 'addrtype';
      sourceType?: IptAddrType;
      sourceTypeNegated?: boolean;
      destinationType?: IptAddrType;
      destinationTypeNegated?: boolean;
    }
  | { name: 'conntrack'; states: readonly IptCtState[]; statesNegated?: boolean }
  | { name: 'mark'; mark: number; mask?: number; negated?: boolean }
  | { name: 'comment'; comment: string };

export type IptTarget =
  | { name: 'ACCEPT' | 'DROP' | 'RETURN' }
  /** `-j CHAIN` (or `-g CHAIN` with `goto`). */
  | { name: 'jump'; chain: string; goto?: boolean }
  /** `--to-destination` / `--to-source`: an address and optionally a port or port range. */
  | { name: 'DNAT' | 'SNAT'; toAddress: string; toPort?: IptPortRange }
  | { name: 'MASQUERADE'; toPort?: IptPortRange };

export interface IptRule {
  /** `-s`: an address or a prefix, e.g. `192.168.0.0/24`; a bare address means /32 (/128). */
  source?: string;
  sourceNegated?: boolean;
  /** `-d` */
  destination?: string;
  destinationNegated?: boolean;
  /** `-i` */
  inInterface?: string;
  inInterfaceNegated?: boolean;
  /** `-o` */
  outInterface?: string;
  outInterfaceNegated?: boolean;
  /** `-p` */
  protocol?: IptProtocol;
  protocolNegated?: boolean;
  /** `-m ...`, in the order iptables prints them. */
  matches?: readonly IptMatch[];
  /** `-j ...` */
  target: IptTarget;
}
