/**
 * Legacy iptables tables of one network namespace, changed through libiptc in
 * atomic transactions: a transaction takes a snapshot of each of its tables,
 * applies their operations in order and only then replaces the tables, all
 * under the xtables lock like the iptables commands hold it. libiptc replaces
 * one table per commit; if a later one fails, the earlier ones are put back,
 * so a transaction over several tables and both families is all or nothing.
 */
import { callNative, invalid } from '../errors';
import { binding } from '../native/binding';
import { checkNetns } from '../netns';
import type { NativeIptcTable } from '../native/iptc';
import { decodeDump, type DecodedRule } from './decode';
import { encodeOperations } from './encode';
import { describeOperation, type IptcOperation } from './operation';
import { playOperations } from './play';
import { FAMILIES, type Family } from '../family';
import { IPT_TABLES, type IptTableName } from './rule';

export interface IptcTableOptions {
  /** A network namespace path such as /run/netns/NAME; the caller's namespace when absent. */
  netns?: string;
  /** The iptables lock file; default `$XTABLES_LOCKFILE`, else /run/xtables.lock. */
  lockFile?: string;
  /** How long a transaction waits for the lock before failing with EBUSY; default 10 s. */
  lockTimeoutMs?: number;
}

/** A rule as read, whichever flavour holds it: the rule of the model (or why none) and its counters. */
export type ReadRuleEntry = DecodedRule & {
  packets: bigint;
  bytes: bigint;
};

export type IptRuleEntry = ReadRuleEntry & {
  /** The entry bytes as the kernel holds them, counters zeroed (for diagnostics). */
  raw: Buffer;
};

export interface IptChain<Entry extends ReadRuleEntry = ReadRuleEntry> {
  name: string;
  builtin: boolean;
  /** Built-in chains only. */
  policy?: 'ACCEPT' | 'DROP';
  /** Policy counters of built-in chains; 0 for user chains. */
  packets: bigint;
  bytes: bigint;
  rules: Entry[];
}

/** A table as read, with the fingerprint that lets a transaction check it is unchanged. */
export interface IptTableRead<Entry extends ReadRuleEntry = ReadRuleEntry> {
  chains: IptChain<Entry>[];
  fingerprint: string;
}

/** The operations for one table of a transaction. */
export interface IptcTableChange {
  family: Family;
  table: IptTableName;
  operations: readonly IptcOperation[];
  /** From `readWithFingerprint`: refuse with ERESTART when the table has changed since. */
  fingerprint?: string;
}

/**
 * A table as this object's commits left it, not played yet: the table as
 * read, the operations committed on it since, and its fingerprint now. It is
 * played when first asked for (`known`): playing a bulk's 30,000 appends
 * took 5 ms of the commit's own time, which an apply then followed by
 * nothing need not pay.
 */
interface Unplayed {
  read: IptTableRead<ReadRuleEntry>;
  operations: readonly IptcOperation[];
  fingerprint: string;
}

const DEFAULT_LOCK_FILE = '/run/xtables.lock';

/** The lock file iptables uses: `$XTABLES_LOCKFILE`, else /run/xtables.lock. */
export function defaultLockFile(): string {
  return process.env.XTABLES_LOCKFILE || DEFAULT_LOCK_FILE;
}
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const MAX_LOCK_TIMEOUT_MS = 0x7fffffff;

export class IptcTable {
  readonly #native: NativeIptcTable;
  readonly #lockFile: string;
  readonly #lockTimeoutMs: number;
  /** Each table as last read, with this object's commits since played on it (see `known`), by `family table`. */
  readonly #known = new Map<string, IptTableRead<ReadRuleEntry> | Unplayed>();

