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
 * A chain's rules by their key (ruleKey): the rule that first took a key
 * alone, the rules of a key two share by text.
 */
type KeySlot = IptRule | Map<string, IptRule>;

interface Chain {
  builtin: boolean;
  userOwned: boolean;
  /** The head's rules in the order they were put there: the head reads them last first. */
  headAdded: IptRule[];
  tail: IptRule[];
  byKey: Map<number, KeySlot>;
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
    const key = ruleKey(rule);
    const slot = chain.byKey.get(key);
    if (slot === undefined) {
      chain.byKey.set(key, rule);
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
   * The rule of the chain's `slot` (its rules of `key`) that reads as
   * `rule`, or undefined after adding `rule` to the slot. Texts are compared
   * only between rules of one key: the bindings' rules of a plan each have a
   * key of their own in their chain, so most rules are never formatted while
   * planning (only where they are compared or shown).
   */
  private holding(chain: Chain, key: number, slot: KeySlot, rule: IptRule): IptRule | undefined {
    let byText = slot;
    if (!(byText instanceof Map)) {
      byText = new Map([[ruleText(this.family, byText), byText]]);
      chain.byKey.set(key, byText);
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
  return { builtin, userOwned, headAdded: [], tail: [], byKey: new Map() };
}

function remove(rules: IptRule[], rule: IptRule): void {
  const index = rules.indexOf(rule);
  if (index !== -1) rules.splice(index, 1);
}

/** For a rule without a port (the port part of the key of rules that have none). */
const NO_PORT = -1;
/** Values of a key's address part. */
const ADDRESS_KEYS = 8_192;

/**
 * A number rules that read alike share, found without formatting them: the
 * first port of the first port match's `--dport` (two rules print the same
 * only with the same), and the addresses the bindings' rules differ by,
 * `-d` and the NAT target's, each as printed up to its prefix length.
 * Under 2^30, so a small integer.
 */
function ruleKey(rule: IptRule): number {
  const target = rule.target;
  const toAddress = target.name === 'DNAT' || target.name === 'SNAT' ? target.toAddress : undefined;
  const addresses = (addressKey(rule.destination) * 31 + addressKey(toAddress)) & (ADDRESS_KEYS - 1);
  return (portOf(rule) - NO_PORT) * ADDRESS_KEYS + addresses;
}

/** The first port of the rule's first port match's `--dport`, or NO_PORT. */
function portOf(rule: IptRule): number {
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

/**
 * A hash of the address's last characters before its `/` (a bare address
 * prints with one: `-d 192.0.2.2` as `192.0.2.2/32`): where a bulk's
 * addresses differ.
 */
function addressKey(address: string | undefined): number {
  if (address === undefined) return 0;
  const slash = address.indexOf('/');
  const end = slash === -1 ? address.length : slash;
  let hash = 1;
  for (let i = Math.max(0, end - ADDRESS_TAIL); i < end; i++) hash = hash * 31 + address.charCodeAt(i);
  return hash;
}

/** Characters addressKey hashes: 4 of 31 fit a small integer, and tell apart the hosts of a /16. */
const ADDRESS_TAIL = 4;
