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

/**
 * A chain's rules by their destination port (portKey): the rule that first
 * took a port alone, the rules of a port two share by text.
 */
type PortSlot = IptRule | Map<string, IptRule>;

interface Chain {
  builtin: boolean;
  userOwned: boolean;
  /** The head's rules in the order they were put there: the head reads them last first. */
  headAdded: IptRule[];
  tail: IptRule[];
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
    const key = portKey(rule);
    const slot = chain.byPort.get(key);
    if (slot === undefined) {
      chain.byPort.set(key, rule);
    } else {
      const existing = this.holding(chain, key, slot, rule);
      if (existing) {
        if (placement !== 'first') return;
        // Moved: Docker's EnsureJumpRule, a few jumps in short chains.
        remove(chain.headAdded, existing);
        remove(chain.tail, existing);
        chain.headAdded.push(existing);
        return;
      }
    }
    if (placement === 'append') chain.tail.push(rule);
    else chain.headAdded.push(rule);
  }

  /**
   * The rule of the chain's `slot` (its rules of port `key`) that reads as
   * `rule`, or undefined after adding `rule` to the slot. Texts are compared
   * only between rules of one destination port: the bindings' rules of a
   * plan each have a port of their own in their chain, so most rules are
   * never formatted while planning (only where they are compared or shown).
   */
  private holding(chain: Chain, key: number, slot: PortSlot, rule: IptRule): IptRule | undefined {
    let byText = slot;
    if (!(byText instanceof Map)) {
      byText = new Map([[ruleText(this.family, byText), byText]]);
      chain.byPort.set(key, byText);
    }
    const text = ruleText(this.family, rule);
    const existing = byText.get(text);
    if (existing === undefined) byText.set(text, rule);
    return existing;
  }

  /** The rules and chains of `table`: built-in chains (when they hold rules of ours) in hook order, then ours by name. */
  table(table: IptTableName): TablePlan {
    const chains: ChainPlan[] = [];
    for (const [name, chain] of this.tables.get(table) ?? []) {
      if (chain.builtin && chain.headAdded.length + chain.tail.length === 0) continue;
      chains.push({ name, builtin: chain.builtin, userOwned: chain.userOwned, head: chain.headAdded.slice().reverse(), tail: chain.tail.slice() });
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
  return { builtin, userOwned, headAdded: [], tail: [], byPort: new Map() };
}

function remove(rules: IptRule[], rule: IptRule): void {
  const index = rules.indexOf(rule);
  if (index !== -1) rules.splice(index, 1);
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
