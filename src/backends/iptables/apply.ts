/**
 * Commits changes to the legacy iptables tables of a namespace, all or
 * nothing and without lost updates. Each attempt reads every table it may
 * change, computes the operations from what it read, and commits them in one
 * transaction that names each table's fingerprint: if another process (this
 * library or an `iptables` command, both under the xtables lock) changed a
 * table in between, the transaction is refused with ERESTART and the attempt
 * starts over from a fresh read. Families the plan does not list are left alone.
 */
import type { IptablesPlan } from '../../docker/iptables/plan.js';
import type { TablePlan } from '../../docker/iptables/ruleset.js';
import { BUILTIN_CHAINS } from '../../iptc/format.js';
import type { IptFamily, IptTableName } from '../../iptc/rule.js';
import type { IptChain, IptcTable, IptcTableChange } from '../../iptc/table.js';
import { retryAfterLostRace } from '../lost-race.js';
import { diffTable } from './diff.js';

export interface TableChange extends IptcTableChange {
  fingerprint: string;
}

/** The target state of one table, given what it holds now. */
export type TableTarget = (family: IptFamily, table: IptTableName, current: readonly IptChain[]) => TablePlan;

/**
 * The changes each table of the plan needs to reach its target, read from the
 * kernel; nothing is written. A table that does not exist is opened (so
 * created) only when something is to be written into it, and never with
 * `readOnly` (a dry run): its changes are then those from an empty table.
 */
export async function planChanges(
  tables: IptcTable, plan: IptablesPlan, target: TableTarget = planned(plan), { readOnly = false } = {},
): Promise<TableChange[]> {
  const changes: TableChange[] = [];
  for (const family of plan.families) {
    const existing = await tables.existingTables(family.family);
    for (const table of family.tables) {
      if (!existing.includes(table.name)) {
        const operations = diffTable(family.family, emptyTable(table.name), target(family.family, table.name, []));
        if (operations.length === 0) continue;
        if (readOnly) {
          changes.push({ family: family.family, table: table.name, operations, fingerprint: '' });
          continue;
        }
      }
      const { chains, fingerprint } = await tables.readWithFingerprint(family.family, table.name);
      const operations = diffTable(family.family, chains, target(family.family, table.name, chains));
      if (operations.length > 0) changes.push({ family: family.family, table: table.name, operations, fingerprint });
    }
  }
  return changes;
}

/**
 * Computes changes with `compute` and commits them in one transaction, again
 * from a fresh read whenever a table changed in between. Returns the changes
 * made (empty when the kernel already matched).
 */
export async function commitChanges(tables: IptcTable, compute: () => Promise<TableChange[]>): Promise<TableChange[]> {
  for (let attempt = 1; ; attempt++) {
    const changes = await compute();
    if (changes.length === 0) return changes;
    try {
      await tables.commit(changes);
      return changes;
    } catch (error) {
      if (!(await retryAfterLostRace(error, attempt))) throw error;
    }
  }
}

/** Applies the plan; returns the changes made (empty when the kernel already matched). */
export function applyPlan(tables: IptcTable, plan: IptablesPlan): Promise<TableChange[]> {
  return commitChanges(tables, () => planChanges(tables, plan));
}

/** A table as opening it creates it: its built-in chains, empty, policy ACCEPT. */
function emptyTable(table: IptTableName): IptChain[] {
  return BUILTIN_CHAINS[table].map((name) => ({ name, builtin: true, policy: 'ACCEPT', packets: 0n, bytes: 0n, rules: [] }));
}

function planned(plan: IptablesPlan): TableTarget {
  return (family, table) => plan.families.find((f) => f.family === family)!.tables.find((t) => t.name === table)!;
}
