/**
 * Makes the legacy iptables tables of a namespace match a plan: each table is
 * read back, compared with the plan, and changed in one libiptc commit (none
 * when it already matches). Families the plan does not list are left alone.
 */
import type { IptablesPlan } from '../../docker/iptables/plan.js';
import type { IptcOperation } from '../../iptc/operation.js';
import type { IptFamily, IptTableName } from '../../iptc/rule.js';
import type { IptcTable } from '../../iptc/table.js';
import { diffTable } from './diff.js';

export interface TableChange {
  family: IptFamily;
  table: IptTableName;
  operations: IptcOperation[];
}

/** The changes each table needs, read from the kernel; nothing is written. */
export async function planChanges(tables: IptcTable, plan: IptablesPlan): Promise<TableChange[]> {
  const changes: TableChange[] = [];
  for (const family of plan.families) {
    for (const table of family.tables) {
      const operations = diffTable(family.family, await tables.read(family.family, table.name), table);
      if (operations.length > 0) changes.push({ family: family.family, table: table.name, operations });
    }
  }
  return changes;
}

/** Applies the plan; returns the changes made (empty when the kernel already matched). */
export async function applyPlan(tables: IptcTable, plan: IptablesPlan): Promise<TableChange[]> {
  const changes = await planChanges(tables, plan);
  for (const change of changes) await tables.transaction(change.family, change.table, change.operations);
  return changes;
}
