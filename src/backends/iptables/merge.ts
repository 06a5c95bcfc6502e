/**
 * An imperative change applied on top of what the kernel holds rather than
 * by rewriting it, so that processes editing one namespace add up instead of
 * undoing each other (Docker's own incremental semantics): the rules the change
 * drops are deleted, the rules it needs are added unless present, and every
 * other rule, whoever wrote it, stays where it is; what another writer's
 * mappings hold or need stays theirs (port-holders.ts). Chains the change releases
 * go; other chains of ours stay.
 *
 * An added rule goes where the plan puts it: before the next planned rule the
 * kernel holds, or after the last of them. A process making its changes one by
 * one therefore ends with the rules in the order one declarative apply of its
 * spec would write, which then finds nothing to change.
 */
import { OWNED_CHAINS, type TableOwnership } from './ownership.js';
import type { ChainPlan, TablePlan } from '../../docker/iptables/ruleset.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { Family } from '../../family.js';
import type { IptRule } from '../../iptc/rule.js';
import type { IptChain } from '../../iptc/table.js';
import type { PortHolders } from './port-holders.js';

/** The table `current` becomes when the change from `before` to `after` is made on it; `owner` says which rules read are ours. */
export function mergeTable(
  family: Family, current: readonly IptChain[], before: TablePlan, after: TablePlan, owner: TableOwnership, ports: PortHolders,
): TablePlan {
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
    const dropped = new Set(rulesOf(was).filter((rule) => !kept.has(text(rule)) && !ports.needs(rule)).map(text));
    const wanted = (rules: readonly IptRule[]) => rules.filter((rule) => !ports.yields(rule));
    const { head, tail, divided } = ours(owner, kernel);
    const keptHead = head.filter((rule) => !dropped.has(text(rule)));
    const keptTail = tail.filter((rule) => !dropped.has(text(rule)));
    const present = new Set([...keptHead, ...keptTail].map(text));
    const chain: ChainPlan = {
      name,
      builtin,
      userOwned: will?.userOwned ?? was?.userOwned ?? false,
      ...(divided
        ? { head: placeMissing(keptHead, wanted(will?.head ?? []), present, text), tail: placeMissing(keptTail, wanted(will?.tail ?? []), present, text) }
        : { head: [], tail: placeMissing([...keptHead, ...keptTail], wanted(rulesOf(will)), present, text) }),
    };
    if (!builtin || chain.head.length + chain.tail.length > 0) chains.push(chain);
  }
  return { name: after.name, chains };
}

/**
 * `kept` with each rule of `planned` that the kernel holds nowhere
 * (`present`) placed before the next planned rule `kept` holds, or at the end.
 */
function placeMissing(kept: readonly IptRule[], planned: readonly IptRule[], present: ReadonlySet<string>, text: (rule: IptRule) => string): IptRule[] {
  const inKept = new Set(kept.map(text));
  // Built back to front, so each group is reversed when placed.
  const before = new Map<string, IptRule[]>();
  const atEnd: IptRule[] = [];
  let anchor: string | undefined;
  for (let index = planned.length - 1; index >= 0; index--) {
    const rule = planned[index]!;
    const ruleText = text(rule);
    if (inKept.has(ruleText)) anchor = ruleText;
    else if (!present.has(ruleText)) {
      if (anchor === undefined) atEnd.push(rule);
      else if (before.has(anchor)) before.get(anchor)!.push(rule);
      else before.set(anchor, [rule]);
    }
  }
  if (before.size === 0 && atEnd.length === 0) return [...kept];
  const placed: IptRule[] = [];
  for (const rule of kept) {
    const group = before.get(text(rule));
    if (group) placed.push(...group.reverse());
    placed.push(rule);
  }
  placed.push(...atEnd.reverse());
  return placed;
}

function rulesOf(chain: ChainPlan | undefined): IptRule[] {
  return chain ? [...chain.head, ...chain.tail] : [];
}

/**
 * Our rules in a chain as the kernel holds them: in a chain that holds
 * anyone else's (`divided`), those above them (head) and those below (tail);
 * otherwise all of them, as the tail.
 */
function ours(owner: TableOwnership, chain: IptChain | undefined): { head: IptRule[]; tail: IptRule[]; divided: boolean } {
  const rules = (chain?.rules ?? []).map((entry) => entry.rule);
  if (!chain) return { head: [], tail: [], divided: false };
  const owned = rules.map((rule) => owner.ownsRule(chain.name, rule));
  const firstForeign = owned.indexOf(false);
  if (firstForeign === -1) return { head: [], tail: rules as IptRule[], divided: false };
  return {
    head: rules.slice(0, firstForeign) as IptRule[],
    tail: rules.slice(firstForeign).filter((_, i) => owned[firstForeign + i]) as IptRule[],
    divided: true,
  };
}
