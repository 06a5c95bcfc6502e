/**
 * The iptables backends: Docker's own rules, planned once (src/docker/iptables),
 * read back, diffed and merged here, and committed all or nothing into one
 * of two homes (rule-tables.ts): legacy x_tables through libiptc
 * (`iptables`), or nf_tables as the host's `iptables` 1.8 writes them
 * (`iptables-nft`), where every table of both families goes in one netlink
 * transaction. Re-applying the same model commits nothing. Only what the
 * namespace's owner record (one per flavour) says bridgewall programmed is
 * changed or removed (see owner-record.ts); the record is written before and
 * after each commit.
 */
import { planIptables, type IptablesPlan } from '../../docker/iptables/plan.js';
import {
  nothingOwned, ownedByModel, releasedBetween, TableOwnership, unionOwned, type Claim, type OwnedState,
} from './ownership.js';
import { bindingCounters, COUNTED_TABLES, type CountedChain } from '../../docker/iptables/counters.js';
import { CHAIN } from '../../docker/iptables/rules.js';
import { PLANNED_TABLES, type TablePlan } from '../../docker/iptables/ruleset.js';
import { compareBindings, eachOfRun, type FamilyModel, type FirewallModel, type IngressModel, type PortBindingModel } from '../../docker/model.js';
import type { FamilyPortChange } from '../../docker/port-change.js';
import { turnOnForwarding } from '../../forwarding.js';
import { ForeignForward, type OwnForward } from '../foreign-forward.js';
import { ruleText } from '../../iptc/rule-text.js';
import { FAMILIES, FAMILY_NAMES, type Family } from '../../family.js';
import type { IptRule, IptTableName } from '../../iptc/rule.js';
import { IptcTable, type IptChain, type IptTableRead } from '../../iptc/table.js';
import { IptnftTables } from '../../iptnft/table.js';
import { planOncePerModel } from '../plan-cache.js';
import type { ApplyOptions, ApplyOutcome, Backend, BackendState, DryRun, DryRunOptions, ReadAhead } from '../backend.js';
import { formatCounts, noChanges, type ChangeCounts } from '../change-counts.js';
import { countOperations } from './operation-counts.js';
import {
  MAX_PORT_PATH_BINDINGS, PORT_TABLES, PortChainTexts, portPathChanges, withBindings, type EndpointAfter, type PortPathChanges, type PortTable,
} from './port-path.js';
import { NetfilterError } from '../../errors.js';
import type { BindingCounters } from '../counters.js';
import {
  commitChanges, deletesDaemonChains, planChanges, readKnownTables, uncheckedKnown, type Claims, type Committed, type TableChange, type TablesRead, type TableTarget,
} from './apply.js';
import { diffTable } from './diff.js';
import { mergeTable } from './merge.js';
import { OwnerRecord, type IptablesFlavour } from './owner-record.js';
import { portHolders, type PortHolders } from './port-holders.js';
import { jumpedTo, playChange, type PlayedTable } from './restore-script.js';
import type { Warning } from '../../warnings.js';
import { userChainLeft } from '../user-chain-left.js';
import type { RuleTables } from './rule-tables.js';
import { formatShownTable, shownTable } from './show.js';
import { formatTable } from '../../iptc/format.js';
import type { ShownFamily } from '../shown.js';


/** Each flavour's own forward chain: legacy FORWARD, or iptables-nft's `filter` tables. */
const OWN_FORWARD: Record<IptablesFlavour, OwnForward> = {
  iptables: { nftTable: () => false, legacy: true },
  'iptables-nft': { nftTable: (family, table) => (family === 'ip' || family === 'ip6') && table === 'filter', legacy: false },
};

/** Where each flavour keeps its rules. */
const HOMES: Record<IptablesFlavour, (options: { netns?: string }) => Promise<RuleTables>> = {
  iptables: (options) => IptcTable.open(options),
  'iptables-nft': (options) => IptnftTables.open(options),
};

