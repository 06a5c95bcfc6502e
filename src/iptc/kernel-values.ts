/**
 * Numbers the kernel stores for the names of the rule model. Each table is
 * the single source for both encoding and decoding.
 */
import type { Family } from '../family';
import type { IptAddrType, IptCtState, IptProtocol } from './rule';
import { PROTOCOL_NUMBERS } from '../protocol';

/** The family each protocol name belongs to (none: both). */
const PROTOCOL_FAMILIES: Partial<Record<IptProtocol, Family>> = { icmp: 'ipv4', 'ipv6-icmp': 'ipv6' };

/** The protocols' IPPROTO_* numbers (src/protocol.ts), each with its family. */
export const PROTOCOLS: readonly { name: IptProtocol; number: number; family?: Family }[] = (
  Object.entries(PROTOCOL_NUMBERS) as [IptProtocol, number][]
).map(([name, number]) => ({ name, number, family: PROTOCOL_FAMILIES[name] }));

/** XT_ADDRTYPE_* from linux/netfilter/xt_addrtype.h: `1 << RTN_*`. */
export const ADDRESS_TYPES: readonly { name: IptAddrType; bit: number }[] = [
  'UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST',
  'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE',
].map((name, rtn) => ({ name: name as IptAddrType, bit: 1 << rtn }));

/**
 * XT_CONNTRACK_STATE_* from linux/netfilter/xt_conntrack.h (SNAT, DNAT and
 * UNTRACKED follow the IP_CT_NUMBER = 5 conntrack infos), in the order
 * iptables-save prints them (the canonical order of a decoded rule).
 */
export const CONNTRACK_STATES: readonly { name: IptCtState; bit: number }[] = [
  { name: 'INVALID', bit: 1 << 0 },
  { name: 'NEW', bit: 1 << 3 },
  { name: 'RELATED', bit: 1 << 2 },
  { name: 'ESTABLISHED', bit: 1 << 1 },
  { name: 'UNTRACKED', bit: 1 << 8 },
  { name: 'SNAT', bit: 1 << 6 },
  { name: 'DNAT', bit: 1 << 7 },
];

/** The mark match's mask when `--mark` is given without one. */
export const FULL_MARK_MASK = 0xffffffff;
