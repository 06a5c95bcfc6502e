/**
 * The libiptc operations that turn one table as read from the kernel into the
 * planned one. libiptc replaces the whole table in one commit, so the point is
 * not fewer bytes but leaving everything that is not ours exactly where it is,
 * and doing nothing at all when the table already matches.
 */
import type { IptcOperation } from '../../iptc/operation.js';
import type { Family } from '../../family.js';
import type { IptRule } from '../../iptc/rule.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { IptChain } from '../../iptc/table.js';
import { OWNED_CHAINS, type TableOwnership } from './ownership.js';
import type { ChainPlan, TablePlan } from '../../docker/iptables/ruleset.js';

/** A rule read back; undefined where the kernel holds one the model cannot express (never ours). */
type ReadRule = IptRule | undefined;

/** `owner` says which of the rules read are ours to move or delete. */
export function diffTable(family: Family, current: readonly IptChain[], desired: TablePlan, owner: TableOwnership): IptcOperation[] {
  const same = (a: ReadRule, b: IptRule) => a !== undefined && ruleText(family, a) === ruleText(family, b);
  const existing = new Map(current.map((chain) => [chain.name, chain]));
  const planned = new Map(desired.chains.map((chain) => [chain.name, chain]));

  const creates: IptcOperation[] = [];
  const fills: IptcOperation[] = [];
  const builtinEdits: IptcOperation[] = [];
  const removals: IptcOperation[] = [];

  for (const plan of desired.chains) {
    if (plan.builtin) continue;
    const chain = existing.get(plan.name);
    if (!chain) creates.push({ op: 'newChain', chain: plan.name });
    // The user's chain is created once and never rewritten.
    if (plan.userOwned) continue;
    // A chain shared with someone else's rules (a Docker daemon's DOCKER) is edited around them.
    if (chain && !chain.rules.every((entry) => owner.ownsRule(chain.name, entry.rule))) {
      fills.push(...diffAroundOthers(owner, chain, plan, same));
      continue;
    }
    const rules = [...plan.head, ...plan.tail];
    const edits = chain ? editSegment(plan.name, 0, readRules(chain), rules, same, true) : undefined;
    if (edits && edits.length <= rules.length) fills.push(...edits);
    else {
      // Rewritten whole when that takes fewer operations.
      if (chain && chain.rules.length > 0) fills.push({ op: 'flushChain', chain: plan.name });
      for (const rule of rules) fills.push({ op: 'append', chain: plan.name, rule });
    }
  }

  for (const chain of current) {
    if (chain.builtin) {
      // Appended one by one: a built-in chain may hold more rules than a call has arguments.
      for (const edit of diffAroundOthers(owner, chain, planned.get(chain.name), same)) builtinEdits.push(edit);
    } else if (planned.has(chain.name)) {
      continue;
    } else if (owner.mayDeleteChain(chain)) {
      // Flushed first, deleted after every jump to it is gone.
      fills.push({ op: 'flushChain', chain: chain.name });
      removals.push({ op: 'deleteChain', chain: chain.name });
    } else if (OWNED_CHAINS.has(chain.name)) {
      // Still in someone else's use: only our rules go.
      fills.push(...diffAroundOthers(owner, chain, undefined, same));
    }
  }
  for (const plan of desired.chains) {
    if (plan.builtin && !existing.has(plan.name)) {
      throw new Error(`built-in chain ${plan.name} is missing from table ${desired.name}`);
    }
  }
  return [...creates, ...fills, ...builtinEdits, ...removals];
}

type Same = (a: ReadRule, b: IptRule) => boolean;

/**
 * The operations that turn the rules at `offset` to `offset + current.length`
 * of a chain into `planned`, where what comes after them does not move
 * first: what both start and end with stays, the rest between is deleted and
 * inserted. Publishing or unpublishing one port among thousands is then one
 * or two operations, not the chain rewritten. Rules that go to the end of the
 * chain (`atEnd`: the segment ends the chain) are appended, since libiptc
 * walks the chain to find an insert's position.
 */
function editSegment(
  chain: string, offset: number, current: readonly ReadRule[], planned: readonly IptRule[], same: Same, atEnd: boolean,
): IptcOperation[] {
  let prefix = 0;
  while (prefix < current.length && prefix < planned.length && same(current[prefix], planned[prefix]!)) prefix++;
  let suffix = 0;
  while (suffix < current.length - prefix && suffix < planned.length - prefix &&
    same(current[current.length - 1 - suffix], planned[planned.length - 1 - suffix]!)) suffix++;
  const operations: IptcOperation[] = [];
  for (let index = current.length - suffix - 1; index >= prefix; index--) operations.push({ op: 'deleteAt', chain, index: offset + index });
  const append = atEnd && suffix === 0;
  for (let index = prefix; index < planned.length - suffix; index++) {
    const rule = planned[index]!;
    operations.push(append ? { op: 'append', chain, rule } : { op: 'insert', chain, index: offset + index, rule });
  }
  return operations;
}

/**
 * Our rules in a built-in chain (or one shared with another manager) sit at
 * its head (Docker's inserts) and tail (its appends) around anyone else's.
 * When ours already read as planned, nothing changes; when they are where
 * they belong, only what differs is edited, the tail first so that the
 * head's positions hold; otherwise ours are taken out and put back in order.
 */
function diffAroundOthers(owner: TableOwnership, chain: IptChain, plan: ChainPlan | undefined, same: Same): IptcOperation[] {
  const rules = readRules(chain);
  const owned = rules.map((rule) => owner.ownsRule(chain.name, rule));
  const head = plan?.head ?? [];
  const tail = plan?.tail ?? [];
  const firstForeign = owned.indexOf(false);
  if (firstForeign === -1) return editSegment(chain.name, 0, rules, [...head, ...tail], same, true);
  // Ours already in planned order, whoever's rules came in between since (a Docker daemon appending to a shared chain).
  if (inPlannedOrder(rules.filter((_, index) => owned[index]), [...head, ...tail], same)) return [];
  const tailStart = owned.indexOf(true, firstForeign);
  const tailIsContiguous = tailStart === -1 || owned.indexOf(false, tailStart) === -1;
  if (tailIsContiguous) {
    const end = tailStart === -1 ? rules.length : tailStart;
    return [
      ...editSegment(chain.name, end, rules.slice(end), tail, same, true),
      ...editSegment(chain.name, 0, rules.slice(0, firstForeign), head, same, false),
    ];
  }
  const operations: IptcOperation[] = [];
  for (let index = rules.length - 1; index >= 0; index--) {
    if (owned[index]) operations.push({ op: 'deleteAt', chain: chain.name, index });
  }
  head.forEach((rule, index) => operations.push({ op: 'insert', chain: chain.name, index, rule }));
  for (const rule of tail) operations.push({ op: 'append', chain: chain.name, rule });
  return operations;
}

function inPlannedOrder(ours: readonly ReadRule[], planned: readonly IptRule[], same: Same): boolean {
  return ours.length === planned.length && ours.every((rule, index) => same(rule, planned[index]!));
}

function readRules(chain: IptChain): ReadRule[] {
  return chain.rules.map((entry) => entry.rule);
}