export class IptablesBackend implements Backend {
  /** Plans by model: the model an edit starts from was planned by the edit before. */
  private readonly plan = planOncePerModel(planIptables);
  /**
   * The model the last commit through this backend made the kernel hold (on
   * top of what others hold): every change is planned from two whole models,
   * and this is the one it starts from. Undefined before any, and after a flush.
   */
  private committed: FirewallModel | undefined;
  /** Per family, the rule texts of the port chains as the tables are known (port-path.ts). */
  private readonly portTexts = new Map<Family, PortChainTexts>();

  /**
   * Other managers' forward chains that would drop what we accept: a host
   * firewall's, and the other iptables flavour's FORWARD DROP that a switch
   * leaves (as Docker, warned of, never changed; foreign-forward.ts).
   */
  private readonly foreignForward: ForeignForward;

  private constructor(
    readonly name: IptablesFlavour, private readonly netns: string, private readonly tables: RuleTables, private readonly record: OwnerRecord,
  ) {
    this.foreignForward = new ForeignForward(OWN_FORWARD[name], netns);
  }

  static async open(flavour: IptablesFlavour, options: { netns?: string } = {}): Promise<IptablesBackend> {
    // The tables first: they name a namespace that does not exist in the library's own words.
    const tables = await HOMES[flavour](options.netns === undefined ? {} : { netns: options.netns });
    try {
      return new IptablesBackend(flavour, options.netns ?? '', tables, await OwnerRecord.open(flavour, options.netns));
    } catch (error) {
      tables.close();
      throw error;
    }
  }

  async apply(build: () => FirewallModel, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const model = build();
    // The kernel (what the home does not know from its last commit) and the record are read while the plan is made
    // (the first attempt's reads).
    const record = this.record.read();
    const reads = model.families.map(({ family }) => [family, readKnownTables(this.tables, family, PLANNED_TABLES)] as const);
    const read = new Map(reads.map(([family, reading]) => [family, reading.then(({ read: tables }) => tables)]));
    const known = Promise.all(reads.map(async ([family, reading]) => [family, (await reading).known] as const)).then((entries) => new Map(entries));
    // Met where they are used; one left unused (the plan threw) fails nothing.
    for (const reading of [record, known, ...read.values()]) reading.catch(() => undefined);
    const plan = planIptables(model);
    const adopt = options.adopt === true;
    const adopted = adopt ? familiesOf(model) : new Set<Family>();
    this.committed = undefined;
    const outcome = await this.commitOwned(plan, undefined, adopt, (claims) => ({
      during: (owned) => unionOwned(owned, ownedByModel(model, plan, nothingOwned(), daemonAfter(owned, claims, adopted))),
      // The model's families hold exactly the model now; the others were left alone.
      after: (owned) => ownedByModel(model, plan, owned, daemonAfter(owned, claims, adopted)),
    }), undefined, { record, read, known });
    this.committed = model;
    return this.foreignForward.withWarnings(outcome, model);
  }

  /**
   * Reads nothing ahead: which tables an apply reads depends on the spec's
   * families, and reading a legacy table creates it (ours are read once the
   * spec says which).
   */
  readAhead(): ReadAhead {
    return { of: this };
  }

  async applyPortChange(changes: readonly FamilyPortChange[], after: () => FirewallModel): Promise<ApplyOutcome | undefined> {
    const before = this.committed;
    if (before === undefined) return undefined;
    // Docker's port rules sit among its others in shared chains: what the port path cannot place is the change between two whole models.
    return await this.portPath(before, changes) ?? this.changeTo(before, after());
  }

