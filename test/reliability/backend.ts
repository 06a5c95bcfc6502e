/**
 * What the reliability suite needs to know about a backend: how to dump the
 * whole of a namespace's ruleset with the system tools (everything, not only
 * ours, so that any stray change shows), and how someone else writes to it
 * with those tools at the same time.
 */
import type { BackendName } from '../../src/backends/backend.js';
import { normaliseSave, type TestNetns } from '../helpers/netns.js';

export interface ReliabilityBackend {
  name: BackendName;
  /** The full ruleset of the namespace, counters zeroed. */
  dump(ns: TestNetns): Promise<string>;
  /**
   * The ruleset cut into the units the kernel replaces atomically: the whole
   * ruleset for nftables and iptables-nft (one transaction for every table of
   * both families), each table of each family for legacy iptables, where a
   * process killed between two table commits cannot put back the earlier ones.
   */
  atomicUnits(ns: TestNetns): Promise<string[]>;
  /** Adds one rule of someone else's, by the system tool; `n` makes it unique. */
  foreignWrite(ns: TestNetns, n: number): Promise<void>;
  /** How the rule `foreignWrite(n)` added reads in `dump`. */
  foreignRule(n: number): string;
}

export const IPTABLES: ReliabilityBackend = {
  name: 'iptables',
  async dump(ns) {
    return normaliseSave(await ns.run('iptables-legacy-save')) + normaliseSave(await ns.run('ip6tables-legacy-save'));
  },
  async atomicUnits(ns) {
    const units = [];
    for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
      for (const table of ['raw', 'filter', 'nat']) units.push(normaliseSave(await ns.run(tool, '-t', table)));
    }
    return units;
  },
  async foreignWrite(ns, n) {
    // -w: wait for the xtables lock like any well-behaved iptables caller.
    await ns.run('iptables-legacy', '-w', '-A', 'INPUT', '-s', `192.0.2.${n % 250}/32`, '-p', 'tcp', '--dport', String(1000 + n), '-j', 'ACCEPT');
  },
  foreignRule(n) {
    return `-A INPUT -s 192.0.2.${n % 250}/32 -p tcp -m tcp --dport ${1000 + n} -j ACCEPT`;
  },
};

const IPTABLES_NFT_TABLES = ['raw', 'filter', 'nat'];

export const IPTABLES_NFT: ReliabilityBackend = {
  name: 'iptables-nft',
  async dump(ns) {
    // Table by table: a table the tool has not seen reads as its empty built-in chains, as one a flush left.
    let text = '';
    for (const tool of ['iptables-nft-save', 'ip6tables-nft-save']) {
      for (const table of IPTABLES_NFT_TABLES) text += normaliseSave(await ns.run(tool, '-t', table));
    }
    return text;
  },
  async atomicUnits(ns) {
    // Every table of both families is one netlink transaction: all of them old or all new.
    return [await IPTABLES_NFT.dump(ns)];
  },
  async foreignWrite(ns, n) {
    // The host's iptables (nf_tables flavour), which retries its own transaction on ERESTART.
    await ns.run('iptables-nft', '-w', '-A', 'INPUT', '-s', `192.0.2.${n % 250}/32`, '-p', 'tcp', '--dport', String(1000 + n), '-j', 'ACCEPT');
  },
  foreignRule: (n) => IPTABLES.foreignRule(n),
};

/** Someone else's table, with a base chain of its own, which our commits must neither break nor remove. */
const FOREIGN_TABLE = 'inet someone';

export const NFTABLES: ReliabilityBackend = {
  name: 'nftables',
  async dump(ns) {
    // -s (stateless) leaves counters out; handles show only with -a; nft sorts set elements itself.
    return ns.run('nft', '-s', 'list', 'ruleset');
  },
  async atomicUnits(ns) {
    // Both families are one netlink transaction: the whole ruleset is one unit.
    return [await NFTABLES.dump(ns)];
  },
  async foreignWrite(ns, n) {
    // One nft transaction, as an nft caller would write it; adding a table or chain that exists is a no-op.
    await ns.run('nft', [
      `add table ${FOREIGN_TABLE}`,
      `add chain ${FOREIGN_TABLE} input { type filter hook input priority 0; policy accept; }`,
      `add rule ${FOREIGN_TABLE} input ${NFTABLES.foreignRule(n)}`,
    ].join('; '));
  },
  foreignRule(n) {
    return `ip saddr 192.0.2.${n % 250} tcp dport ${1000 + n} accept`;
  },
};
