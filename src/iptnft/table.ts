/**
 * The iptables tables of a namespace as iptables-nft keeps them: nf_tables
 * tables `ip`/`ip6` filter, nat, raw and mangle, read back into the
 * iptables model (decode.ts) and changed with the same operations libiptc
 * takes (src/iptc/operation.ts), so the iptables backend reads, diffs and
 * merges both flavours alike. The difference is the commit: here every
 * change of every table and both families goes in one netlink transaction,
 * checked against the ruleset generation the tables were read at (ERESTART
 * when anyone committed since), and an operation becomes one message on one
 * rule by its handle, whatever else the chain holds.
 */
import type { Family } from '../family';
import { NetfilterError } from '../errors';
import { BUILTIN_CHAINS } from '../iptc/format';
import { IPT_TABLES, type IptTableName } from '../iptc/rule';
import type { IptcOperation } from '../iptc/operation';
import type { IptChain, IptcTableChange, IptTableRead } from '../iptc/table';
import { NftBatch } from '../nft/batch';
import type { NftFamily } from '../nft/constants';
import { NftConnection } from '../nft/connection';
import type { DecodedRule } from '../iptc/decode';
import { type IptnftRuleEntry, decodeIptnftRules } from './decode';
import { encodeIptnftRules, type IptnftRuleBody } from './encode';
import { IPTNFT_FAMILY, iptnftBaseChains } from './tables';


/** What a read left to know at commit: the table's chains, each rule by handle. */
interface ReadTable {
  generation: number;
  /** Whether the table existed: if not, the commit creates it as iptables-nft does. */
  exists: boolean;
  builtins: Set<string>;
  /** Per chain, its rules' handles in order. */
  handles: Map<string, number[]>;
}

export class IptnftTables {
  /** The last read of each table, by `family table`. */
  readonly #reads = new Map<string, ReadTable>();
  /** Per table, its rules as last decoded, by handle, with the table's own handle (a table made anew starts over). */
  readonly #decoded = new Map<string, { table: number; rules: Map<number, DecodedRule> }>();
  /** Each table as last read, at the generation its fingerprint names, with this object's commits since played on it. */
  readonly #known = new Map<string, IptTableRead<IptnftRuleEntry>>();
  /** The generation this object's last commit left the ruleset at. */
  #committed: number | undefined;

  private constructor(private readonly connection: NftConnection) {}

  static async open(options: { netns?: string } = {}): Promise<IptnftTables> {
    return new IptnftTables(await NftConnection.open(options));
  }

  /** The family's iptables tables that exist in nf_tables. */
  async existingTables(family: Family): Promise<IptTableName[]> {
    const names = (await this.connection.listTables(IPTNFT_FAMILY[family])).map((table) => table.name);
    return IPT_TABLES.filter((table) => names.includes(table));
  }

