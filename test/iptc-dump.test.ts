/**
 * The packed table dump (src/native/iptc.ts): rules this library does not
 * model read back as the reason why, with their counters and bytes, so that
 * reading never fails on foreign rules; a dump cut short or run long throws
 * rather than being misread.
 */
import test from 'ava';
import { decodeDump } from '../src/iptc/decode';
import { IptcTable } from '../src/iptc/table';
import { binding } from '../src/native/binding';
import { createNetns, kernelTest } from './helpers/netns';

const FOREIGN: readonly (readonly [args: readonly string[], unsupported: string])[] = [
  [['-p', 'tcp', '-m', 'multiport', '--dports', '80,443', '-j', 'ACCEPT'], 'match multiport revision 1'],
  [['-m', 'limit', '--limit', '5/s', '-j', 'ACCEPT'], 'match limit revision 0'],
  [['-p', '47', '-j', 'ACCEPT'], 'protocol 47'],
  [['-s', '192.0.2.0/255.0.255.0', '-j', 'ACCEPT'], 'a non-prefix source mask'],
  [['-m', 'addrtype', '--src-type', 'LOCAL,UNICAST', '-j', 'ACCEPT'], 'addrtype source set 0x6'],
  [['-j', 'REJECT'], 'target REJECT revision 0'],
  [['-i', 'lo'], 'no target'],
  // The first part the model cannot hold names the rule, the target last.
  [['-p', '47', '-m', 'limit', '--limit', '5/s', '-j', 'REJECT'], 'protocol 47'],
];

kernelTest('foreign rules read back as why they are unsupported, between rules that are modelled', async (t) => {
  const netns = await createNetns(t, 'foreign');
  await netns.run('iptables-legacy', '-A', 'INPUT', '-s', '198.51.100.7', '-j', 'DROP');
  for (const [args] of FOREIGN) await netns.run('iptables-legacy', '-A', 'INPUT', ...args);
  await netns.run('iptables-legacy', '-A', 'INPUT', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT');
  const table = await IptcTable.open({ netns: netns.path });
  t.teardown(() => table.close());
  const input = (await table.read('ipv4', 'filter')).find((chain) => chain.name === 'INPUT');
  const rules = input?.rules ?? [];
  t.deepEqual(rules.map((entry) => entry.rule ?? entry.unsupported), [
    { source: '198.51.100.7/32', target: { name: 'DROP' } },
    ...FOREIGN.map(([, unsupported]) => unsupported),
    { protocol: 'udp', matches: [{ name: 'udp', destinationPort: 53 }], target: { name: 'ACCEPT' } },
  ]);
  for (const entry of rules) {
    t.is(entry.packets, 0n);
    t.true(entry.raw.length >= 112);
  }
});

kernelTest('a dump cut short, or with bytes after its end, throws', async (t) => {
  const netns = await createNetns(t, 'cut');
  await netns.run('iptables-legacy', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh', '-j', 'ACCEPT');
  const native = await binding.openIptcTable(netns.path);
  t.teardown(() => native.close());
  const dump = await native.dump('ipv4', 'filter');
  t.is(decodeDump('ipv4', dump).chains.length, 3);
  for (const length of [0, 3, 40, Math.floor(dump.length / 2), dump.length - 1]) {
    t.throws(() => decodeDump('ipv4', dump.subarray(0, length)), { instanceOf: RangeError }, `cut at ${length}`);
  }
  t.throws(() => decodeDump('ipv4', Buffer.concat([dump, Buffer.of(0)])), { instanceOf: RangeError, message: /1 bytes after the end/ });
});

test('an empty buffer is no dump', (t) => {
  t.throws(() => decodeDump('ipv4', Buffer.alloc(0)), { instanceOf: RangeError, message: /runs past the end/ });
});
