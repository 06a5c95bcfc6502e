/**
 * IptnftTables' commit in the kernel: how a diff's operations become rule
 * messages (runs of inserts placed without walking past each other) and that
 * the rules land in the order the operations ask, as iptables-nft-save shows them.
 */
import type { IptcOperation } from '../src/iptc/operation.js';
import type { IptRule } from '../src/iptc/rule.js';
import { IptnftTables } from '../src/iptnft/table.js';
import { NftConnection } from '../src/nft/connection.js';
import type { NftBatch } from '../src/nft/batch.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const accept = (address: string): IptRule => ({ source: `${address}/32`, target: { name: 'ACCEPT' } });
const ruleAt = (i: number) => accept(`192.0.2.${i}`);

/**
 * The rule messages of every commit made in this process, as the batch
 * describes them: one spy for the file, installed once, so that no test's
 * teardown drops it while another test still commits.
 */
const committed: string[][] = [];
const originalCommit = NftConnection.prototype.commit;
NftConnection.prototype.commit = function (this: NftConnection, batch: NftBatch, options) {
  committed.push(Array.from({ length: batch.length }, (_, i) => batch.describe(i)!).filter((text) => text.includes(' rule ')));
  return originalCommit.call(this, batch, options);
};

/** The commits since `from` (an index into `committed`) that add to chain `chain` (each test names its own). */
function commitsTo(chain: string, from: number): string[][] {
  return committed.slice(from).filter((rules) => rules.some((text) => text.includes(` ${chain}`)));
}

async function commit(tables: IptnftTables, operations: IptcOperation[]): Promise<void> {
  const { fingerprint } = await tables.readWithFingerprint('ipv4', 'filter');
  await tables.commit([{ family: 'ipv4', table: 'filter', operations, fingerprint }]);
}

async function sources(ns: TestNetns, chain = 'T'): Promise<string[]> {
  const save = await ns.run('iptables-nft-save', '-t', 'filter');
  return [...save.matchAll(new RegExp(`^-A ${chain} -s 192\\.0\\.2\\.(\\d+)/32 -j ACCEPT$`, 'gm'))].map((m) => m[1]!);
}

kernelTest('iptnft commit: runs of inserts at the head, after a kept rule and at the end land in order, none placed by walking past another', async (t) => {
  const ns = await createNetns(t, 'iptnftruns');
  const tables = await IptnftTables.open({ netns: ns.path });
  t.teardown(() => tables.close());
  await commit(tables, [{ op: 'newChain', chain: 'RUNS' }, { op: 'append', chain: 'RUNS', rule: ruleAt(10) }, { op: 'append', chain: 'RUNS', rule: ruleAt(20) }]);
  const connection = await NftConnection.open({ netns: ns.path });
  t.teardown(() => connection.close());
  const handle10 = (await connection.readTable('ip', 'filter')).rules.find((rule) => rule.chain === 'RUNS')!.handle;
  const from = committed.length;
  await commit(tables, [
    ...[1, 2, 3].map((n, i): IptcOperation => ({ op: 'insert', chain: 'RUNS', index: i, rule: ruleAt(n) })),
    ...[11, 12].map((n, i): IptcOperation => ({ op: 'insert', chain: 'RUNS', index: 4 + i, rule: ruleAt(n) })),
    ...[21, 22].map((n, i): IptcOperation => ({ op: 'insert', chain: 'RUNS', index: 7 + i, rule: ruleAt(n) })),
  ]);
  t.deepEqual(await sources(ns, 'RUNS'), ['1', '2', '3', '10', '11', '12', '20', '21', '22']);
  // Head inserts and adds after rule 10, each run last rule first; appends at the end.
  const head = 'insert rule in ip filter RUNS';
  const after10 = `add rule in ip filter RUNS after rule ${handle10}`;
  const end = 'add rule in ip filter RUNS';
  t.deepEqual(commitsTo('RUNS', from), [[head, head, head, after10, after10, end, end]]);
});

kernelTest('iptnft commit: inserts next to a rule the same commit added go before the rule the kernel holds after them', async (t) => {
  const ns = await createNetns(t, 'iptnftnext');
  const tables = await IptnftTables.open({ netns: ns.path });
  t.teardown(() => tables.close());
  await commit(tables, [{ op: 'newChain', chain: 'T' }, { op: 'append', chain: 'T', rule: ruleAt(10) }, { op: 'append', chain: 'T', rule: ruleAt(20) }]);
  await commit(tables, [
    { op: 'insert', chain: 'T', index: 1, rule: ruleAt(11) },
    { op: 'insert', chain: 'T', index: 3, rule: ruleAt(13) },
    { op: 'insert', chain: 'T', index: 2, rule: ruleAt(12) },
    { op: 'deleteAt', chain: 'T', index: 0 },
    { op: 'insert', chain: 'T', index: 0, rule: ruleAt(9) },
  ]);
  t.deepEqual(await sources(ns), ['9', '11', '12', '20', '13']);
});
