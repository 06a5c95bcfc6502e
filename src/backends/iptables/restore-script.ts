/**
 * A change to one iptables table as the lines `ip(6)tables-restore --noflush`
 * takes: `*table`, one iptables command per operation of the commit, `COMMIT`.
 * The operations are played through a copy of the table as read, because a
 * rule's position (`-I DOCKER 3`, `-D DOCKER 3`) is one in the table as the
 * lines before it left it; playing them also gives the table after the
 * change (what `--dry-run --full` prints) and what it adds and deletes.
 *
 * A rule is deleted by its text (`-D CHAIN rule`, what a reader can check)
 * where it is the first rule of that text in its chain, which is the one
 * iptables deletes; by position where an equal rule comes before it.
 */
import type { ChangeCounts } from '../change-counts.js';
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

/** Plays `operations` on `current`, adding what they add and delete to `counts`. */
export function playChange(
  family: Family, table: IptTableName, current: readonly IptChain[], operations: readonly IptcOperation[], counts: ChangeCounts,
): PlayedTable {
  const chains = new Map(current.map((chain): [string, PlayedChain] => [
    chain.name, { name: chain.name, builtin: chain.builtin, ...(chain.policy ? { policy: chain.policy } : {}), rules: chain.rules.map((entry) => entry.rule) },
  ]));
  const text = (rule: IptRule) => ruleText(family, rule);
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
        chains.set(name, { name, builtin: false, rules: [] });
        counts.chains.added++;
        lines.push(`-N ${name}`);
        break;
      case 'flushChain':
        counts.rules.deleted += chainOf(name).rules.length;
        chainOf(name).rules = [];
        lines.push(`-F ${name}`);
        break;
      case 'deleteChain':
        counts.rules.deleted += chainOf(name).rules.length;
        chains.delete(name);
        counts.chains.deleted++;
        lines.push(`-X ${name}`);
        break;
      case 'setPolicy':
        chainOf(name).policy = operation.policy;
        lines.push(`-P ${name} ${operation.policy}`);
        break;
      case 'append':
        chainOf(name).rules.push(operation.rule);
        counts.rules.added++;
        lines.push(`-A ${name} ${text(operation.rule)}`);
        break;
      case 'insert':
        chainOf(name).rules.splice(operation.index, 0, operation.rule);
        counts.rules.added++;
        lines.push(`-I ${name} ${operation.index + 1} ${text(operation.rule)}`);
        break;
      case 'replace':
        chainOf(name).rules[operation.index] = operation.rule;
        counts.rules.added++;
        counts.rules.deleted++;
        lines.push(`-R ${name} ${operation.index + 1} ${text(operation.rule)}`);
        break;
      case 'deleteAt': {
        const rules = chainOf(name).rules;
        const rule = rules[operation.index];
        const first = rule === undefined ? -1 : rules.findIndex((other) => other !== undefined && text(other) === text(rule));
        lines.push(first === operation.index ? `-D ${name} ${text(rule!)}` : `-D ${name} ${operation.index + 1}`);
        rules.splice(operation.index, 1);
        counts.rules.deleted++;
        break;
      }
      case 'deleteRule': {
        const rules = chainOf(name).rules;
        const index = rules.findIndex((other) => other !== undefined && text(other) === text(operation.rule));
        if (index === -1) throw new Error(`the change deletes a rule chain ${name} does not hold`);
        rules.splice(index, 1);
        counts.rules.deleted++;
        lines.push(`-D ${name} ${text(operation.rule)}`);
        break;
      }
    }
  }
  return { lines: lines.length === 0 ? [] : [`*${table}`, ...lines, 'COMMIT'], chains: [...chains.values()] };
}

/** Whether any rule of the table jumps (or goes) to `chain`. */
export function jumpedTo(chains: readonly PlayedChain[], chain: string): boolean {
  return chains.some((played) => played.rules.some((rule) => rule?.target.name === 'jump' && rule.target.chain === chain));
}
