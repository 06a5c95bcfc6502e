/**
 * One nftables transaction, recorded twice: as the netlink batch that is
 * committed and as the `nft -f` script `--dry-run` prints. Every operation
 * goes through here, so the script always says what the batch does.
 */
import { NftBatch, type TableRef } from '../../nft/batch.js';
import { SET_FLAG } from '../../nft/constants.js';
import type { RuleImage, SetImage, TableImage } from './image.js';
import type { SetElements } from './set-elements.js';
import { verdictText } from './elements.js';
import type { BaseChain } from './image.js';
import { noChanges, type ChangeCounts } from '../change-counts.js';

export class Transaction {
  readonly batch = new NftBatch();
  /** The script's lines; those of elements written only when the script is read (a dry run), not on every commit of thousands. */
  private readonly lines: (string | (() => string))[] = [];
  /** Objects changed: tables, chains, rules, sets and elements, each counted once. */
  changes = 0;
  /** What the transaction adds and deletes, a flush or a table's deletion counted in what it held. */
  readonly counts: ChangeCounts = noChanges();

  get script(): string[] {
    return this.lines.map((line) => (typeof line === 'string' ? line : line()));
  }

  addTable(table: TableImage): void {
    this.batch.addTable({ family: table.family, name: table.name });
    this.record(`add table ${where(table)}`);
  }

  deleteTable(table: TableImage): void {
    this.batch.deleteTable({ family: table.family, name: table.name });
    for (const chain of table.chains.values()) this.deleted(chain.name, table);
    for (const set of table.sets.values()) this.deletedSet(set);
    this.record(`delete table ${where(table)}`);
  }

  addChain(table: TableImage, name: string, base: BaseChain | undefined): void {
    this.batch.addChain({ ...ref(table), name, ...(base ?? {}) });
    this.counts.chains.added++;
    const hook = base ? ` { type ${base.type} hook ${base.hook} priority ${base.priority}; policy ${base.policy}; }` : '';
    this.record(`add chain ${where(table)} ${name}${hook}`);
  }

  flushChain(table: TableImage, name: string): void {
    this.batch.flushChain({ ...ref(table), name });
    this.counts.rules.deleted += table.chains.get(name)?.rules.length ?? 0;
    this.record(`flush chain ${where(table)} ${name}`);
  }

  deleteChain(table: TableImage, name: string): void {
    this.batch.deleteChain({ ...ref(table), name });
    this.counts.chains.deleted++;
    this.record(`delete chain ${where(table)} ${name}`);
  }

  addRule(table: TableImage, chain: string, rule: RuleImage): void {
    if (rule.text === undefined) throw new Error(`rule of chain ${chain} has no nft text`);
    this.batch.addRule({ ...ref(table), chain, exprs: rule.exprs, ...(rule.comment !== undefined ? { comment: rule.comment } : {}) });
    this.counts.rules.added++;
    const comment = rule.comment === undefined ? '' : ` comment ${JSON.stringify(rule.comment)}`;
    this.record(`add rule ${where(table)} ${chain} ${rule.text}${comment}`);
  }

  addSet(table: TableImage, set: SetImage): void {
    this.batch.addSet({
      ...ref(table), name: set.name, key: set.key, ...(set.data !== undefined ? { data: set.data } : {}),
      ...(set.interval ? { flags: SET_FLAG.interval } : {}), ...(set.counter ? { counter: true } : {}),
    });
    this.counts.sets.added++;
    const type = set.key.join(' . ') + (set.data === undefined ? '' : ` : ${set.data === 'verdict' ? 'verdict' : set.data.join(' . ')}`);
    this.record(`add ${kind(set)} ${where(table)} ${set.name} { type ${type};${set.interval ? ' flags interval;' : ''}${set.counter ? ' counter;' : ''} }`);
  }

  deleteSet(table: TableImage, set: SetImage): void {
    this.batch.deleteSet({ ...ref(table), name: set.name });
    this.deletedSet(set);
    this.record(`delete ${kind(set)} ${where(table)} ${set.name}`);
  }

  addElements(table: TableImage, set: SetImage, elements: SetElements): void {
    if (elements.size === 0) return;
    const { keyLen, keys, keyEnds, dataLen, data, verdicts } = elements.packed;
    this.batch.addElements({
      ...ref(table), set: set.name, keyLen, keys, ...(set.interval ? { keyEnds } : {}),
      ...(data ? { dataLen, data } : {}), ...(verdicts ? { verdicts } : {}),
    });
    this.record(() => {
      const texts = [...elements.map].map(([key, element]) =>
        element.valueText === undefined ? key : `${key} : ${element.verdict ? verdictText(element.verdict) : element.valueText}`);
      return `add element ${where(table)} ${set.name} { ${texts.join(', ')} }`;
    }, elements.size);
    this.counts.elements.added += elements.size;
  }

  deleteElements(table: TableImage, set: SetImage, elements: SetElements): void {
    if (elements.size === 0) return;
    const { keyLen, keys, keyEnds } = elements.packed;
    this.batch.deleteElements({ ...ref(table), set: set.name, keyLen, keys, ...(set.interval ? { keyEnds } : {}) });
    this.record(() => `delete element ${where(table)} ${set.name} { ${[...elements.map.keys()].join(', ')} }`, elements.size);
    this.counts.elements.deleted += elements.size;
  }

  /** A chain of `table` gone, with the rules it held. */
  private deleted(chain: string, table: TableImage): void {
    this.counts.chains.deleted++;
    this.counts.rules.deleted += table.chains.get(chain)?.rules.length ?? 0;
  }

  /** A set gone, with the elements it held. */
  private deletedSet(set: SetImage): void {
    this.counts.sets.deleted++;
    this.counts.elements.deleted += set.elements.size;
  }

  private record(line: string | (() => string), count = 1): void {
    this.lines.push(line);
    this.changes += count;
  }
}

function ref(table: TableImage): TableRef {
  return { family: table.family, table: table.name };
}

function where(table: TableImage): string {
  return `${table.family} ${table.name}`;
}

function kind(set: SetImage): 'set' | 'map' {
  return set.data === undefined ? 'set' : 'map';
}
