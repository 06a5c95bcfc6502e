/**
 * What `show` reads back, as data, in one form for every backend: per family,
 * the tables with their chains and rules (and, in nftables, sets and maps with
 * their elements), each marked with whose it is. schema/show.json describes
 * it as JSON; counters are plain numbers (exact up to 2^53).
 */
import type { Family } from '../family.js';
import type { IptRule } from '../iptc/rule.js';

/**
 * Whose a chain, rule, set or element is: `bridgewall`'s own; the `user`'s
 * (rules in the user's chain, DOCKER-USER, which bridgewall never touches);
 * or `other`, someone else's (a Docker daemon's, another tool's, the built-in
 * chains of an iptables table).
 */
export type Owner = 'bridgewall' | 'user' | 'other';

export interface ShownFamily {
  family: Family;
  tables: ShownTable[];
}

export interface ShownTable {
  /** iptables: `raw`, `filter`, `nat`; nftables: `bridgewall` (in family `ip` or `ip6`). */
  name: string;
  chains: ShownChain[];
  /** nftables' sets and maps; none in iptables. */
  sets: ShownSet[];
}

export interface ShownChain {
  name: string;
  owner: Owner;
  /** A base chain (iptables: a built-in one): where it hooks in and its policy. */
  base?: ShownBase;
  rules: ShownRule[];
}

export interface ShownBase {
  hook: string;
  policy: 'accept' | 'drop';
  /** nftables: the chain type (`filter`, `nat`) and priority. */
  type?: string;
  priority?: number;
  /** iptables: what the policy counted. */
  packets?: number;
  bytes?: number;
}

export interface ShownRule {
  owner: Owner;
  /** As the native tool prints it: iptables-save's words after `-A CHAIN`, or the nft rule line. Absent when bridgewall could not read the rule (`unsupported`). */
  text?: string;
  /** iptables flavours: the rule as bridgewall's rule model (`IptRule`). */
  rule?: IptRule;
  /** Why bridgewall could not read the rule (a match or target it does not model): never one of its own. */
  unsupported?: string;
  /** What the rule counted (iptables: every rule; nftables: rules with a counter). */
  packets?: number;
  bytes?: number;
}

export interface ShownSet {
  name: string;
  owner: Owner;
  /** `set` (keys only) or `map` (a value per key). */
  kind: 'set' | 'map';
  /** The key's nft types, concatenated in order (`inet_proto . inet_service`). */
  key: string[];
  /** A map's value type: nft types, or `verdict`. */
  data?: string[] | 'verdict';
  /** Each element counts what matched it. */
  counter: boolean;
  elements: ShownElement[];
}

export interface ShownElement {
  /** The key as nft prints it (`tcp . 8080`). */
  key: string;
  /** A map's value as nft prints it (`198.18.1.2 . 80`, `jump filter-forward__br0`). */
  value?: string;
  packets?: number;
  bytes?: number;
}

/** Counters as JSON numbers. */
export function countersOf(counter: { packets: bigint | number; bytes: bigint | number } | undefined): { packets?: number; bytes?: number } {
  return counter === undefined ? {} : { packets: Number(counter.packets), bytes: Number(counter.bytes) };
}
