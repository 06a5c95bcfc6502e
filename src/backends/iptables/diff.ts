/**
 * The libiptc operations that turn one table as read from the kernel into the
 * planned one. libiptc replaces the whole table in one commit, so the point is
 * not fewer bytes but leaving everything that is not ours exactly where it is,
 * and doing nothing at all when the table already matches.
 */
import type { IptcOperation } from '../../iptc/operation.js';
import type { IptFamily, IptRule, IptTableName } from '../../iptc/rule.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { IptChain } from '../../iptc/table.js';
import { isOwnedRule, OWNED_CHAINS } from '../../docker/iptables/ownership.js';
import type { ChainPlan, TablePlan } from '../../docker/iptables/ruleset.js';

/** A rule read back; undefined where the kernel holds one the model cannot express (never ours). */
type ReadRule = IptRule | undefined;
type SameRules = (a: readonly ReadRule[], b: readonly IptRule[]) => boolean;

export function diffTable(family: IptFamily, current: readonly IptChain[], desired: TablePlan): IptcOperation[] {
  const sameRules: SameRules = (a, b) =>
    a.length === b.length && a.every((rule, i) => rule !== undefined && ruleText(family, rule) === ruleText(family, b[i]!));
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
    const rules = [...plan.head, ...plan.tail];
    if (chain && sameRules(readRules(chain), rules)) continue;
    if (chain && chain.rules.length > 0) fills.push({ op: 'flushChain', chain: plan.name });
    for (const rule of rules) fills.push({ op: 'append', chain: plan.name, rule });
  }

  for (const chain of current) {
    if (chain.builtin) {
      // Appended one by one: a built-in chain may hold more rules than a call has arguments.
      for (const edit of diffBuiltin(family, desired.name, chain, planned.get(chain.name), sameRules)) builtinEdits.push(edit);
    } else if (OWNED_CHAINS.has(chain.name) && !planned.has(chain.name)) {
      // Flushed first, deleted after every jump to it is gone.
      fills.push({ op: 'flushChain', chain: chain.name });
      removals.push({ op: 'deleteChain', chain: chain.name });
    }
  }
  for (const plan of desired.chains) {
    if (plan.builtin && !existing.has(plan.name)) {
      throw new Error(`built-in chain ${plan.name} is missing from table ${desired.name}`);
    }
  }
  return [...creates, ...fills, ...builtinEdits, ...removals];
}

/**
 * Our rules in a built-in chain sit at its head (Docker's inserts) and tail
 * (its appends) around anyone else's. When ours already read as planned,
 * nothing changes; otherwise ours are taken out and put back in order.
 */
function diffBuiltin(
  family: IptFamily,
  table: IptTableName,
  chain: IptChain,
  plan: ChainPlan | undefined,
  sameRules: SameRules,
): IptcOperation[] {
  const rules = readRules(chain);
  const owned = rules.map((rule) => rule !== undefined && isOwnedRule(family, table, rule));
  const head = plan?.head ?? [];
  const tail = plan?.tail ?? [];
  const firstForeign = owned.indexOf(false);
  const headCount = firstForeign === -1 ? rules.length : firstForeign;
  const currentHead = rules.slice(0, headCount);
  const currentTail = rules.slice(headCount).filter((_, i) => owned[headCount + i]);
  const tailIsContiguous = owned.slice(headCount).every((mine, i, all) => !mine || all.slice(i).every(Boolean));
  if (firstForeign === -1) {
    if (sameRules(rules, [...head, ...tail])) return [];
  } else if (tailIsContiguous && sameRules(currentHead, head) && sameRules(currentTail, tail)) {
    return [];
  }
  const operations: IptcOperation[] = [];
  for (let index = rules.length - 1; index >= 0; index--) {
    if (owned[index]) operations.push({ op: 'deleteAt', chain: chain.name, index });
  }
  head.forEach((rule, index) => operations.push({ op: 'insert', chain: chain.name, index, rule }));
  for (const rule of tail) operations.push({ op: 'append', chain: chain.name, rule });
  return operations;
}

function readRules(chain: IptChain): ReadRule[] {
  return chain.rules.map((entry) => entry.rule);
}