  private constructor(native: NativeIptcTable, lockFile: string, lockTimeoutMs: number) {
    this.#native = native;
    this.#lockFile = lockFile;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  static async open(options: IptcTableOptions = {}): Promise<IptcTable> {
    if (typeof options !== 'object' || options === null) invalid('options', 'an options object', options);
    const { netns, lockFile = defaultLockFile(), lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS } = options;
    const netnsPath = checkNetns(netns);
    if (typeof lockFile !== 'string' || lockFile.length === 0 || lockFile.includes('\0')) {
      invalid('lockFile', 'a file path', lockFile);
    }
    if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0 || lockTimeoutMs > MAX_LOCK_TIMEOUT_MS) {
      invalid('lockTimeoutMs', `an integer number of milliseconds from 0 to ${MAX_LOCK_TIMEOUT_MS}`, lockTimeoutMs);
    }
    const native = await callNative(() => binding.openIptcTable(netnsPath));
    return new IptcTable(native, lockFile, lockTimeoutMs);
  }

  /**
   * Applies `operations` in order to one snapshot of `table` and commits it
   * atomically. When an operation fails, nothing is committed and the
   * NetfilterError's `index` names it.
   */
  async transaction(family: Family, table: IptTableName, operations: readonly IptcOperation[]): Promise<void> {
    await this.commit([{ family, table, operations }]);
  }

  /**
   * Applies each change to a snapshot of its table and commits them all, or
   * none: a failing operation commits nothing (the NetfilterError's `index`
   * counts operations across all changes), a table whose fingerprint no
   * longer matches fails with ERESTART, and a failing commit puts back the
   * tables committed before it. Resolves to the number of tables committed.
   */
  async commit(changes: readonly IptcTableChange[]): Promise<number> {
    const native = changes.map((change) => {
      checkFamilyAndTable(change.family, change.table);
      return {
        family: change.family,
        table: change.table,
        operations: encodeOperations(change.family, change.table, change.operations),
        ...(change.fingerprint === undefined ? {} : { fingerprint: change.fingerprint }),
      };
    });
    let fingerprints: string[];
    try {
      fingerprints = await callNative(
        () => this.#native.transaction(native, this.#lockFile, this.#lockTimeoutMs),
        (index) => describeAt(changes, index),
      );
    } catch (error) {
      // Whatever was known may have been overtaken (ERESTART) or half put back.
      this.#known.clear();
      throw error;
    }
    changes.forEach((change, i) => {
      const key = `${change.family} ${change.table}`;
      const known = this.#known.get(key);
      if (!known) return;
      const [read, before] = 'operations' in known ? [known.read, known.operations] : [known, []];
      this.#known.set(key, { read, operations: [...before, ...change.operations], fingerprint: fingerprints[i]! });
    });
    // libiptc commits each table that has operations; one without only had its fingerprint checked.
    return changes.filter((change) => change.operations.length > 0).length;
  }

  /**
   * The family's tables that exist in the namespace, read from the kernel's
   * list without opening any: opening a legacy table (read included) creates
   * it, and everyone using iptables-nft there is then warned of legacy tables.
   * Empty on a kernel without legacy x_tables.
   */
  async existingTables(family: Family): Promise<IptTableName[]> {
    checkFamily(family);
    const names = await callNative(() => this.#native.tables(family));
    return IPT_TABLES.filter((table) => names.includes(table));
  }

  /** Every chain of `table` in kernel order, with its rules decoded into the rule model. Creates the table if absent. */
  async read(family: Family, table: IptTableName): Promise<IptChain<IptRuleEntry>[]> {
    return (await this.readWithFingerprint(family, table)).chains;
  }

  async readWithFingerprint(family: Family, table: IptTableName): Promise<IptTableRead<IptRuleEntry>> {
    checkFamilyAndTable(family, table);
    const dump = await callNative(() => this.#native.dump(family, table));
    const read = decodeDump(family, dump);
    this.#known.set(`${family} ${table}`, read);
    return read;
  }

  known(family: Family, table: IptTableName): IptTableRead<ReadRuleEntry> | undefined {
    const key = `${family} ${table}`;
    const known = this.#known.get(key);
    if (known === undefined || !('operations' in known)) return known;
    const chains = playOperations(known.read.chains, known.operations, (rule) => ({ rule, packets: 0n, bytes: 0n }));
    if (!chains) {
      this.#known.delete(key);
      return undefined;
    }
    const played = { chains, fingerprint: known.fingerprint };
    this.#known.set(key, played);
    return played;
  }

  /** Legacy tables have no generation: whether anyone committed since cannot be told without reading them back. */
  async unchangedSinceCommit(): Promise<boolean> {
    return false;
  }

  /** Releases the namespace. Safe to call twice; later calls reject with EBADF. */
  close(): void {
    this.#known.clear();
    this.#native.close();
  }
}

function checkFamily(family: unknown): void {
  if (!FAMILIES.includes(family as Family)) invalid('family', '"ipv4" or "ipv6"', family);
}

function checkFamilyAndTable(family: unknown, table: unknown): void {
  checkFamily(family);
  if (!IPT_TABLES.includes(table as IptTableName)) invalid('table', `one of ${IPT_TABLES.join(', ')}`, table);
}

/** `operations[i]: ...` for one table, `ipv6 nat operations[i]: ...` across several. */
function describeAt(changes: readonly IptcTableChange[], index: number): string | undefined {
  let first = 0;
  for (const change of changes) {
    const operation = change.operations[index - first];
    if (operation) {
      const where = changes.length > 1 ? `${change.family} ${change.table} ` : '';
      return `${where}operations[${index - first}]: ${describeOperation(operation)}`;
    }
    first += change.operations.length;
  }
  return undefined;
}
