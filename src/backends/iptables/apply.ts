/**
 * Commits changes to the legacy iptables tables of a namespace, all or
 * nothing and without lost updates. Each attempt reads every table it may
 * change, computes the operations from what it read, and commits them in one
 * transaction that names each table's fingerprint: if another process (this
 * library or an `iptables` command, both under the xtables lock) changed a
 * table in between, the transaction is refused with ERESTART and the attempt
 * starts over from a fresh read. Families the plan does not list are left alone.
 */
import { TableOwnership, type Claim } from './ownership.js';
import type { IptablesPlan } from '../../docker/iptables/plan.js';
import { CHAIN } from '../../docker/iptables/rules.js';
import type { TablePlan } from '../../docker/iptables/ruleset.js';
import { NetfilterError } from '../../errors.js';
import { BUILTIN_CHAINS } from '../../iptc/format.js';
import type { IptcOperation } from '../../iptc/operation.js';
import type { Family } from '../../family.js';
import type { IptTableName } from '../../iptc/rule.js';
import type { IptChain, IptcTableChange, IptTableRead } from '../../iptc/table.js';
import type { RuleTables } from './rule-tables.js';
import { retryAfterLostRace } from '../lost-race.js';
import { diffTable } from './diff.js';

export interface TableChange extends IptcTableChange {
  fingerprint: string;
}

/**
 * The target state of one table, given what it holds now and which of it is
 * ours; `read` gives the other tables of the family as read for the same change.
 */
export type TableTarget = (
  family: Family, table: IptTableName, current: readonly IptChain[], owner: TableOwnership,
  read: (table: IptTableName) => IptTableRead | undefined,
) => TablePlan;

/** Whose rules the changes may touch, and what they found about the daemon-level chains. */
export interface Claims {
  /** Per family: what the owner record says is ours, or `adopt` (every Docker-shaped rule). */
  claims: Record<Family, Claim>;
  /** Filled in by planChanges: the families whose daemon-level chains the changes create (none existed). */
  createsDaemon: Set<Family>;
  /** Filled in by planChanges: the families whose daemon-level chains the changes delete. */
  deletesDaemon: Set<Family>;
}

const ADOPT: Record<Family, Claim> = { ipv4: 'adopt', ipv6: 'adopt' };

/**
 * The changes each table of the plan needs to reach its target, read from
 * the kernel; nothing is written. Refused with ECONFLICT when they could only
 * be made by changing rules the claims do not cover. Without claims, every
 * Docker-shaped rule is ours (adopted). A
 * table that does not exist is opened (so created) only when something is to
 * be written into it, and never with `readOnly` (a dry run): its changes are
 * then those from an empty table. `seen` is shown each table as the changes
 * start from it.
 */
export async function planChanges(
  tables: RuleTables, plan: IptablesPlan, target: TableTarget = planned(plan),
  claims: Claims = { claims: ADOPT, createsDaemon: new Set(), deletesDaemon: new Set() },
  { readOnly = false, seen, read: readBefore }: {
    readOnly?: boolean;
    seen?: (family: Family, table: IptTableName, chains: readonly IptChain[]) => void;
    /** Families' tables read already (readTables), for this plan's tables. */
    read?: ReadonlyMap<Family, Promise<TablesRead>>;
  } = {},
): Promise<TableChange[]> {
  const changes: TableChange[] = [];
  const conflicts: string[] = [];
  const foundDaemon = new Set<Family>();
  claims.createsDaemon.clear();
  claims.deletesDaemon.clear();
  for (const family of plan.families) {
    // Every existing table first: one table's target may depend on another's content.
    const reads = await (readBefore?.get(family.family) ?? readTables(tables, family.family, family.tables.map((table) => table.name)));
    const read = (table: IptTableName) => reads.get(table);
    for (const table of family.tables) {
      const operationsOn = (chains: readonly IptChain[]) => {
        const owner = new TableOwnership(family.family, table.name, claims.claims[family.family], chains, table);
        return { owner, operations: diffTable(family.family, chains, target(family.family, table.name, chains, owner, read), owner) };
      };
      let current = reads.get(table.name) ?? { chains: emptyTable(table.name), fingerprint: '' };
      let { owner, operations } = operationsOn(current.chains);
      if (!reads.has(table.name) && operations.length > 0 && !readOnly) {
        // Opening a table creates it: only now that something is to be written into it, and planned from what that read finds.
        current = await tables.readWithFingerprint(family.family, table.name);
        ({ owner, operations } = operationsOn(current.chains));
      }
      seen?.(family.family, table.name, current.chains);
      conflicts.push(...owner.conflicts());
      if (!owner.holdsDaemonChains()) claims.createsDaemon.add(family.family);
      else foundDaemon.add(family.family);
      if (deletesDaemonChains(operations)) claims.deletesDaemon.add(family.family);
      if (operations.length > 0) changes.push({ family: family.family, table: table.name, operations, fingerprint: current.fingerprint });
    }
  }
  if (conflicts.length > 0) throw conflictError(conflicts);
  for (const family of foundDaemon) claims.createsDaemon.delete(family);
  return changes;
}

