/**
 * Which tables either iptables rule home (legacy libiptc, iptables-nft) reads
 * back, per namespace, for tests that prove a call reads nothing back. Each
 * test file runs in a process of its own, so the homes' prototypes are
 * wrapped once for the file; the tests of a file run at once, so reads are
 * kept per namespace path.
 */
import { IptcTable } from '../../src/iptc/table.js';
import { IptnftTables } from '../../src/iptnft/table.js';

interface Home {
  open(options: { netns?: string }): Promise<object>;
  prototype: { readWithFingerprint: (...args: unknown[]) => unknown };
}

const reads = new Map<string, string[]>();
const namespaces = new WeakMap<object, string>();
for (const home of [IptcTable, IptnftTables] as unknown as Home[]) {
  const open = home.open;
  home.open = async function (this: unknown, options: { netns?: string }) {
    const opened = await open.call(this, options);
    namespaces.set(opened, options.netns ?? '');
    return opened;
  };
  const read = home.prototype.readWithFingerprint;
  home.prototype.readWithFingerprint = function (this: object, ...args: unknown[]) {
    const netns = namespaces.get(this) ?? '';
    reads.set(netns, [...(reads.get(netns) ?? []), args.join(' ')]);
    return read.apply(this, args);
  };
}

/** The tables read so far in the namespace at `netns`, as `family table`, in order. */
export function tablesReadIn(netns: string): readonly string[] {
  return reads.get(netns) ?? [];
}
