/**
 * A table after a commit, without reading it back: the chains as read with
 * the commit's operations played on them. Both homes of the iptables rules
 * keep it (src/iptc/table.ts, src/iptnft/table.ts), so that while nobody else
 * commits, a change starts from what the last commit left and the next
 * commit, checked against the fingerprint, proves it still holds.
 */
import type { IptcOperation } from './operation';
import type { IptRule } from './rule';
import type { IptChain, ReadRuleEntry } from './table';

/**
 * The chains `operations` leave, as new arrays (`chains` is not changed);
 * `added` makes the entry of each rule an operation adds, in operation order.
 * Counters of played entries are those read (or zero for added ones).
 * Undefined when an operation deletes a rule by its content (the low-level
 * API's `deleteRule`, which the backends never make): which of equal rules
 * goes is the kernel's to say, and the table is read again instead.
 */
export function playOperations<Entry extends ReadRuleEntry>(
  chains: readonly IptChain<Entry>[], operations: readonly IptcOperation[], added: (rule: IptRule) => Entry,
): IptChain<Entry>[] | undefined {
  if (operations.some((operation) => operation.op === 'deleteRule')) return undefined;
  const played = chains.map((chain) => ({ ...chain }));
  const copied = new Set<IptChain<Entry>>();
  const chainOf = (name: string): IptChain<Entry> => {
    const chain = played.find((candidate) => candidate.name === name);
    if (!chain) throw new Error(`the operations name chain ${name}, which the table does not hold`);
    // A chain's rules are copied once, when an operation first changes them.
    if (!copied.has(chain)) {
      chain.rules = chain.rules.slice();
      copied.add(chain);
    }
    return chain;
  };
  for (const operation of operations) {
    switch (operation.op) {
      case 'newChain': {
        const chain: IptChain<Entry> = { name: operation.chain, builtin: false, packets: 0n, bytes: 0n, rules: [] };
        played.push(chain);
        copied.add(chain);
        break;
      }
      case 'flushChain':
        chainOf(operation.chain).rules = [];
        break;
      case 'deleteChain':
        played.splice(played.indexOf(chainOf(operation.chain)), 1);
        break;
      case 'setPolicy':
        chainOf(operation.chain).policy = operation.policy;
        break;
      case 'append':
        chainOf(operation.chain).rules.push(added(operation.rule));
        break;
      case 'insert':
        chainOf(operation.chain).rules.splice(operation.index, 0, added(operation.rule));
        break;
      case 'replace':
        chainOf(operation.chain).rules.splice(operation.index, 1, added(operation.rule));
        break;
      case 'deleteAt':
        chainOf(operation.chain).rules.splice(operation.index, 1);
        break;
      case 'deleteRule':
        break;
    }
  }
  return played;
}