/** Tables of one family as read, by name: those that existed. */
export type TablesRead = ReadonlyMap<IptTableName, IptTableRead>;

/**
 * Reads those of the family's `names` tables that exist (reading one that
 * does not would create it). Started before the plan is made, the reads
 * wait on the kernel while the plan takes the CPU.
 */
export async function readTables(tables: RuleTables, family: Family, names: readonly IptTableName[]): Promise<TablesRead> {
  const existing = await tables.existingTables(family);
  const reads = new Map<IptTableName, IptTableRead>();
  for (const name of names) if (existing.includes(name)) reads.set(name, await tables.readWithFingerprint(family, name));
  return reads;
}

/**
 * readTables, taking each table as the home knows it (as its last read or
 * commit left it, under that fingerprint or generation) where it knows it,
 * and naming those (`known`). A commit computed from a known table is
 * refused (ERESTART) if anyone changed the table since, and the retry reads
 * afresh; a known table the changes leave alone is not committed, so not
 * checked: the caller reads that one afresh then (uncheckedKnown), so that
 * what someone removed of ours since is put back by an apply of the same
 * spec.
 */
export async function readKnownTables(
  tables: RuleTables, family: Family, names: readonly IptTableName[],
): Promise<{ read: TablesRead; known: IptTableName[] }> {
  const known = names.map((name) => tables.known(family, name));
  if (known.every((table) => table === undefined)) return { read: await readTables(tables, family, names), known: [] };
  const existing = known.every((table) => table !== undefined) ? names : await tables.existingTables(family);
  const read = new Map<IptTableName, IptTableRead>();
  for (const [index, name] of names.entries()) {
    const table = known[index] ?? (existing.includes(name) ? await tables.readWithFingerprint(family, name) : undefined);
    if (table) read.set(name, table);
  }
  return { read, known: names.filter((_, index) => known[index] !== undefined) };
}

/** The tables taken as known (by family) that the changes do not commit, so the commit would not check. */
export function uncheckedKnown(
  changes: readonly TableChange[], known: ReadonlyMap<Family, readonly IptTableName[]>,
): Map<Family, IptTableName[]> {
  const unchecked = new Map<Family, IptTableName[]>();
  for (const [family, names] of known) {
    const left = names.filter((name) => !changes.some((change) => change.family === family && change.table === name));
    if (left.length > 0) unchecked.set(family, left);
  }
  return unchecked;
}

/** Whether the operations delete the daemon-level chains (DOCKER-FORWARD stands for them all). */
export function deletesDaemonChains(operations: readonly IptcOperation[]): boolean {
  return operations.some((operation) => operation.op === 'deleteChain' && operation.chain === CHAIN.forward);
}

function conflictError(conflicts: readonly string[]): NetfilterError {
  return new NetfilterError({
    code: 'ECONFLICT', errno: 0, operation: 'iptables.plan',
    message: `the spec would change rules bridgewall did not create; nothing was changed (adopt: true takes them over):\n${conflicts.join('\n')}`,
  });
}

/** The changes a transaction made (none when the kernel already matched), and the kernel commits that took. */
export interface Committed {
  changes: TableChange[];
  commits: number;
}

/**
 * Computes changes with `compute` and commits them in one transaction, again
 * from a fresh read whenever a table changed in between.
 */
export async function commitChanges(tables: RuleTables, compute: () => Promise<TableChange[]>): Promise<Committed> {
  for (let attempt = 1; ; attempt++) {
    const changes = await compute();
    if (changes.length === 0) return { changes, commits: 0 };
    try {
      return { changes, commits: await tables.commit(changes) };
    } catch (error) {
      if (!(await retryAfterLostRace(error, attempt))) throw error;
    }
  }
}

/** A table as opening it creates it: its built-in chains, empty, policy ACCEPT. */
function emptyTable(table: IptTableName): IptChain[] {
  return BUILTIN_CHAINS[table].map((name) => ({ name, builtin: true, policy: 'ACCEPT', packets: 0n, bytes: 0n, rules: [] }));
}

function planned(plan: IptablesPlan): TableTarget {
  return (family, table) => plan.families.find((f) => f.family === family)!.tables.find((t) => t.name === table)!;
}
