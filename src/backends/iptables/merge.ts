/**
 * An imperative change applied on top of what the kernel holds rather than
 * by rewriting it, so that processes editing one namespace add up instead of
 * undoing each other (Docker's own incremental semantics): the rules the change
 * drops are deleted, the rules it needs are inserted at the head or appended
 * at the tail unless present, and every other rule, whoever wrote it, stays
 * where it is. Chains the change releases go; other chains of ours stay.
 */
import { OWNED_CHAINS, isOwnedRule } from '../../docker/iptables/ownership.js';
import type { ChainPlan, TablePlan } from '../../docker/iptables/ruleset.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { IptFamily, IptRule } from '../../iptc/rule.js';
import type { IptChain } from '../../iptc/table.js';

/** The table `current` becomes when the change from `before` to `after` is made on it. */
export function mergeTable(family: IptFamily, current: readonly IptChain[], before: TablePlan, after: TablePlan): TablePlan {
  const text = (rule: IptRule) => ruleText(family, rule);
  const beforeChains = new Map(before.chains.map((chain) => [chain.name, chain]));
  const afterChains = new Map(after.chains.map((chain) => [chain.name, chain]));
  const currentChains = new Map(current.map((chain) => [chain.name, chain]));
  const names = new Set([
    ...after.chains.map((chain) => chain.name),
    ...current.filter((chain) => chain.builtin || OWNED_CHAINS.has(chain.name)).map((chain) => chain.name),
  ]);

  const chains: ChainPlan[] = [];
  for (const name of names) {
    const was = beforeChains.get(name);
    const will = afterChains.get(name);
    const kernel = currentChains.get(name);
    const builtin = kernel?.builtin ?? will!.builtin;
    if (!builtin && was && !will) continue;
    const kept = new Set(rulesOf(will).map(text));
    const dropped = new Set(rulesOf(was).map(text).filter((rule) => !kept.has(rule)));
    const { head, tail } = ours(family, after.name, kernel);
    const keptHead = head.filter((rule) => !dropped.has(text(rule)));
    const keptTail = tail.filter((rule) => !dropped.has(text(rule)));
    const present = new Set([...keptHead, ...keptTail].map(text));
    const missing = (rules: readonly IptRule[]) => rules.filter((rule) => !present.has(text(rule)));
    const chain: ChainPlan = {
      name,
      builtin,
      userOwned: will?.userOwned ?? was?.userOwned ?? false,
      head: [...missing(will?.head ?? []), ...keptHead],
      tail: [...keptTail, ...missing(will?.tail ?? [])],
    };
    if (!builtin || chain.head.length + chain.tail.length > 0) chains.push(chain);
  }
  return { name: after.name, chains };
}

function rulesOf(chain: ChainPlan | undefined): IptRule[] {
  return chain ? [...chain.head, ...chain.tail] : [];
}

/**
 * Our rules in a chain as the kernel holds them: in a built-in chain, those
 * above anyone else's (head) and those below (tail); in our own chains, all.
 */
function ours(family: IptFamily, table: TablePlan['name'], chain: IptChain | undefined): { head: IptRule[]; tail: IptRule[] } {
  const rules = (chain?.rules ?? []).map((entry) => entry.rule);
  if (!chain?.builtin) return { head: [], tail: rules.filter((rule) => rule !== undefined) };
  const owned = rules.map((rule) => rule !== undefined && isOwnedRule(family, table, rule));
  const firstForeign = owned.indexOf(false);
  const headCount = firstForeign === -1 ? rules.length : firstForeign;
  return {
    head: rules.slice(0, headCount) as IptRule[],
    tail: rules.slice(headCount).filter((_, i) => owned[headCount + i]) as IptRule[],
  };
}