  /**
   * The change made in proportion to it (port-path.ts) from the tables as
   * this backend's last commit left them, or undefined where only the whole
   * path can make it (or someone else committed since: the commit is refused
   * and the whole path reads the tables back).
   */
  private async portPath(before: FirewallModel, changes: readonly FamilyPortChange[]): Promise<ApplyOutcome | undefined> {
    const families = new Set(changes.map((change) => change.network.family));
    const bindings = changes.reduce((n, change) => n + change.addedCount + change.removed.length, 0);
    // One endpoint per family: each change is planned from the tables as known before any of them.
    if (families.size !== changes.length || bindings > MAX_PORT_PATH_BINDINGS) return undefined;
    let after = before;
    const planned: { family: Family; changes: PortPathChanges; texts: PortChainTexts }[] = [];
    for (const change of changes) {
      const family = change.network.family;
      const familyModel = after.families.find((candidate) => candidate.family === family);
      const texts = await this.portChainTexts(family);
      if (!familyModel || !texts) return undefined;
      const added: PortBindingModel[] = [];
      change.forEachAddedRun((run) => eachOfRun(run, (binding) => added.push(binding)));
      // `addedCount` is a bound: ports bound to the other family's address publish nothing here.
      if (added.length === 0 && change.removed.length === 0) continue;
      const at = endpointOf(familyModel, change, added);
      if (!at) return undefined;
      const removed = new Set(change.removed.map((binding) => binding.key));
      const held = familyModel.networks[at.network]!.endpoints[at.endpoint]!.bindings.filter((binding) => !removed.has(binding.key));
      // A binding listed twice, or published already, is one binding (as bindingsOf makes them).
      const keys = new Set(held.map((binding) => binding.key));
      const fresh = added.filter((binding) => {
        if (keys.has(binding.key)) return false;
        keys.add(binding.key);
        return true;
      });
      const afterFamily = withBindings(familyModel, at, [...held, ...fresh].sort(compareBindings));
      let made: PortPathChanges | undefined;
      try {
        made = portPathChanges(family, afterFamily, ingressOf(after, family), at, change, added, texts);
      } catch (error) {
        // Held by someone else as the tables were known: the whole path tells from a fresh read.
        if (error instanceof NetfilterError && error.code === 'EADDRINUSE') return undefined;
        throw error;
      }
      if (!made) return undefined;
      planned.push({ family, changes: made, texts });
      after = { ...after, families: after.families.map((candidate) => (candidate === familyModel ? afterFamily : candidate)) };
    }
    const counts = noChanges();
    // nat always: its DNAT rules decided what other writers hold, so the commit is checked against it.
    const tableChanges: TableChange[] = planned.flatMap(({ family, changes: made, texts }) => PORT_TABLES
      .filter((table) => table === 'nat' || made.operations[table].length > 0)
      .map((table) => {
        countOperations(texts.reads[table].chains, made.operations[table], counts);
        return { family, table, operations: made.operations[table], fingerprint: texts.reads[table].fingerprint };
      }));
    this.committed = undefined;
    // Loopback-bound ports' drops are recognised by their text: claimed before the commit, released after it.
    const drops = (kind: 'addedTexts' | 'removedTexts') => new Map(planned.map(({ family, changes: made }) =>
      [family, made[kind].get('raw PREROUTING') ?? []]));
    const [claimed, released] = [drops('addedTexts'), drops('removedTexts')];
    const added = [...claimed.values()].some((texts) => texts.length > 0) ? await this.record.update((owned) => withDrops(owned, claimed, true)) : nothingOwned();
    let commits: number;
    try {
      commits = await this.tables.commit(tableChanges);
    } catch (error) {
      await this.record.takeBack(added);
      // Someone committed since: the whole path reads the tables back.
      if (error instanceof NetfilterError && error.code === 'ERESTART') return undefined;
      throw error;
    }
    this.committed = after;
    if ([...released.values()].some((texts) => texts.length > 0)) await this.record.update((owned) => withDrops(owned, released, false));
    for (const { family, changes: made, texts } of planned) {
      const reads = this.knownPortTables(family);
      if (reads) this.portTexts.set(family, texts.after(made, reads));
    }
    return { commits, changes: tableChanges.reduce((n, change) => n + change.operations.length, 0), counts };
  }

  /** Which rule texts the family's port chains hold, for the tables as known; undefined when they are not known. */
  private async portChainTexts(family: Family): Promise<PortChainTexts | undefined> {
    const reads = this.knownPortTables(family);
    if (!reads) return undefined;
    const cached = this.portTexts.get(family);
    if (cached && PORT_TABLES.every((table) => cached.reads[table] === reads[table])) return cached;
    const built = PortChainTexts.build(family, reads, (await this.record.read())[family]);
    this.portTexts.set(family, built);
    return built;
  }

  /** The port tables as known, when all of them are. */
  private knownPortTables(family: Family): Record<PortTable, IptTableRead> | undefined {
    const [raw, nat, filter] = PORT_TABLES.map((table) => this.tables.known(family, table));
    return raw && nat && filter ? { raw, nat, filter } : undefined;
  }

