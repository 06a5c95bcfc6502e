/**
 * The nftables backend: Docker's semantics in tables of our own, committed as
 * one netlink transaction for both families.
 *
 * The kernel is the state: each apply compares the plan with our tables as
 * read back; the commit carries the generation it was planned against, so a
 * concurrent change makes it fail (ERESTART) and it is planned again from a
 * fresh read. Nothing of the tables is kept in memory between calls: after a
 * commit that left the kernel holding exactly a model, the backend remembers
 * only the generation that commit produced, and while the ruleset generation
 * has not moved since, the caller knows the kernel still holds it (inSync)
 * without reading anything back. Port changes are element operations only
 * (see port-delta.ts) and cost what the changed bindings cost while that
 * holds; once someone else has committed, a change is merged onto a fresh
 * read, which also tells what other writers' mappings hold and need
 * (port-holders.ts), and a merge that leaves nothing of theirs makes the
 * kernel hold exactly the model again.
 */
import type { FirewallModel } from '../../docker/model.js';
import type { FamilyPortChange } from '../../docker/port-change.js';
import { NetfilterError } from '../../errors.js';
import { FAMILIES, type Family } from '../../family.js';
import { forwardingRefused } from '../../forwarding.js';
import { IptcTable } from '../../iptc/table.js';
import { NftConnection } from '../../nft/connection.js';
import { retryAfterLostRace } from '../lost-race.js';
import type { ApplyOptions, ApplyOutcome, Backend, BackendState, DryRun, DryRunOptions, ReadAhead } from '../backend.js';
import { formatCounts, noChanges } from '../change-counts.js';
import type { BindingCounters } from '../counters.js';
import { bindingCounters } from './counters.js';
import { diffTable } from './diff.js';
import { ForeignForward } from '../foreign-forward.js';
import { mergeImage } from './merge.js';
import { emptyImage, type TableImage } from './image.js';
import { FAMILY_TABLES, TABLE, USER_CHAIN } from './layout.js';
import { planNftables } from './plan.js';
import { portDeltaBatch } from './port-delta.js';
import { decodeTable } from './read.js';
import { renderTable } from './render.js';
import { shownTable } from './show.js';
import { Transaction } from './transaction.js';
import { userChainLeft } from '../user-chain-left.js';

/** Reads of both tables repeated until they come from one generation; a commit checks it anyway. */
const MAX_READ_ATTEMPTS = 10;
/** Refusals of an element change that mean the kernel does not hold what the change expects (ERESTART: it moved). */
const UNEXPECTED_STATE = new Set(['ERESTART', 'ENOENT', 'EBUSY', 'EEXIST']);

type Tables = Record<Family, TableImage | null>;
/** The table a family should hold, given what it holds now; undefined: none of ours. */
type Desired = (family: Family, current: TableImage | null) => TableImage | undefined;

/**
 * What a commit leaves the kernel holding: exactly the model it was given
 * (apply); a change merged onto the kernel, which is exactly the model
 * planned as `planned` if the kernel held exactly the previous one or if the
 * merge holds nothing else (no one else's elements left); or something else
 * (a flush).
 */
type Sync = 'model' | { planned: Tables } | 'other';

interface Snapshot {
  generation: number;
  tables: Tables;
}

interface NftablesReadAhead extends ReadAhead {
  snapshot: Promise<Snapshot>;
}

export class NftablesBackend implements Backend {
  readonly name = 'nftables' as const;
  /** The generation at which the kernel held exactly the model last committed; undefined: unknown. */
  private syncedGeneration: number | undefined;

  /** Other managers' forward chains that would drop what we accept, read on our handles (foreign-forward.ts). */
  private readonly foreignForward: ForeignForward;

  /** `legacy`: read only, for those forward chains. */
  private constructor(private readonly connection: NftConnection, private readonly legacy: IptcTable) {
    this.foreignForward = new ForeignForward(
      { nftTable: (family, table) => table === TABLE && Object.values(FAMILY_TABLES).includes(family), legacy: false }, '', { connection, legacy },
    );
  }

  static async open(options: { netns?: string } = {}): Promise<NftablesBackend> {
    const netns = options.netns === undefined ? {} : { netns: options.netns };
    // Opened at once: each enters the namespace on the addon's threads.
    const [connection, legacy] = await Promise.allSettled([NftConnection.open(netns), IptcTable.open(netns)]);
    if (connection.status === 'fulfilled' && legacy.status === 'fulfilled') return new NftablesBackend(connection.value, legacy.value);
    if (connection.status === 'fulfilled') connection.value.close();
    if (legacy.status === 'fulfilled') legacy.value.close();
    throw connection.status === 'rejected' ? connection.reason : (legacy as PromiseRejectedResult).reason;
  }

