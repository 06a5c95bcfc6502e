/**
 * The changes a libiptc transaction applies, in order, to one snapshot of a
 * table before committing it. Rule positions are 0-based (iptables' CLI
 * counts from 1).
 */
import type { IptRule } from './rule';

export type IptcOperation =
  /** `-N CHAIN` */
  | { op: 'newChain'; chain: string }
  /** `-F CHAIN` */
  | { op: 'flushChain'; chain: string }
  /** `-X CHAIN`: the chain must be empty and no rule may jump to it. */
  | { op: 'deleteChain'; chain: string }
  /** `-P CHAIN POLICY`, built-in chains only. */
  | { op: 'setPolicy'; chain: string; policy: 'ACCEPT' | 'DROP' }
  /** `-A CHAIN rule` */
  | { op: 'append'; chain: string; rule: IptRule }
  /** `-I CHAIN index+1 rule`; `index` may equal the chain's length. */
  | { op: 'insert'; chain: string; index: number; rule: IptRule }
  /** `-R CHAIN index+1 rule` */
  | { op: 'replace'; chain: string; index: number; rule: IptRule }
  /** `-D CHAIN index+1` */
  | { op: 'deleteAt'; chain: string; index: number }
  /** `-D CHAIN rule`: deletes the first rule equal to `rule`. */
  | { op: 'deleteRule'; chain: string; rule: IptRule };

/** Names an operation in error messages, e.g. `append to chain DOCKER`. */
export function describeOperation(operation: IptcOperation): string {
  switch (operation.op) {
    case 'newChain': return `create chain ${operation.chain}`;
    case 'flushChain': return `flush chain ${operation.chain}`;
    case 'deleteChain': return `delete chain ${operation.chain}`;
    case 'setPolicy': return `set the policy of chain ${operation.chain} to ${operation.policy}`;
    case 'append': return `append to chain ${operation.chain}`;
    case 'insert': return `insert at ${operation.index} in chain ${operation.chain}`;
    case 'replace': return `replace rule ${operation.index} of chain ${operation.chain}`;
    case 'deleteAt': return `delete rule ${operation.index} of chain ${operation.chain}`;
    case 'deleteRule': return `delete a matching rule from chain ${operation.chain}`;
  }
}