  async applyChange(beforeModel: () => FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    return this.foreignForward.withWarnings(await this.changeTo(this.committed ?? beforeModel(), after), after);
  }

  /** The change from `before` to `after`, after which the backend keeps `after`. */
  private async changeTo(before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    this.committed = undefined;
    const outcome = await this.applyChangeFrom(before, after);
    this.committed = after;
    return outcome;
  }

  private async applyChangeFrom(before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    const was = this.plan(before);
    const will = this.plan(after);
    const tableOf = (plan: IptablesPlan, family: Family, table: string) =>
      plan.families.find((f) => f.family === family)?.tables.find((t) => t.name === table) ?? { name: table as TablePlan['name'], chains: [] };
    // Per family and attempt: the kernel's DNAT rules decide for every table what other writers hold and need,
    // so the commit is checked against the nat table's fingerprint even where it changes nothing else.
    const nat = new Map<Family, { holders: PortHolders; fingerprint: string | undefined }>();
    // Rules the change drops but leaves in the kernel for another writer's mapping: still ours to remove later.
    const keptForOthers = new Set<string>();
    const target: TableTarget = (family, table, current, owner, read) => {
      // A new attempt (after a lost race) starts from its own read: nothing of the last one's holds.
      if (nat.size === 0) keptForOthers.clear();
      if (!nat.has(family)) {
        const natRead = read('nat');
        const holders = portHolders(family, natRead?.chains ?? [], tableOf(was, family, 'nat'), tableOf(will, family, 'nat'));
        nat.set(family, { holders: remembering(holders, (rule) => keptForOthers.add(ruleText(family, rule))), fingerprint: natRead?.fingerprint });
      }
      return mergeTable(family, current, tableOf(was, family, table), tableOf(will, family, table), owner, nat.get(family)!.holders);
    };
    const checkNat = (changes: TableChange[]) => {
      for (const [family, { fingerprint }] of nat) {
        const changed = changes.filter((change) => change.family === family);
        if (fingerprint !== undefined && changed.length > 0 && !changed.some((change) => change.table === 'nat')) {
          changes.push({ family, table: 'nat', operations: [], fingerprint });
        }
      }
      nat.clear();
    };
    const programmed = (owned: OwnedState, claims: Claims) => ownedByModel(after, will, nothingOwned(), daemonAfter(owned, claims, new Set()));
    return this.commitOwned(will, target, false, (claims) => ({
      during: (owned) => unionOwned(owned, programmed(owned, claims)),
      // What only `before` had is released; what other processes claim in the meantime stays.
      after: (owned) => unionOwned(
        releasedBetween(owned, ownedByModel(before, was, nothingOwned(), daemonAfter(owned, claims, new Set())), programmed(owned, claims), keptForOthers),
        programmed(owned, claims)),
    }), checkNat);
  }

  /** Nothing committed since this backend's last commit (legacy iptables cannot tell without reading the tables back). */
  async inSync(): Promise<boolean> {
    return this.committed !== undefined && this.tables.unchangedSinceCommit();
  }

  enableForwarding(families: readonly Family[], forwardDrop: boolean): Promise<string[]> {
    return turnOnForwarding(this.netns, families, forwardDrop ? (off) => this.dropForwarded(off) : undefined);
  }

  /**
   * The change as `ip(6)tables-restore --noflush` lines per family (see
   * restore-script.ts), or with `full` the planned tables as they will read.
   */
  async dryRun(model: FirewallModel, options: DryRunOptions = {}): Promise<DryRun> {
    const plan = planIptables(model);
    const seen = new TablesSeen();
    const changes = await planChanges(this.tables, plan, undefined, claimsOf(await this.record.read(), options.adopt === true), {
      readOnly: true, seen: seen.see,
    });
    const counts = seen.count(changes);
    const sections = plan.families.map(({ family, tables }) => {
      const played = tables.map(({ name }) => {
        const operations = changes.find((change) => change.family === family && change.table === name)?.operations ?? [];
        return { name, ...playChange(family, name, seen.chains(family, name), operations) };
      });
      const tool = `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${this.name === 'iptables' ? 'legacy' : 'nft'}`;
      if (options.full) return `# ${FAMILY_NAMES[family]}, as ${tool}-save will print it:\n${played.map((table) => savedTable(family, table)).join('')}`;
      const lines = played.flatMap((table) => table.lines);
      return lines.length === 0 ? '' : `# ${FAMILY_NAMES[family]}, for ${tool}-restore --noflush:\n${lines.join('\n')}\n`;
    });
    const summary = `# ${this.name} dry run: ${formatCounts(counts)}${options.full ? '; the tables will read:' : ''}\n`;
    return { text: summary + sections.join(''), counts };
  }