  /**
   * Every chain of `table` in kernel order with its rules; a table that does
   * not exist reads as iptables-nft creates it (its built-in chains, empty,
   * policy ACCEPT), and creating it is left to the commit. The fingerprint is
   * the ruleset generation.
   */
  async readWithFingerprint(family: Family, table: IptTableName): Promise<IptTableRead<IptnftRuleEntry>> {
    const key = `${family} ${table}`;
    let cached = this.#decoded.get(key);
    let state = await this.connection.readTable(IPTNFT_FAMILY[family], table, cached && { knownHandles: Float64Array.from(cached.rules.keys()) });
    if (cached && cached.table !== state.table?.handle) {
      // The table was made anew: its handles name other rules now.
      this.#decoded.delete(key);
      cached = undefined;
      state = await this.connection.readTable(IPTNFT_FAMILY[family], table);
    }
    const byChain = new Map<string, IptnftRuleEntry[]>(state.chains.map((chain) => [chain.name, []]));
    const known = cached?.rules;
    const decoded = decodeIptnftRules(family, table, state.rules, known);
    if (state.table) this.#decoded.set(key, { table: state.table.handle, rules: new Map(decoded.map((entry) => [entry.handle, ruleOf(entry)])) });
    else this.#decoded.delete(key);
    state.rules.forEach((rule, i) => byChain.get(rule.chain)?.push(decoded[i]!));
    const chains: IptChain<IptnftRuleEntry>[] = state.chains.map((chain) => ({
      name: chain.name,
      builtin: chain.hook !== undefined,
      ...(chain.hook !== undefined ? { policy: chain.policy === 0 ? 'DROP' as const : 'ACCEPT' as const } : {}),
      packets: 0n,
      bytes: 0n,
      rules: byChain.get(chain.name)!,
    }));
    // A built-in chain iptables-nft would create on first use reads as there, empty.
    for (const name of BUILTIN_CHAINS[table]) {
      if (!byChain.has(name)) chains.push({ name, builtin: true, policy: 'ACCEPT', packets: 0n, bytes: 0n, rules: [] });
    }
    this.#reads.set(key, {
      generation: state.generation,
      exists: state.table !== null,
      builtins: new Set(state.chains.filter((chain) => chain.hook !== undefined).map((chain) => chain.name)),
      handles: new Map(chains.map((chain) => [chain.name, chain.rules.map((rule) => rule.handle)])),
    });
    const read = { chains, fingerprint: String(state.generation) };
    this.#known.set(key, read);
    return read;
  }

  known(family: Family, table: IptTableName): IptTableRead<IptnftRuleEntry> | undefined {
    return this.#known.get(`${family} ${table}`);
  }

  /**
   * Commits every change in one transaction, or none: each change must carry
   * the fingerprint of the table's last read, and all of them one
   * generation, which the kernel checks (ERESTART when the ruleset moved).
   * Resolves to the commits made: one, or none when nothing was to change.
   */
  async commit(changes: readonly IptcTableChange[]): Promise<number> {
    const reads = changes.map((change) => {
      const read = this.#reads.get(`${change.family} ${change.table}`);
      if (!read || change.fingerprint === undefined || String(read.generation) !== change.fingerprint) throw moved();
      return read;
    });
    const generation = reads[0]?.generation;
    if (generation === undefined) return 0;
    if (reads.some((read) => read.generation !== generation)) throw moved();
    const batch = new NftBatch();
    changes.forEach((change, i) => addChange(batch, change, reads[i]!));
    if (batch.length === 0) return 0;
    this.#committed = undefined;
    try {
      await this.connection.commit(batch, { generation });
    } catch (error) {
      this.#known.clear();
      throw error;
    }
    // Ours is the one transaction since `generation`.
    this.#committed = generation + 1;
    // What was read no longer holds: the next change reads again.
    for (const change of changes) this.#reads.delete(`${change.family} ${change.table}`);
    this.keepUnchanged(changes, generation);
    return 1;
  }

  /**
   * What this object knew at `generation` and the commit just made left as it
   * was holds at the next one; a table it changed is known again once read.
   */
  private keepUnchanged(changes: readonly IptcTableChange[], generation: number): void {
    const changed = new Set(changes.filter((change) => change.operations.length > 0).map((change) => `${change.family} ${change.table}`));
    for (const [key, known] of this.#known) {
      if (changed.has(key) || known.fingerprint !== String(generation)) this.#known.delete(key);
      else this.#known.set(key, { ...known, fingerprint: String(generation + 1) });
    }
  }

  async unchangedSinceCommit(): Promise<boolean> {
    return this.#committed !== undefined && (await this.connection.generation()) === this.#committed;
  }

  close(): void {
    this.connection.close();
    this.#reads.clear();
    this.#known.clear();
    this.#decoded.clear();
    this.#committed = undefined;
  }
}

/** The decoded rule of an entry read, without its handle and counters. */
function ruleOf(entry: IptnftRuleEntry): DecodedRule {
  return entry.rule ? { rule: entry.rule } : { unsupported: entry.unsupported! };
}

/** The reads of a change's tables span generations, or were never made: the change is computed again from a fresh read. */
function moved(): NetfilterError {
  return new NetfilterError({ code: 'ERESTART', errno: 85, operation: 'iptnft.commit', message: 'the ruleset changed since the tables were read' });
}

/**
 * One table's operations as messages: positions become rule handles as the
 * operations move them, a rule added by an earlier operation being placed
 * against a neighbour the kernel holds.
 */