  /** Warns (WFORWARDDROP) of other managers' forward chains that drop what it accepts; nothing else is read for that. */
  async apply(build: () => FirewallModel, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    // The kernel dumps our tables on the addon's thread while the model and the plan are made here (or began to, readAhead).
    const ahead = options.readAhead;
    const reading = ahead?.of === this ? (ahead as NftablesReadAhead).snapshot : this.readAhead().snapshot;
    const model = build();
    const planned = planNftables(model);
    const outcome = await this.commit('model', (family) => planned.find((table) => table.family === FAMILY_TABLES[family]), reading);
    return this.foreignForward.withWarnings(outcome, model);
  }

  async applyChange(before: () => FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    const was = planNftables(before());
    const will = planNftables(after);
    const planned = (plan: TableImage[], family: Family) => plan.find((table) => table.family === FAMILY_TABLES[family]);
    const sync = { planned: { ipv4: planned(will, 'ipv4') ?? null, ipv6: planned(will, 'ipv6') ?? null } };
    const outcome = await this.commit(sync, (family, current) => mergeImage(current, planned(was, family), planned(will, family)));
    return this.foreignForward.withWarnings(outcome, after);
  }

  /** Element operations alone: the whole model after the change is never needed. */
  async applyPortChange(changes: readonly FamilyPortChange[]): Promise<ApplyOutcome | undefined> {
    // Only while the kernel holds exactly what this Firewall last committed
    // (its generation has not moved) is no one else's mapping there: then the
    // change is its elements alone, checked against that generation (no query
    // first: a refusal says the kernel moved). Otherwise another writer may
    // hold a host port, or need a container port's elements, and the change is
    // merged onto a fresh read (undefined; see port-holders.ts).
    const synced = this.syncedGeneration;
    if (synced === undefined) return undefined;
    const { batch, elements } = portDeltaBatch(changes);
    const count = elements.added + elements.deleted;
    if (count === 0) return { commits: 0, changes: 0, counts: noChanges() };
    this.syncedGeneration = undefined;
    try {
      await this.connection.commit(batch, { generation: synced });
    } catch (error) {
      if (error instanceof NetfilterError && UNEXPECTED_STATE.has(error.code)) return undefined;
      throw error;
    }
    this.syncedGeneration = synced + 1;
    return { commits: 1, changes: count, counts: { ...noChanges(), elements } };
  }

  async inSync(): Promise<boolean> {
    return this.syncedGeneration !== undefined && (await this.connection.generation()) === this.syncedGeneration;
  }

  readAhead(): NftablesReadAhead {
    const snapshot = this.current();
    // Awaited by the apply it is for; an apply that never comes (a spec refused) leaves its failure unheard.
    snapshot.catch(() => undefined);
    return { of: this, snapshot };
  }

  /** As Docker's nftables firewaller, forwarding is the host's to turn on: refused while it is off. */
  async enableForwarding(families: readonly Family[]): Promise<string[]> {
    throw forwardingRefused(this.name, families);
  }

  /** The change as an `nft -f` script; with `full`, our tables as show will print them after it. */
  async dryRun(model: FirewallModel, options: DryRunOptions = {}): Promise<DryRun> {
    const planned = planNftables(model);
    const { tables } = await this.current();
    const targets = targetsOf(tables, (family) => planned.find((table) => table.family === FAMILY_TABLES[family]));
    const tx = this.transaction(tables, targets);
    const summary = `# nftables dry run: ${formatCounts(tx.counts)}`;
    const script = options.full ? [] : tx.script;
    const text = options.full
      ? `${summary}; the tables will read:\n${FAMILIES.flatMap((family) => resulting(tables[family], targets[family])).map(renderTable).join('')}`
      : `${summary}${script.length > 0 ? '; for nft -f:' : ''}\n${script.map((line) => `${line}\n`).join('')}`;
    return { text, counts: tx.counts };
  }

  async show(): Promise<BackendState> {
    const { tables } = await this.current();
    const present = FAMILIES.flatMap((family) => (tables[family] ? [tables[family]!] : []));
    return {
      backend: this.name,
      text: present.map(renderTable).join(''),
      data: present.map(shownTable),
    };
  }

  async counters(model: FirewallModel): Promise<BindingCounters[]> {
    return bindingCounters(model, (await this.current()).tables);
  }