  async show(): Promise<BackendState> {
    const data: ShownFamily[] = [];
    let text = '';
    const owned = await this.record.read();
    for (const family of FAMILIES) {
      const tables = [];
      for (const table of await this.existing(family)) {
        const { chains } = await this.tables.readWithFingerprint(family, table);
        const ownership = new TableOwnership(family, table, owned[family], chains, { name: table, chains: [] });
        const shown = shownTable(family, table, chains, owned[family], ownership);
        text += formatShownTable(this.name, family, shown);
        tables.push(shown);
      }
      if (tables.length > 0) data.push({ family, tables });
    }
    return { backend: this.name, text, data };
  }

  async counters(model: FirewallModel): Promise<BindingCounters[]> {
    const read = new Map<string, readonly CountedChain[]>();
    for (const { family } of model.families) {
      const existing = await this.tables.existingTables(family);
      for (const table of COUNTED_TABLES) {
        if (existing.includes(table)) read.set(`${family} ${table}`, (await this.tables.readWithFingerprint(family, table)).chains);
      }
    }
    return bindingCounters(model, (family, table) => read.get(`${family} ${table}`));
  }

  /** Docker's FilterForwardDrop: the filter FORWARD policy DROP in each family, set where forwarding was just turned on. */
  private async dropForwarded(families: readonly Family[]): Promise<void> {
    await commitChanges(this.tables, async () => {
      const changes: TableChange[] = [];
      for (const family of families) {
        const { chains, fingerprint } = await this.tables.readWithFingerprint(family, 'filter');
        if (chains.find((chain) => chain.name === 'FORWARD')?.policy === 'DROP') continue;
        changes.push({ family, table: 'filter', operations: [{ op: 'setPolicy', chain: 'FORWARD', policy: 'DROP' }], fingerprint });
      }
      return changes;
    });
  }

  /** Warns (WDOCKERUSERLEFT) where it leaves the user's rules in a DOCKER-USER that nothing jumps to any more. */
  async flush(): Promise<ApplyOutcome> {
    this.committed = undefined;
    const deletesDaemon = new Set<Family>();
    const warnings: Warning[] = [];
    const seen = new TablesSeen();
    const changes = await commitChanges(this.tables, async () => this.flushChanges(await this.record.read(), deletesDaemon, warnings, seen));
    await this.record.update((owned) => {
      const left = nothingOwned();
      for (const family of FAMILIES) left[family].daemon = owned[family].daemon && !deletesDaemon.has(family);
      return left;
    });
    return { ...outcome(changes, seen), ...(warnings.length > 0 ? { warnings } : {}) };
  }

  /** `deletesDaemon`, `warnings` and `seen` are filled in anew for the changes returned. */
  private async flushChanges(owned: OwnedState, deletesDaemon: Set<Family>, warnings: Warning[], seen: TablesSeen): Promise<TableChange[]> {
    const changes: TableChange[] = [];
    deletesDaemon.clear();
    warnings.length = 0;
    for (const family of FAMILIES) {
      for (const table of await this.existing(family)) {
        const { chains, fingerprint } = await this.tables.readWithFingerprint(family, table);
        seen.see(family, table, chains);
        const nothing: TablePlan = { name: table, chains: [] };
        const owner = new TableOwnership(family, table, owned[family], chains, nothing);
        const operations = diffTable(family, chains, nothing, owner);
        // The user's chain goes only with the daemon-level chains, once it is empty and nothing jumps to it any more.
        const user = chains.find((chain) => chain.name === CHAIN.user);
        if (user && owner.mayDeleteUserChain(user)) operations.push({ op: 'deleteChain', chain: CHAIN.user });
        else if (user && user.rules.length > 0 && operations.length > 0 &&
          !jumpedTo(playChange(family, table, chains, operations).chains, CHAIN.user)) {
          warnings.push(this.userChainLeft(family, user.rules.length));
        }
        if (deletesDaemonChains(operations)) deletesDaemon.add(family);
        if (operations.length > 0) changes.push({ family, table, operations, fingerprint });
      }
    }
    return changes;
  }