function addChange(batch: NftBatch, change: IptcTableChange, read: ReadTable): void {
  const { family: iptFamily, table } = change;
  const family = IPTNFT_FAMILY[iptFamily];
  if (!read.exists) batch.addTable({ family, name: table });
  for (const base of iptnftBaseChains(iptFamily, table)) {
    if (!read.builtins.has(base.name)) batch.addChain(base);
  }
  const rules = change.operations.flatMap((operation) => ('rule' in operation ? [operation.rule] : []));
  const bodies = encodeIptnftRules(iptFamily, table, rules);
  let next = 0;
  // Per chain, the handle of each rule in order; undefined for one this change adds.
  const chains = new Map<string, (number | undefined)[]>(read.handles);
  const chainOf = (name: string) => {
    const handles = chains.get(name);
    if (!handles) throw new Error(`chain ${name} of ${iptFamily} ${table} was not read`);
    return handles;
  };
  const operations = change.operations;
  for (let i = 0; i < operations.length; i++) {
    const operation = operations[i]!;
    const ref = { family, table, chain: operation.chain };
    switch (operation.op) {
      case 'newChain':
        batch.addChain({ family, table, name: operation.chain });
        chains.set(operation.chain, []);
        break;
      case 'flushChain':
        batch.flushChain({ family, table, name: operation.chain });
        chains.set(operation.chain, []);
        break;
      case 'deleteChain':
        batch.deleteChain({ family, table, name: operation.chain });
        chains.delete(operation.chain);
        break;
      case 'setPolicy':
        batch.addChain({ family, table, name: operation.chain, policy: operation.policy === 'DROP' ? 'drop' : 'accept' });
        break;
      case 'append':
        batch.addRule({ ...ref, ...bodies[next++]! });
        chainOf(operation.chain).push(undefined);
        break;
      case 'insert': {
        const run = insertRun(operations, i);
        insert(batch, ref, chainOf(operation.chain), operation.index, bodies.slice(next, next + run));
        next += run;
        i += run - 1;
        break;
      }
      case 'deleteAt': {
        const handles = chainOf(operation.chain);
        const handle = handles[operation.index];
        if (handle === undefined) throw new Error(`rule ${operation.index} of chain ${operation.chain} has no handle to delete by`);
        batch.deleteRule({ ...ref, handle });
        handles.splice(operation.index, 1);
        break;
      }
      default:
        throw new Error(`operation ${operation.op} has no iptables-nft form here`);
    }
  }
}

/** How many operations from `start` insert into one chain at consecutive positions (what a diff makes of new rules side by side). */
function insertRun(operations: readonly IptcOperation[], start: number): number {
  const first = operations[start]!;
  let run = 1;
  for (;;) {
    const next = operations[start + run];
    if (next?.op !== 'insert' || first.op !== 'insert' || next.chain !== first.chain || next.index !== first.index + run) return run;
    run++;
  }
}

/**
 * A run of rules inserted side by side from `index`, the cheapest way for the
 * kernel that keeps their order. The kernel finds a position handle by
 * walking the chain from its head (nf_tables_newrule → __nft_rule_lookup):
 * inserting each rule before the one after the run would walk past every
 * rule inserted before it, O(run²). So at the head of the chain the run goes
 * as head inserts, after a rule the kernel holds as adds after that rule,
 * both last rule first, and no message walks past a rule of the run; at the
 * end of the chain as appends. Else each rule goes before the rule the
 * kernel holds after the run.
 */
function insert(
  batch: NftBatch, ref: { family: NftFamily; table: string; chain: string }, handles: (number | undefined)[],
  index: number, bodies: readonly IptnftRuleBody[],
): void {
  const before = handles[index - 1];
  const after = handles[index];
  if (index === handles.length) {
    for (const body of bodies) batch.addRule({ ...ref, ...body });
  } else if (index === 0) {
    for (const body of [...bodies].reverse()) batch.insertRule({ ...ref, ...body });
  } else if (before !== undefined) {
    for (const body of [...bodies].reverse()) batch.addRule({ ...ref, ...body, position: before });
  } else if (after !== undefined) {
    for (const body of bodies) batch.insertRule({ ...ref, ...body, position: after });
  } else {
    throw new Error(`no rule the kernel holds next to position ${index} of chain ${ref.chain}`);
  }
  handles.splice(index, 0, ...bodies.map(() => undefined));
}
