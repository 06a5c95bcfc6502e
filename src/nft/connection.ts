/**
 * NftConnection: one netfilter netlink socket, opened inside a network
 * namespace and kept. Batches commit as single transactions; reads come back
 * as plain data the library can rebuild its state from.
 */
import { callNative, invalid, NetfilterError } from '../errors';
import { binding } from '../native/binding';
import { checkNetns } from '../netns';
import type { NativeChain, NativeNftConnection, NativeRule, NativeSet, NativeTable } from '../native/nft';
import { NFPROTO, type NftFamily } from './constants';
import { checkName, type NftBatch } from './batch';

export interface ConnectionOptions {
  /** A network namespace path such as /run/netns/NAME or /proc/PID/ns/net; default: the caller's. */
  netns?: string;
}

export interface NftTableInfo {
  name: string;
  family: NftFamily;
  flags: number;
  handle: number;
}

export interface NftTableState {
  /** The ruleset generation the state was read at: pass it to commit() for optimistic concurrency. */
  generation: number;
  /** null when the table does not exist. */
  table: NftTableInfo | null;
  chains: NativeChain[];
  rules: NativeRule[];
  sets: NativeSet[];
}

/** What a commit did. */
export interface NftCommit {
  /**
   * By batch message index: the handle the kernel gave the rule the message
   * added (addRule, insertRule), undefined for other messages. The kernel
   * echoes the first and last rule of each table's run of added rules; it
   * numbers a table's rules, chains and sets from one counter in message
   * order, so the rules between take the handles between when the two
   * echoed handles span exactly the run. When they do not, something else
   * took a handle in between and the run's handles are left undefined.
   */
  ruleHandles: readonly (number | undefined)[];
}

const familyName = new Map<number, NftFamily>(Object.entries(NFPROTO).map(([name, number]) => [number, name as NftFamily]));
/** Reads retried when the ruleset keeps changing underneath. */
const MAX_READ_ATTEMPTS = 20;

export class NftConnection {
  private native: NativeNftConnection | undefined;

  private constructor(native: NativeNftConnection) {
    this.native = native;
  }

  static async open(options: ConnectionOptions = {}): Promise<NftConnection> {
    const netns = checkNetns(options.netns);
    return new NftConnection(await callNative(() => binding.openNftConnection(netns)));
  }

  get closed(): boolean {
    return this.native === undefined;
  }

  /** The current ruleset generation id. */
  generation(): Promise<number> {
    const native = this.handle('nft.generation');
    return callNative(() => native.generation());
  }

  /**
   * Commits the batch as one transaction. With `generation`, the kernel
   * refuses it (code ERESTART) if the ruleset changed since that generation.
   * On failure nothing is applied and `index` names the rejected object.
   * Resolves to the handles the kernel gave the rules the batch added.
   */
  async commit(batch: NftBatch, options: { generation?: number } = {}): Promise<NftCommit> {
    const native = this.handle('nft.commit');
    if (options.generation !== undefined && (!Number.isInteger(options.generation) || options.generation < 0)) {
      invalid('generation', 'a generation id from generation() or readTable()', options.generation);
    }
    if (batch.length === 0) return { ruleHandles: [] };
    const handles = await callNative(() => native.commit(batch.messages, options.generation), (index) => batch.describe(index));
    return { ruleHandles: Array.from(handles, (handle) => (handle === 0 ? undefined : handle)) };
  }

  /**
   * Reads a table's chains, rules, sets and elements as of one generation.
   * Rules whose handles `knownHandles` lists come without their expressions
   * (only their counter's values): a reader that decoded them before reads
   * again only what is new.
   */
  async readTable(family: NftFamily, name: string, options: { knownHandles?: Float64Array } = {}): Promise<NftTableState> {
    const native = this.handle('nft.dump');
    const number = NFPROTO[family];
    if (number === undefined) invalid('family', `one of ${Object.keys(NFPROTO).join(', ')}`, family);
    checkName(name, 'table');
    for (let attempt = 1; ; attempt++) {
      const dump = await callNative(() => native.dumpTable(number, name, options.knownHandles)).catch(interruptedDump);
      if (dump?.consistent) {
        return {
          generation: dump.generation,
          table: dump.table && tableInfo(dump.table),
          chains: dump.chains,
          rules: dump.rules,
          sets: dump.sets,
        };
      }
      if (attempt === MAX_READ_ATTEMPTS) {
        throw new NetfilterError({
          code: 'ERESTART', errno: 85, operation: 'nft.dump',
          message: `the ruleset changed during each of ${MAX_READ_ATTEMPTS} reads of table ${family} ${name}`,
        });
      }
    }
  }

  /** Lists the tables of one family, or of all families; read again when the ruleset changed during the read. */
  async listTables(family?: NftFamily): Promise<NftTableInfo[]> {
    const native = this.handle('nft.dump');
    const number = family === undefined ? 0 : NFPROTO[family];
    for (let attempt = 1; ; attempt++) {
      const tables = await callNative(() => native.listTables(number)).catch((error: unknown) => {
        if (attempt === MAX_READ_ATTEMPTS) throw error;
        return interruptedDump(error);
      });
      if (tables) return tables.map(tableInfo);
    }
  }

  /** Closes the socket. Safe to call more than once. */
  close(): void {
    this.native?.close();
    this.native = undefined;
  }

  private handle(operation: string): NativeNftConnection {
    if (this.native === undefined) {
      throw new NetfilterError({ code: 'EBADF', errno: 9, operation, message: 'the nftables connection is closed' });
    }
    return this.native;
  }
}

/**
 * A dump the kernel cut short because the ruleset changed during it
 * (NLM_F_DUMP_INTR, surfaced as EINTR) is read again, like one that spans
 * two generations; any other failure stands.
 */
function interruptedDump(error: unknown): undefined {
  if (error instanceof NetfilterError && error.code === 'EINTR') return undefined;
  throw error;
}

function tableInfo(table: NativeTable): NftTableInfo {
  return { name: table.name, family: familyName.get(table.family) ?? 'inet', flags: table.flags, handle: table.handle };
}
