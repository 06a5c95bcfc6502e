/**
 * Per-binding counters from Docker's iptables rules: each binding's DNAT rule
 * (nat DOCKER) and its forward ACCEPT (filter DOCKER), as the planner writes
 * them for the binding, found by their text among the rules read back with
 * their counters. How the rules were read (libiptc entries, iptables-nft's
 * nftables rules) is the caller's: this needs the rules and their counters.
 */
import { ruleText } from '../../iptc/rule-text.js';
import type { Family } from '../../family.js';
import type { IptRule, IptTableName } from '../../iptc/rule.js';
import { countBindings, type BindingCounters, type CountedBinding, type PacketCounter } from '../../backends/counters.js';
import type { FirewallModel } from '../model.js';
import { bindingRules, CHAIN } from './rules.js';

/** A rule read back with its counters; `rule` absent when it could not be modelled (never one of ours). */
export interface CountedRule {
  rule?: IptRule;
  packets: bigint;
  bytes: bigint;
}

export interface CountedChain {
  name: string;
  rules: readonly CountedRule[];
}

/** The tables the counted rules are in: read these (those that exist) for `bindingCounters`. */
export const COUNTED_TABLES: readonly IptTableName[] = ['nat', 'filter'];

/** A family's table as read; undefined or empty when it does not exist. */
export type CountedTables = (family: Family, table: IptTableName) => readonly CountedChain[] | undefined;

/** Every binding of the model, with the counters of its rules found in `tables`. */
export function bindingCounters(model: FirewallModel, tables: CountedTables): BindingCounters[] {
  const finders = new Map<Family, CounterFinder>();
  return countBindings(model, (family, network, binding) => {
    let find = finders.get(family);
    if (find === undefined) finders.set(family, find = counterFinder(family, tables));
    const counted: CountedBinding = {};
    for (const change of bindingRules(network, binding)) {
      const counter = change.chain === CHAIN.docker ? find(change.table, change.chain, change.rule) : undefined;
      if (counter === undefined) continue;
      if (change.table === 'nat') counted.dnat = counter;
      else counted.forwarded = counter;
    }
    return counted;
  });
}

type CounterFinder = (table: IptTableName, chain: string, rule: IptRule) => PacketCounter | undefined;

/** Finds a rule's counters by its text: the first such rule of the chain is the one packets meet. */
function counterFinder(family: Family, tables: CountedTables): CounterFinder {
  const indexes = new Map<string, Map<string, PacketCounter>>();
  const indexOf = (table: IptTableName, chain: string): Map<string, PacketCounter> => {
    const id = `${table} ${chain}`;
    let index = indexes.get(id);
    if (index === undefined) {
      index = new Map();
      for (const counted of tables(family, table)?.find((c) => c.name === chain)?.rules ?? []) {
        if (counted.rule === undefined) continue;
        const text = ruleText(family, counted.rule);
        if (!index.has(text)) index.set(text, { packets: counted.packets, bytes: counted.bytes });
      }
      indexes.set(id, index);
    }
    return index;
  };
  return (table, chain, rule) => indexOf(table, chain).get(ruleText(family, rule));
}
