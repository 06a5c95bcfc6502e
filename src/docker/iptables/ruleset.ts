/**
 * An in-memory iptables ruleset for one family that behaves like Docker's
 * iptables helpers as the plan replays them: rules are added only if missing
 * (`Rule.Append`, `Rule.Insert`), and jumps can be moved to the head
 * (`EnsureJumpRule`). Nothing is ever removed from it: a change is planned as
 * the whole ruleset before and after it (see backends/iptables/merge.ts).
 *
 * Rules inserted at the head of a chain always precede appended ones, so a
 * chain is `head` then `tail`; in a built-in chain, rules that are not ours
 * sit between the two.
 */
import { BUILTIN_CHAINS, compareChains } from '../../iptc/format.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { Family } from '../../family.js';
import type { IptRule, IptTableName } from '../../iptc/rule.js';

/** How a rule is added, named after Docker's helpers. */
export type Placement =
  /** `Rule.Append`: at the end, unless already present. */
  | 'append'
  /** `Rule.Insert`: at the head, unless already present anywhere. */
  | 'insert'
  /** `EnsureJumpRule`: moved to (or inserted at) the head, even when present. */
  | 'first';

/** The tables Docker uses, in the order their saves are concatenated. */
export const PLANNED_TABLES: readonly IptTableName[] = ['raw', 'filter', 'nat'];

export interface ChainPlan {
  name: string;
  builtin: boolean;
  /** The chain belongs to the user (DOCKER-USER): create it if missing, never flush or delete it. */
  userOwned: boolean;
  /** Rules above any foreign ones (inserted at the head by Docker). */
  head: IptRule[];
  /** Rules below any foreign ones (appended by Docker). */
  tail: IptRule[];
}

export interface TablePlan {
  name: IptTableName;
  /** Built-in chains with rules of ours, and every chain we own, user chains by name. */
  chains: ChainPlan[];
}

interface Entry {
  rule: IptRule;
  atHead: boolean;
  previous: Entry | undefined;
  next: Entry | undefined;
}

/**
 * A chain's entries by their rule's destination port (portKey), the rule
 * that first took a port alone, the rules of a port two share by text.
 */
type PortSlot = Entry | Map<string, Entry>;

interface Chain {
  builtin: boolean;
  userOwned: boolean;
  first: Entry | undefined;
  last: Entry | undefined;
  byPort: Map<number, PortSlot>;
}

export class IptablesRuleset {
  private readonly tables = new Map<IptTableName, Map<string, Chain>>();

  constructor(readonly family: Family) {}

  /** Creates a chain if missing (Docker's `NewChain`); `userOwned` chains are never removed. */
  ensureChain(table: IptTableName, name: string, userOwned = false): void {
    const chains = this.chainsOf(table);
    if (!chains.has(name)) chains.set(name, newChain(false, userOwned));
  }

  add(table: IptTableName, chainName: string, rule: IptRule, placement: Placement): void {
    const chain = this.chain(table, chainName);
    const existing = this.find(chain, rule);
    if (existing) {
      if (placement !== 'first') return;
      unlink(chain, existing);
    }
    const entry = existing ?? this.index(chain, rule);
    if (placement === 'append') linkLast(chain, entry);
    else linkFirst(chain, entry);
  }

  /**
   * The entry of the chain's rule that reads as `rule`. Texts are compared
   * only between rules of one destination port: the bindings' rules of a
   * plan each have a port of their own in their chain, so most rules are
   * never formatted while planning (only where they are compared or shown).
   */
  private find(chain: Chain, rule: IptRule): Entry | undefined {
    const slot = chain.byPort.get(portKey(rule));
    if (slot === undefined) return undefined;
    const text = ruleText(this.family, rule);
    if (slot instanceof Map) return slot.get(text);
    return ruleText(this.family, slot.rule) === text ? slot : undefined;
  }

  /** A new entry for `rule`, which the chain does not hold. */
  private index(chain: Chain, rule: IptRule): Entry {
    const entry: Entry = { rule, atHead: false, previous: undefined, next: undefined };
    const key = portKey(rule);
    const slot = chain.byPort.get(key);
    if (slot === undefined) chain.byPort.set(key, entry);
    else if (slot instanceof Map) slot.set(ruleText(this.family, rule), entry);
    else {
      chain.byPort.set(key, new Map([[ruleText(this.family, slot.rule), slot], [ruleText(this.family, rule), entry]]));
    }
    return entry;
  }

  /** The rules and chains of `table`: built-in chains (when they hold rules of ours) in hook order, then ours by name. */
  table(table: IptTableName): TablePlan {
    const chains: ChainPlan[] = [];
    for (const [name, chain] of this.tables.get(table) ?? []) {
      if (chain.builtin && chain.first === undefined) continue;
      const plan: ChainPlan = { name, builtin: chain.builtin, userOwned: chain.userOwned, head: [], tail: [] };
      for (let entry = chain.first; entry; entry = entry.next) (entry.atHead ? plan.head : plan.tail).push(entry.rule);
      chains.push(plan);
    }
    chains.sort((a, b) => compareChains(table, a.name, b.name));
    return { name: table, chains };
  }

  private chain(table: IptTableName, name: string): Chain {
    const chains = this.chainsOf(table);
    let chain = chains.get(name);
    if (!chain) {
      if (!BUILTIN_CHAINS[table].includes(name)) throw new Error(`No chain ${name} in table ${table}`);
      chain = newChain(true, false);
      chains.set(name, chain);
    }
    return chain;
  }

  private chainsOf(table: IptTableName): Map<string, Chain> {
    let chains = this.tables.get(table);
    if (!chains) {
      chains = new Map();
      this.tables.set(table, chains);
    }
    return chains;
  }
}

function newChain(builtin: boolean, userOwned: boolean): Chain {
  return { builtin, userOwned, first: undefined, last: undefined, byPort: new Map() };
}

/** For a rule without a port (the key of rules that have none). */
const NO_PORT = -1;

/**
 * The first port of the rule's first port match's `--dport`, or NO_PORT: a
 * number rules that read alike share (two rules print the same only with the
 * same `--dport`), found without formatting the rule.
 */
function portKey(rule: IptRule): number {
  const matches = rule.matches;
  if (matches === undefined) return NO_PORT;
  for (let i = 0; i < matches.length; i++) {
    const match = matches[i]!;
    if (match.name === 'tcp' || match.name === 'udp' || match.name === 'sctp') {
      const port = match.destinationPort;
      return port === undefined ? NO_PORT : typeof port === 'number' ? port : port[0];
    }
  }
  return NO_PORT;
}

function linkFirst(chain: Chain, entry: Entry): void {
  entry.atHead = true;
  entry.previous = undefined;
  entry.next = chain.first;
  if (chain.first) chain.first.previous = entry;
  else chain.last = entry;
  chain.first = entry;
}

function linkLast(chain: Chain, entry: Entry): void {
  entry.atHead = false;
  entry.next = undefined;
  entry.previous = chain.last;
  if (chain.last) chain.last.next = entry;
  else chain.first = entry;
  chain.last = entry;
}

function unlink(chain: Chain, entry: Entry): void {
  if (entry.previous) entry.previous.next = entry.next;
  else chain.first = entry.next;
  if (entry.next) entry.next.previous = entry.previous;
  else chain.last = entry.previous;
  entry.previous = undefined;
  entry.next = undefined;
}
