/**
 * Our tables as `show` gives them as data (../shown.ts): everything in them
 * is ours except the rules of the user's chain.
 */
import { formatExprs } from '../../nft/format.js';
import { countersOf, type ShownChain, type ShownFamily, type ShownSet } from '../shown.js';
import { verdictText } from './elements.js';
import type { ChainImage, RuleImage, SetImage, TableImage } from './image.js';

export function shownTable(table: TableImage): ShownFamily {
  const family = table.family === 'ip6' ? 'ip6' : 'ip';
  return {
    family: family === 'ip6' ? 'ipv6' : 'ipv4',
    tables: [{
      name: table.name,
      chains: [...table.chains.values()].map((chain) => shownChain(family, chain)),
      sets: [...table.sets.values()].map(shownSet),
    }],
  };
}

/** A rule as `nft list` prints it, counter and comment included. */
export function ruleLine(family: 'ip' | 'ip6', rule: RuleImage): string {
  return `${formatExprs(family, rule.exprs)}${rule.comment === undefined ? '' : ` comment ${JSON.stringify(rule.comment)}`}`;
}

function shownChain(family: 'ip' | 'ip6', chain: ChainImage): ShownChain {
  return {
    name: chain.name,
    owner: chain.userOwned ? 'user' : 'bridgewall',
    ...(chain.base ? { base: { hook: chain.base.hook, policy: chain.base.policy, type: chain.base.type, priority: chain.base.priority } } : {}),
    rules: chain.rules.map((rule) => {
      const counter = rule.exprs.find((expr) => expr.type === 'counter');
      return {
        owner: chain.userOwned ? 'user' : 'bridgewall',
        text: ruleLine(family, rule),
        ...countersOf(counter && { packets: counter.packets as number | bigint, bytes: counter.bytes as number | bigint }),
      };
    }),
  };
}

function shownSet(set: SetImage): ShownSet {
  return {
    name: set.name,
    owner: 'bridgewall',
    kind: set.data === undefined ? 'set' : 'map',
    key: [...set.key],
    ...(set.data === undefined ? {} : { data: set.data === 'verdict' ? 'verdict' : [...set.data] }),
    counter: set.counter === true,
    elements: [...set.elements.map].map(([key, element]) => {
      const value = element.verdict ? verdictText(element.verdict) : element.valueText;
      return { key, ...(value === undefined ? {} : { value }), ...countersOf(element.counter) };
    }),
  };
}
