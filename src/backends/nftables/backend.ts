/**
 * The nftables backend: Docker's semantics in tables of our own, committed as
 * one netlink transaction for both families.
 *
 * The kernel is the state: each apply compares the plan with our tables as
 * read back. After a commit the committed image is remembered with the
 * generation it produced; while the ruleset generation has not moved since,
 * nobody else changed anything, so the image stands in for a read-back and an
 * apply costs no dump. The commit carries the generation it was planned
 * against, so a concurrent change makes it fail (ERESTART) and it is planned
 * again from a fresh read.
 */
import type { FirewallModel } from '../../docker/model.js';
import type { IptFamily } from '../../iptc/rule.js';
import { NftConnection } from '../../nft/connection.js';
import { retryAfterLostRace } from '../lost-race.js';
import { planOncePerModel } from '../plan-cache.js';
import type { ApplyOutcome, Backend, BackendState } from '../backend.js';
import { diffTable } from './diff.js';
import { mergeImage } from './merge.js';
import { emptyImage, type TableImage } from './image.js';
import { FAMILY_TABLES, TABLE, USER_CHAIN } from './layout.js';
import { planNftables } from './plan.js';
import { decodeTable } from './read.js';
import { renderTable } from './render.js';
import { Transaction } from './transaction.js';

const FAMILIES: readonly IptFamily[] = ['ipv4', 'ipv6'];
/** Reads of both tables repeated until they come from one generation; a commit checks it anyway. */
const MAX_READ_ATTEMPTS = 10;

type Tables = Record<IptFamily, TableImage | null>;
/** The table a family should hold, given what it holds now; undefined: none of ours. */
type Desired = (family: IptFamily, current: TableImage | null) => TableImage | undefined;

interface Snapshot {
  generation: number;
  tables: Tables;
}

export class NftablesBackend implements Backend {
  readonly name = 'nftables' as const;
  private snapshot: Snapshot | undefined;

  /** Plans by model: the model an edit starts from was planned by the edit before. */
  private readonly plan = planOncePerModel(planNftables);

  private constructor(private readonly connection: NftConnection) {}

  static async open(options: { netns?: string } = {}): Promise<NftablesBackend> {
    return new NftablesBackend(await NftConnection.open(options.netns === undefined ? {} : { netns: options.netns }));
  }

  async apply(model: FirewallModel): Promise<ApplyOutcome> {
    const planned = planNftables(model);
    return this.commit((family) => planned.find((table) => table.family === FAMILY_TABLES[family]));
  }

  async applyChange(before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    const was = this.plan(before);
    const will = this.plan(after);
    const planned = (plan: TableImage[], family: IptFamily) => plan.find((table) => table.family === FAMILY_TABLES[family]);
    return this.commit((family, current) => mergeImage(current, planned(was, family), planned(will, family)));
  }

  async dryRun(model: FirewallModel): Promise<string> {
    const planned = planNftables(model);
    const { tables } = await this.current();
    const tx = this.transaction(tables, targetsOf(tables, (family) => planned.find((table) => table.family === FAMILY_TABLES[family])));
    return `# nftables: ${tx.changes} change(s) to commit, for nft -f:\n${tx.script.map((line) => `${line}\n`).join('')}`;
  }

  async show(): Promise<BackendState> {
    const { tables } = await this.current();
    const present = FAMILIES.flatMap((family) => (tables[family] ? [tables[family]!] : []));
    return {
      backend: this.name,
      text: present.map(renderTable).join(''),
      data: present.map((table) => ({
        family: table.family,
        table: table.name,
        chains: [...table.chains.values()].map((chain) => ({ name: chain.name, rules: chain.rules.length })),
        sets: [...table.sets.values()].map((set) => ({ name: set.name, elements: [...set.elements.keys()] })),
      })),
    };
  }

  /** Removes our tables; one whose user chain holds rules keeps that chain alone. */
  async flush(): Promise<ApplyOutcome> {
    return this.commit(() => undefined);
  }

  close(): void {
    this.connection.close();
    this.snapshot = undefined;
  }

  private async commit(desired: Desired): Promise<ApplyOutcome> {
    for (let attempt = 1; ; attempt++) {
      const { generation, tables } = await this.current();
      const targets = targetsOf(tables, desired);
      const tx = this.transaction(tables, targets);
      if (tx.batch.length === 0) return { commits: 0, changes: 0 };
      try {
        await this.connection.commit(tx.batch, { generation });
      } catch (error) {
        this.snapshot = undefined;
        if (await retryAfterLostRace(error, attempt)) continue;
        throw error;
      }
      // Our commit is the one transaction since `generation`: the kernel now holds exactly the targets.
      this.snapshot = { generation: generation + 1, tables: afterCommit(tables, targets) };
      return { commits: 1, changes: tx.changes };
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

  /** Our tables: remembered when nothing has been committed since, else read back. */
  private async current(): Promise<Snapshot> {
    for (let attempt = 1; ; attempt++) {
      const generation = await this.connection.generation();
      if (this.snapshot?.generation === generation) return this.snapshot;
      const states = await Promise.all(FAMILIES.map((family) => this.connection.readTable(FAMILY_TABLES[family], TABLE)));
      // Both tables must come from the generation the commit will be checked against.
      if (states.every((state) => state.generation === generation) || attempt === MAX_READ_ATTEMPTS) {
        return { generation, tables: { ipv4: decodeTable('ip', states[0]!), ipv6: decodeTable('ip6', states[1]!) } };
      }
    }
  }
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

function afterCommit(tables: Tables, targets: Tables): Tables {
  const next = {} as Tables;
  for (const family of FAMILIES) {
    const target = targets[family];
    // The user's chain keeps the rules it had; the plan never lists them.
    const user = tables[family]?.chains.get(USER_CHAIN);
    if (target && user) target.chains.set(USER_CHAIN, user);
    next[family] = target;
  }
  return next;
}