  /**
   * Removes our tables; one whose user chain holds rules keeps that chain
   * alone, with nothing jumping to it (WDOCKERUSERLEFT).
   */
  async flush(): Promise<ApplyOutcome> {
    const outcome = await this.commit('other', () => undefined);
    if (outcome.commits === 0) return outcome;
    const { tables } = await this.current();
    const warnings = FAMILIES.flatMap((family) => {
      const rules = tables[family]?.chains.get(USER_CHAIN)?.rules.length ?? 0;
      const table = `${FAMILY_TABLES[family]} ${TABLE}`;
      return rules === 0 ? [] : [userChainLeft(this.name, family, `table ${table}`, rules, `nft delete table ${table}`)];
    });
    return warnings.length === 0 ? outcome : { ...outcome, warnings };
  }

  close(): void {
    this.connection.close();
    this.legacy.close();
    this.syncedGeneration = undefined;
  }

  /** `read`: the snapshot of the first attempt, when the caller has started reading it. */
  private async commit(sync: Sync, desired: Desired, read?: Promise<Snapshot>): Promise<ApplyOutcome> {
    for (let attempt = 1; ; attempt++) {
      const { generation, tables } = await (attempt === 1 && read !== undefined ? read : this.current());
      const wasSynced = generation === this.syncedGeneration;
      this.syncedGeneration = undefined;
      const targets = targetsOf(tables, desired);
      const tx = this.transaction(tables, targets);
      const synced = sync === 'model' || (typeof sync === 'object' && (wasSynced || sameTables(targets, sync.planned)));
      if (tx.batch.length === 0) {
        if (synced) this.syncedGeneration = generation;
        return { commits: 0, changes: 0, counts: tx.counts };
      }
      try {
        await this.connection.commit(tx.batch, { generation });
      } catch (error) {
        if (await retryAfterLostRace(error, attempt)) continue;
        throw error;
      }
      // Our commit is the one transaction since `generation`: the kernel now holds exactly the targets.
      if (synced) this.syncedGeneration = generation + 1;
      return { commits: 1, changes: tx.changes, counts: tx.counts };
    }
  }

  private transaction(tables: Tables, targets: Tables): Transaction {
    const tx = new Transaction();
    for (const family of FAMILIES) {
      const current = tables[family];
      const target = targets[family];
      if (target) diffTable(tx, current, target);
      else if (current) tx.deleteTable(current);
    }
    return tx;
  }

  /** Our tables, read back, with the generation they were read at. */
  private async current(): Promise<Snapshot> {
    for (let attempt = 1; ; attempt++) {
      // Asked at once, so the kernel's work starts before this returns (apply plans meanwhile).
      const [generation, ...states] = await Promise.all([
        this.connection.generation(), ...FAMILIES.map((family) => this.connection.readTable(FAMILY_TABLES[family], TABLE)),
      ]);
      // Both tables must come from the generation the commit will be checked against.
      if (states.every((state) => state.generation === generation) || attempt === MAX_READ_ATTEMPTS) {
        return { generation, tables: { ipv4: decodeTable('ip', states[0]!), ipv6: decodeTable('ip6', states[1]!) } };
      }
    }
  }
}

/** Whether the tables are equal: nothing to change from one to the other. */
function sameTables(tables: Tables, others: Tables): boolean {
  return FAMILIES.every((family) => {
    const [table, other] = [tables[family], others[family]];
    if (table === null || other === null) return table === other;
    const tx = new Transaction();
    diffTable(tx, table, other);
    return tx.changes === 0;
  });
}

/** A table as a commit of `target` leaves it: the user's chain is never rewritten, so it keeps the rules it holds. */
function resulting(current: TableImage | null, target: TableImage | null): TableImage[] {
  if (target === null) return [];
  const chains = new Map([...target.chains].map(([name, chain]) => [name, chain.userOwned ? current?.chains.get(name) ?? chain : chain]));
  return [{ ...target, chains }];
}

/** What stays of a table no longer planned: its user chain, if the user put rules in it. */
function leftover(current: TableImage | null): TableImage | undefined {
  const user = current?.chains.get(USER_CHAIN);
  if (!current || !user || user.rules.length === 0) return undefined;
  const kept = emptyImage(current.family, current.name);
  kept.chains.set(USER_CHAIN, user);
  return kept;
}

/** Each family's table as it should be: the desired one, else what must stay of the current one. */
function targetsOf(tables: Tables, desired: Desired): Tables {
  const targets = {} as Tables;
  for (const family of FAMILIES) targets[family] = desired(family, tables[family]) ?? leftover(tables[family]) ?? null;
  return targets;
}
