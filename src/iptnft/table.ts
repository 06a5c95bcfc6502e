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
import { NftBatch, type PackedRuleBodies } from '../nft/batch';
import type { NftFamily } from '../nft/constants';
import { NftConnection } from '../nft/connection';
import type { DecodedRule } from '../iptc/decode';
import { playOperations } from '../iptc/play';
import { type IptnftRuleEntry, decodeIptnftRules } from './decode';
import { encodeIptnftRules } from './encode';
import { IPTNFT_FAMILY, iptnftBaseChains } from './tables';


/**
 * A table as this object knows it: as last read, with its own commits since
 * played on it (the rules they added with the handles the kernel gave them),
 * and what a commit must know besides the rules.
 */
interface KnownTable {
  read: IptTableRead<IptnftRuleEntry>;
  generation: number;
  /** Whether the table exists: if not, the commit creates it as iptables-nft does. */
  exists: boolean;
  /** The base chains the kernel holds (a built-in chain missing from them reads as there, and is created on use). */
  builtins: Set<string>;
}

export class IptnftTables {
  /** Per table, its rules as last decoded, by handle, with the table's own handle (a table made anew starts over). */
  readonly #decoded = new Map<string, { table: number; rules: Map<number, DecodedRule> }>();
  /** Each table as this object knows it, by `family table`. */
  readonly #known = new Map<string, KnownTable>();
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
    const read = { chains, fingerprint: String(state.generation) };
    this.#known.set(key, {
      read,
      generation: state.generation,
      exists: state.table !== null,
      builtins: new Set(state.chains.filter((chain) => chain.hook !== undefined).map((chain) => chain.name)),
    });
    return read;
  }

  known(family: Family, table: IptTableName): IptTableRead<IptnftRuleEntry> | undefined {
    return this.#known.get(`${family} ${table}`)?.read;
  }

  /**
   * Commits every change in one transaction, or none: each change must carry
   * the fingerprint of the table's last read, and all of them one
   * generation, which the kernel checks (ERESTART when the ruleset moved).
   * Resolves to the commits made: one, or none when nothing was to change.
   */
  async commit(changes: readonly IptcTableChange[]): Promise<number> {
    const tables = changes.map((change) => {
      const known = this.#known.get(`${change.family} ${change.table}`);
      if (!known || change.fingerprint === undefined || known.read.fingerprint !== change.fingerprint) throw moved();
      return known;
    });
    const generation = tables[0]?.generation;
    if (generation === undefined) return 0;
    if (tables.some((table) => table.generation !== generation)) throw moved();
    const batch = new NftBatch();
    const added = changes.map((change, i) => addChange(batch, change, tables[i]!));
    if (batch.length === 0) return 0;
    this.#committed = undefined;
    let ruleHandles: readonly (number | undefined)[];
    try {
      ({ ruleHandles } = await this.connection.commit(batch, { generation }));
    } catch (error) {
      this.#known.clear();
      throw error;
    }
    // Ours is the one transaction since `generation`.
    this.#committed = generation + 1;
    this.keepCommitted(changes, added.map((messages) => messages.map((message) => ruleHandles[message])), generation);
    return 1;
  }

  /**
   * What this object knew at `generation`, with the commit just made played
   * on it, holds at the next one: a changed table with the handles of the
   * rules it added (`handles`, per change in operation order), which also
   * join the decoded rules so that no read decodes them; a table whose new
   * rules' handles are not all known is read again when next needed.
   */
  private keepCommitted(changes: readonly IptcTableChange[], handles: readonly (number | undefined)[][], generation: number): void {
    const changed = new Map(changes.map((change, i) => [`${change.family} ${change.table}`, { change, handles: handles[i]! }]));
    for (const [key, known] of this.#known) {
      const made = changed.get(key);
      if (known.generation !== generation || (made && made.handles.includes(undefined))) {
        this.#known.delete(key);
        continue;
      }
      if (!made || made.change.operations.length === 0) {
        this.#known.set(key, { ...known, read: { ...known.read, fingerprint: String(generation + 1) }, generation: generation + 1 });
        continue;
      }
      let next = 0;
      const decoded = this.#decoded.get(key)?.rules;
      const chains = playOperations(known.read.chains, made.change.operations, (rule) => {
        const handle = made.handles[next++]!;
        decoded?.set(handle, { rule });
        return { rule, packets: 0n, bytes: 0n, handle };
      });
      // addChange takes no delete by content, so every change it committed plays; else the table is read again.
      if (!chains) {
        this.#known.delete(key);
        continue;
      }
      this.#known.set(key, {
        read: { chains, fingerprint: String(generation + 1) },
        generation: generation + 1,
        exists: true,
        builtins: new Set(chains.filter((chain) => chain.builtin).map((chain) => chain.name)),
      });
    }
  }

  async unchangedSinceCommit(): Promise<boolean> {
    return this.#committed !== undefined && (await this.connection.generation()) === this.#committed;
  }

  close(): void {
    this.connection.close();
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
function addChange(batch: NftBatch, change: IptcTableChange, known: KnownTable): number[] {
  const { family: iptFamily, table } = change;
  const family = IPTNFT_FAMILY[iptFamily];
  if (!known.exists) batch.addTable({ family, name: table });
  for (const base of iptnftBaseChains(iptFamily, table)) {
    if (!known.builtins.has(base.name)) batch.addChain(base);
  }
  const rules = change.operations.flatMap((operation) => ('rule' in operation ? [operation.rule] : []));
  const bodies = encodeIptnftRules(iptFamily, table, rules);
  let next = 0;
  /** Per rule this change adds, in operation order: the index of the message adding it. */
  const messages: number[] = [];
  // Per chain, the handle of each rule in order (undefined for one this change adds), copied when first changed.
  const chains = new Map<string, (number | undefined)[]>();
  const chainOf = (name: string) => {
    let handles = chains.get(name);
    if (!handles) {
      const read = known.read.chains.find((chain) => chain.name === name);
      if (!read) throw new Error(`chain ${name} of ${iptFamily} ${table} was not read`);
      chains.set(name, handles = read.rules.map((rule) => rule.handle));
    }
    return handles;
  };
  const operations = change.operations;
  for (let i = 0; i < operations.length; i++) {
    const operation = operations[i]!;
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
        messages.push(batch.length);
        batch.addRule({ family, table, chain: operation.chain, bodies, index: next++ });
        chainOf(operation.chain).push(undefined);
        break;
      case 'insert': {
        const run = insertRun(operations, i);
        messages.push(...insert(batch, { family, table, chain: operation.chain }, chainOf(operation.chain), operation.index, bodies, next, run));
        next += run;
        i += run - 1;
        break;
      }
      case 'deleteAt': {
        const handles = chainOf(operation.chain);
        const handle = handles[operation.index];
        if (handle === undefined) throw new Error(`rule ${operation.index} of chain ${operation.chain} has no handle to delete by`);
        batch.deleteRule({ family, table, chain: operation.chain, handle });
        handles.splice(operation.index, 1);
        break;
      }
      default:
        throw new Error(`operation ${operation.op} has no iptables-nft form here`);
    }
  }
  return messages;
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
  index: number, bodies: PackedRuleBodies, first: number, count: number,
): number[] {
  const before = handles[index - 1];
  const after = handles[index];
  // The message of each rule, in the run's order.
  const messages: number[] = [];
  const inOrder = (add: (body: number) => void) => {
    for (let i = 0; i < count; i++) {
      messages[i] = batch.length;
      add(first + i);
    }
  };
  const lastFirst = (add: (body: number) => void) => {
    for (let i = count - 1; i >= 0; i--) {
      messages[i] = batch.length;
      add(first + i);
    }
  };
  if (index === handles.length) inOrder((body) => batch.addRule({ ...ref, bodies, index: body }));
  else if (index === 0) lastFirst((body) => batch.insertRule({ ...ref, bodies, index: body }));
  else if (before !== undefined) lastFirst((body) => batch.addRule({ ...ref, bodies, index: body, position: before }));
  else if (after !== undefined) inOrder((body) => batch.insertRule({ ...ref, bodies, index: body, position: after }));
  else throw new Error(`no rule the kernel holds next to position ${index} of chain ${ref.chain}`);
  handles.splice(index, 0, ...new Array<undefined>(count));
  return messages;
}