  private userChainLeft(family: Family, rules: number): Warning {
    const tool = `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${this.name === 'iptables' ? 'legacy' : 'nft'}`;
    return userChainLeft(this.name, family, 'filter table', rules, `${tool} -F ${CHAIN.user}; ${tool} -X ${CHAIN.user}`);
  }

  /**
   * Commits the changes to `plan` (by default exactly the plan; else what
   * `target` makes of each table) under the owner record: `owns` says what
   * the record claims while the commit is in flight and once it is made.
   */
  private async commitOwned(
    plan: IptablesPlan, target: TableTarget | undefined, adopt: boolean,
    owns: (claims: Claims) => Record<'during' | 'after', (owned: OwnedState) => OwnedState>,
    amend?: (changes: TableChange[]) => void,
    readBefore?: { record: Promise<OwnedState>; read: ReadonlyMap<Family, Promise<TablesRead>>; known: Promise<ReadonlyMap<Family, readonly IptTableName[]>> },
  ): Promise<ApplyOutcome> {
    let claims: Claims | undefined;
    /** What the record claims for the commit that it did not before: taken back if no commit is made. */
    let added = nothingOwned();
    const seen = new TablesSeen();
    let first = readBefore;
    const changes = await commitChanges(this.tables, async () => {
      // Only the first attempt starts from what was read before: a later one follows a lost race.
      const before = first;
      first = undefined;
      const record = await (before?.record ?? this.record.read());
      claims = claimsOf(record, adopt);
      let changes = await planChanges(this.tables, plan, target, claims, { seen: seen.see, ...(before ? { read: before.read } : {}) });
      const unchecked = before && uncheckedKnown(changes, await before.known);
      if (before && unchecked!.size > 0) {
        // A table taken as known that the changes leave alone would go unchecked: read afresh, the changes made again.
        claims = claimsOf(record, adopt);
        changes = await planChanges(this.tables, plan, target, claims, { seen: seen.see, read: await withFreshReads(this.tables, before.read, unchecked!) });
      }
      amend?.(changes);
      added = unionOwned(added, await this.record.update(owns(claims).during));
      return changes;
    }).catch(async (error: unknown) => {
      await this.record.takeBack(added);
      throw error;
    });
    await this.record.update(owns(claims!).after);
    return outcome(changes, seen);
  }

  /** The planned tables that exist: show and flush never open (so never create) one that does not. */
  private async existing(family: Family): Promise<TablePlan['name'][]> {
    const existing = await this.tables.existingTables(family);
    return PLANNED_TABLES.filter((table) => existing.includes(table));
  }

  close(): void {
    this.foreignForward.close();
    this.tables.close();
  }
}

/**
 * `read` with the `fresh` tables read afresh. Each table's changes depend on
 * it alone, so a fresh read of tables the changes left alone leaves the
 * changes to the others as they were: one fresh read of them is enough.
 */
async function withFreshReads(
  tables: RuleTables, read: ReadonlyMap<Family, Promise<TablesRead>>, fresh: ReadonlyMap<Family, readonly IptTableName[]>,
): Promise<Map<Family, Promise<TablesRead>>> {
  const reads = new Map(read);
  for (const [family, names] of fresh) {
    const tablesRead = new Map(await read.get(family)!);
    for (const name of names) tablesRead.set(name, await tables.readWithFingerprint(family, name));
    reads.set(family, Promise.resolve(tablesRead));
  }
  return reads;
}

