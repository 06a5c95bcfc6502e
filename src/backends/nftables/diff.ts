/**
 * The operations that turn one of our tables as it is into the table as
 * planned, in an order the kernel accepts within one transaction: rules are
 * flushed before the sets and chains they reference go, elements before the
 * chains they jump to, and new sets and chains come before what uses them.
 *
 * Port mappings are elements, so publishing or removing ports is element
 * additions and deletions only; a chain is rewritten only when its own rules
 * differ, and the user's chain never is.
 */
import { NO_KEY, otherValue } from '../../nft/elements.js';
import type { ChainImage, SetImage, TableImage } from './image.js';
import type { SetElements } from './set-elements.js';
import type { Transaction } from './transaction.js';

/** Records in `tx` what makes `current` (null: no such table) equal to `desired`. */
export function diffTable(tx: Transaction, current: TableImage | null, desired: TableImage): void {
  if (current === null) {
    tx.addTable(desired);
    current = { ...desired, chains: new Map(), sets: new Map() };
  }
  const changedSets = [...desired.sets.values()].filter((set) => {
    const existing = current!.sets.get(set.name);
    return existing !== undefined && !sameDeclaration(existing, set);
  });
  // A set redeclared must be unbound first: every rule is written again.
  const rewriteAll = changedSets.length > 0;
  const changedBases = [...desired.chains.values()].filter((chain) => {
    const existing = current!.chains.get(chain.name);
    return existing !== undefined && !sameBase(existing, chain);
  });

  const refills: ChainImage[] = [];
  for (const chain of desired.chains.values()) {
    if (chain.userOwned) continue;
    const existing = current.chains.get(chain.name);
    if (existing && !rewriteAll && !changedBases.includes(chain) && sameRules(existing, chain)) continue;
    if (existing && existing.rules.length > 0) tx.flushChain(current, chain.name);
    refills.push(chain);
  }
  const removedChains = [...current.chains.values()].filter((chain) => !desired.chains.has(chain.name));
  for (const chain of removedChains) if (chain.rules.length > 0) tx.flushChain(current, chain.name);

  const additions: [SetImage, SetElements][] = [];
  for (const set of desired.sets.values()) {
    const existing = current.sets.get(set.name);
    if (!existing || changedSets.includes(set)) {
      additions.push([set, set.elements]);
      continue;
    }
    const { added, removed } = diffElements(existing.elements, set.elements);
    tx.deleteElements(current, existing, removed);
    additions.push([set, added]);
  }
  const removedSets = [...current.sets.values()].filter((set) => !desired.sets.has(set.name) || changedSets.some((s) => s.name === set.name));
  for (const set of removedSets) tx.deleteSet(current, set);
  for (const chain of [...removedChains, ...changedBases]) tx.deleteChain(current, chain.name);

  for (const set of desired.sets.values()) if (!current.sets.has(set.name) || changedSets.includes(set)) tx.addSet(desired, set);
  for (const chain of desired.chains.values()) {
    if (!current.chains.has(chain.name) || changedBases.includes(chain)) tx.addChain(desired, chain.name, chain.base);
  }
  for (const [set, elements] of additions) tx.addElements(desired, set, elements);
  for (const chain of refills) for (const rule of chain.rules) tx.addRule(desired, chain.name, rule);
}

/**
 * Elements to add (new, or with another value) and to delete (gone, or with
 * another value), matched by their packed bytes: a set that holds exactly
 * its elements costs no string; the deletions list those with another value
 * first, in the desired order, then those gone, in the kernel's.
 */
function diffElements(current: SetElements, desired: SetElements): { added: SetElements; removed: SetElements } {
  // An empty set (a network's first ports, a new network) takes every element: no copy of thousands.
  if (current.size === 0) return { added: desired, removed: current };
  const matches = desired.matchesIn(current);
  if (matches === null) return { added: desired.select([]), removed: current.select([]) };
  const kept = new Uint8Array(current.size);
  const added: number[] = [];
  const removed: number[] = [];
  for (let j = 0; j < matches.length; j++) {
    const match = matches[j]!;
    if (match >= 0) {
      kept[match] = 1;
      continue;
    }
    if (match !== NO_KEY) {
      kept[otherValue(match)] = 1;
      removed.push(otherValue(match));
    }
    added.push(j);
  }
  for (let i = 0; i < kept.length; i++) if (kept[i] === 0) removed.push(i);
  return { added: added.length === matches.length ? desired : desired.select(added), removed: current.select(removed) };
}

function sameDeclaration(a: SetImage, b: SetImage): boolean {
  const data = (set: SetImage) => (set.data === undefined ? '' : set.data === 'verdict' ? 'verdict' : set.data.join('.'));
  return a.key.join('.') === b.key.join('.') && data(a) === data(b) && (a.interval ?? false) === (b.interval ?? false) &&
    (a.counter ?? false) === (b.counter ?? false);
}

function sameBase(a: ChainImage, b: ChainImage): boolean {
  if (a.base === undefined || b.base === undefined) return a.base === b.base;
  return a.base.type === b.base.type && a.base.hook === b.base.hook && a.base.priority === b.base.priority &&
    a.base.policy === b.base.policy;
}

function sameRules(a: ChainImage, b: ChainImage): boolean {
  return a.rules.length === b.rules.length && a.rules.every((rule, i) => rule.signature === b.rules[i]!.signature);
}
