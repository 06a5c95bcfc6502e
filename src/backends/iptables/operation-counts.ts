/**
 * What libiptc operations on a table add and delete, in rules and chains: a
 * flush counts the rules the chain holds at that point of the change. Only
 * chain lengths are followed, so counting costs what the operations number,
 * however long the chains.
 */
import type { ChangeCounts } from '../change-counts.js';
import type { IptcOperation } from '../../iptc/operation.js';
import type { IptChain } from '../../iptc/table.js';

/** Adds to `counts` what `operations` on the table read as `current` add and delete. */
export function countOperations(current: readonly IptChain[], operations: readonly IptcOperation[], counts: ChangeCounts): void {
  const lengths = new Map(current.map((chain) => [chain.name, chain.rules.length]));
  const grow = (chain: string, by: number) => lengths.set(chain, (lengths.get(chain) ?? 0) + by);
  for (const operation of operations) {
    switch (operation.op) {
      case 'newChain':
        lengths.set(operation.chain, 0);
        counts.chains.added++;
        break;
      case 'flushChain':
      case 'deleteChain':
        counts.rules.deleted += lengths.get(operation.chain) ?? 0;
        lengths.set(operation.chain, 0);
        if (operation.op === 'deleteChain') counts.chains.deleted++;
        break;
      case 'append':
      case 'insert':
        grow(operation.chain, 1);
        counts.rules.added++;
        break;
      case 'replace':
        counts.rules.added++;
        counts.rules.deleted++;
        break;
      case 'deleteAt':
      case 'deleteRule':
        grow(operation.chain, -1);
        counts.rules.deleted++;
        break;
      case 'setPolicy':
        break;
    }
  }
}