/** `owned` with each family's loopback drops (rule texts) added, or taken out. */
function withDrops(owned: OwnedState, drops: ReadonlyMap<Family, readonly string[]>, add: boolean): OwnedState {
  const changed = { ...owned };
  for (const [family, texts] of drops) {
    const loopbackDrops = add ? [...new Set([...owned[family].loopbackDrops, ...texts])] : owned[family].loopbackDrops.filter((text) => !texts.includes(text));
    changed[family] = { ...owned[family], loopbackDrops };
  }
  return changed;
}

/** Where the change's endpoint is in the family's model: the network by bridge, the endpoint by its bindings' container address. */
function endpointOf(model: FamilyModel, change: FamilyPortChange, added: readonly PortBindingModel[]): EndpointAfter | undefined {
  const address = (added[0] ?? change.removed[0])?.containerAddress;
  const network = model.networks.findIndex((candidate) => candidate.bridge === change.network.bridge);
  const endpoint = network === -1 ? -1 : model.networks[network]!.endpoints.findIndex((candidate) => candidate.address === address);
  return endpoint === -1 ? undefined : { network, endpoint };
}

/** Swarm's routing mesh is IPv4 only (as plan.ts). */
function ingressOf(model: FirewallModel, family: Family): IngressModel | undefined {
  return family === 'ipv4' ? model.ingress : undefined;
}

/** `holders`, telling `kept` of each rule it keeps for another writer. */
function remembering(holders: PortHolders, kept: (rule: IptRule) => void): PortHolders {
  return {
    needs: (rule) => {
      const needed = holders.needs(rule);
      if (needed) kept(rule);
      return needed;
    },
    yields: (rule) => holders.yields(rule),
  };
}

/** A table after a change, as iptables-save prints it; rules bridgewall cannot decode (never its own) are said to be left out. */
function savedTable(family: Family, table: PlayedTable & { name: IptTableName }): string {
  const undecoded = table.chains.reduce((n, chain) => n + chain.rules.filter((rule) => rule === undefined).length, 0);
  const chains = table.chains.map((chain) => ({ ...chain, rules: chain.rules.filter((rule) => rule !== undefined) }));
  const note = undecoded === 0 ? '' : `# ${undecoded} rule(s) of someone else's that bridgewall cannot decode are left out of *${table.name}\n`;
  return note + formatTable(family, { name: table.name, chains });
}

function claimsOf(owned: OwnedState, adopt: boolean): Claims {
  const claims: Record<Family, Claim> = adopt ? { ipv4: 'adopt', ipv6: 'adopt' } : owned;
  return { claims, createsDaemon: new Set(), deletesDaemon: new Set() };
}

function familiesOf(model: FirewallModel): Set<Family> {
  return new Set(model.families.map((family) => family.family));
}

/** Per family, whether the daemon-level chains are bridgewall's after the commit: created (or adopted) by it, and not deleted. */
function daemonAfter(owned: OwnedState, claims: Claims, adopted: ReadonlySet<Family>): Record<Family, boolean> {
  const daemon = (family: Family) =>
    (owned[family].daemon || claims.createsDaemon.has(family) || adopted.has(family)) && !claims.deletesDaemon.has(family);
  return { ipv4: daemon('ipv4'), ipv6: daemon('ipv6') };
}

function outcome({ changes, commits }: Committed, seen: TablesSeen): ApplyOutcome {
  return { commits, changes: changes.reduce((n, change) => n + change.operations.length, 0), counts: seen.count(changes) };
}

/** Each table as the changes planned on it read it (the last attempt's read), to count what they add and delete. */
class TablesSeen {
  private readonly tables = new Map<string, readonly IptChain[]>();

  readonly see = (family: Family, table: IptTableName, chains: readonly IptChain[]): void => {
    this.tables.set(`${family} ${table}`, chains);
  };

  chains(family: Family, table: IptTableName): readonly IptChain[] {
    const chains = this.tables.get(`${family} ${table}`);
    if (!chains) throw new Error(`table ${family} ${table} was not read`);
    return chains;
  }

  count(changes: readonly TableChange[]): ChangeCounts {
    const counts = noChanges();
    for (const change of changes) if (change.operations.length > 0) countOperations(this.chains(change.family, change.table), change.operations, counts);
    return counts;
  }
}
