/**
 * What a change adds and deletes, by kind of object: the summary of a dry
 * run and of an apply or flush. Counted in what a reader of the ruleset sees,
 * not in kernel operations: a chain flushed counts the rules it held as
 * deleted, a table deleted everything in it. The same shape for every
 * backend; only nftables has sets.
 */

export interface Tally {
  added: number;
  deleted: number;
}

export interface ChangeCounts {
  rules: Tally;
  chains: Tally;
  /** nftables: sets and maps. */
  sets: Tally;
  /** nftables: set and map elements (port mappings are elements there). */
  elements: Tally;
}

export function noChanges(): ChangeCounts {
  const none = (): Tally => ({ added: 0, deleted: 0 });
  return { rules: none(), chains: none(), sets: none(), elements: none() };
}

/** Adds `more` to `counts`. */
export function addCounts(counts: ChangeCounts, more: ChangeCounts): void {
  for (const kind of ['rules', 'chains', 'sets', 'elements'] as const) {
    counts[kind].added += more[kind].added;
    counts[kind].deleted += more[kind].deleted;
  }
}

/** `5 rules added, 2 deleted; 3 set elements added, 1 deleted; 2 chains added, 0 deleted`, or `nothing to change`. */
export function formatCounts(counts: ChangeCounts): string {
  const kinds: [string, Tally][] = [['rule', counts.rules], ['set element', counts.elements], ['set', counts.sets], ['chain', counts.chains]];
  const changed = ([, tally]: [string, Tally]) => tally.added + tally.deleted > 0;
  if (!kinds.some(changed)) return 'nothing to change';
  return kinds
    // Rules and chains always, for a summary of the same shape; sets and their elements where they change.
    .filter((kind) => kind[0] === 'rule' || kind[0] === 'chain' || changed(kind))
    .map(([name, tally]) => `${tally.added} ${name}${tally.added === 1 ? '' : 's'} added, ${tally.deleted} deleted`)
    .join('; ');
}
