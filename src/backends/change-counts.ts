/**
 * What a change adds and deletes, by kind of object: the summary line of a
 * dry run. Counted in what a reader of the ruleset sees, not in kernel
 * operations: a chain flushed counts the rules it held as deleted, a table
 * deleted everything in it.
 */

export interface Tally {
  added: number;
  deleted: number;
}

export interface ChangeCounts {
  rules: Tally;
  chains: Tally;
  /** nftables only: sets and maps, and their elements (port mappings are elements there). */
  sets?: Tally;
  elements?: Tally;
}

/** Nothing counted yet; with `sets`, a backend that has sets (nftables). */
export function noChanges({ sets = false } = {}): ChangeCounts {
  const none = (): Tally => ({ added: 0, deleted: 0 });
  return { rules: none(), chains: none(), ...(sets ? { sets: none(), elements: none() } : {}) };
}

/** `5 rules added, 2 deleted; 3 set elements added, 1 deleted; 2 chains added, 0 deleted`, or `nothing to change`. */
export function formatCounts(counts: ChangeCounts): string {
  const kinds: [string, Tally | undefined][] = [
    ['rule', counts.rules], ['set element', counts.elements], ['set', counts.sets], ['chain', counts.chains],
  ];
  const present = kinds.filter((kind): kind is [string, Tally] => kind[1] !== undefined);
  if (present.every(([, tally]) => tally.added === 0 && tally.deleted === 0)) return 'nothing to change';
  return present
    // Sets change seldom (a new table, a redeclared map): named only when they do.
    .filter(([name, tally]) => name !== 'set' || tally.added + tally.deleted > 0)
    .map(([name, tally]) => `${tally.added} ${name}${tally.added === 1 ? '' : 's'} added, ${tally.deleted} deleted`)
    .join('; ');
}
