/**
 * A change to one iptables table as the lines `ip(6)tables-restore --noflush`
 * takes: `*table`, one iptables command per operation of the commit, `COMMIT`.
 * The operations are played through a copy of the table as read, because a
 * rule's position (`-I DOCKER 3`, `-D DOCKER 3`) is one in the table as the
 * lines before it left it; playing them also gives the table after the
 * change (what `--dry-run --full` prints).
 *
 * A rule is deleted by its text (`-D CHAIN rule`, what a reader can check)
 * where the chain holds no other rule of that text, by position otherwise
 * (iptables deletes the first equal rule, which may be another).
 */
import type { Family } from '../../family.js';
import type { IptcOperation } from '../../iptc/operation.js';
import type { IptRule, IptTableName } from '../../iptc/rule.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { IptChain } from '../../iptc/table.js';

/** A chain as a change leaves it; an undefined rule is one bridgewall cannot decode (someone else's). */
export interface PlayedChain {
  name: string;
  builtin: boolean;
  policy?: 'ACCEPT' | 'DROP';
  rules: (IptRule | undefined)[];
}

export interface PlayedTable {
  /** The restore lines, `*table` to `COMMIT`; none when the change leaves the table as it is. */
  lines: string[];
  /** The table after the change. */
  chains: PlayedChain[];
}

/** Plays `operations` on the table read as `current`. */
export function playChange(family: Family, table: IptTableName, current: readonly IptChain[], operations: readonly IptcOperation[]): PlayedTable {
  const text = (rule: IptRule) => ruleText(family, rule);
  const chains = new Map(current.map((chain): [string, PlayedChain & { texts: Map<string, number> }] => [chain.name, {
    name: chain.name, builtin: chain.builtin, ...(chain.policy ? { policy: chain.policy } : {}),
    rules: chain.rules.map((entry) => entry.rule), texts: new Map(),
  }]));
  // How many rules of each text a chain holds: a rule alone of its text is deleted by its text.
  for (const chain of chains.values()) for (const rule of chain.rules) if (rule) count(chain.texts, text(rule), 1);
  const chainOf = (name: string) => {
    const chain = chains.get(name);
    if (!chain) throw new Error(`the change names chain ${name}, which table ${table} does not hold`);
    return chain;
  };
  const lines: string[] = [];
  for (const operation of operations) {
    const { chain: name } = operation;
    switch (operation.op) {
      case 'newChain':
        chains.set(name, { name, builtin: false, rules: [], texts: new Map() });
        lines.push(`-N ${name}`);
        break;
      case 'flushChain':
        chainOf(name).rules = [];
        chainOf(name).texts.clear();
        lines.push(`-F ${name}`);
        break;
      case 'deleteChain':
        chains.delete(name);
        lines.push(`-X ${name}`);
        break;
      case 'setPolicy':
        chainOf(name).policy = operation.policy;
        lines.push(`-P ${name} ${operation.policy}`);
        break;
      case 'append':
      case 'insert': {
        const chain = chainOf(name);
        const index = operation.op === 'append' ? chain.rules.length : operation.index;
        chain.rules.splice(index, 0, operation.rule);
        count(chain.texts, text(operation.rule), 1);
        lines.push(operation.op === 'append' ? `-A ${name} ${text(operation.rule)}` : `-I ${name} ${index + 1} ${text(operation.rule)}`);
        break;
      }
      case 'replace': {
        const chain = chainOf(name);
        const replaced = chain.rules[operation.index];
        if (replaced) count(chain.texts, text(replaced), -1);
        chain.rules[operation.index] = operation.rule;
        count(chain.texts, text(operation.rule), 1);
        lines.push(`-R ${name} ${operation.index + 1} ${text(operation.rule)}`);
        break;
      }
      case 'deleteAt': {
        const chain = chainOf(name);
        const rule = chain.rules[operation.index];
        const alone = rule !== undefined && chain.texts.get(text(rule)) === 1;
        lines.push(alone ? `-D ${name} ${text(rule)}` : `-D ${name} ${operation.index + 1}`);
        if (rule) count(chain.texts, text(rule), -1);
        chain.rules.splice(operation.index, 1);
        break;
      }
      case 'deleteRule': {
        const chain = chainOf(name);
        const index = chain.rules.findIndex((other) => other !== undefined && text(other) === text(operation.rule));
        if (index === -1) throw new Error(`the change deletes a rule chain ${name} does not hold`);
        chain.rules.splice(index, 1);
        count(chain.texts, text(operation.rule), -1);
        lines.push(`-D ${name} ${text(operation.rule)}`);
        break;
      }
    }
  }
  return {
    lines: lines.length === 0 ? [] : [`*${table}`, ...lines, 'COMMIT'],
    chains: [...chains.values()].map(({ texts: _, ...chain }) => chain),
  };
}

function count(texts: Map<string, number>, text: string, by: number): void {
  texts.set(text, (texts.get(text) ?? 0) + by);
}

/** Whether any rule of the table jumps (or goes) to `chain`. */
export function jumpedTo(chains: readonly PlayedChain[], chain: string): boolean {
  return chains.some((played) => played.rules.some((rule) => rule?.target.name === 'jump' && rule.target.chain === chain));
}
