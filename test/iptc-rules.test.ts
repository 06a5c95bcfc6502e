/**
 * The rule encoding against iptables 1.8.9 itself: each table is built once
 * with iptables-legacy in one namespace and once through the library in
 * another; the kernel must then hold the same entry bytes in both, both must
 * save to the same (and the expected) text, and both must read back as the input rules.
 */
import type { ExecutionContext } from 'ava';
import { IptcTable } from '../src/iptc/table';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns';
import {
  buildOperations,
  expectedSave,
  iptablesCommand,
  saveArguments,
  saveCommand,
  TABLE_CASES,
  type TableCase,
} from './helpers/iptc-rules';

async function buildWithIptables(netns: TestNetns, tableCase: TableCase): Promise<void> {
  const iptables = iptablesCommand(tableCase.family);
  for (const chain of tableCase.chains) await netns.run(iptables, '-t', tableCase.table, '-N', chain);
  for (const { chain, save } of tableCase.rules) {
    await netns.run(iptables, '-t', tableCase.table, '-A', chain, ...saveArguments(save));
  }
}

/** The table built by iptables-legacy in one namespace and by the library in another. */
interface BothTables {
  byIptables: TestNetns;
  byLibrary: TestNetns;
  cliTable: IptcTable;
  libTable: IptcTable;
}

async function buildBoth(t: ExecutionContext, tableCase: TableCase): Promise<BothTables> {
    const [byIptables, byLibrary] = await Promise.all([createNetns(t, 'cli'), createNetns(t, 'lib')]);
    await buildWithIptables(byIptables, tableCase);
    const [cliTable, libTable] = await Promise.all([
      IptcTable.open({ netns: byIptables.path }),
      IptcTable.open({ netns: byLibrary.path }),
    ]);
    t.teardown(() => {
      cliTable.close();
      libTable.close();
    });
    await libTable.transaction(tableCase.family, tableCase.table, buildOperations(tableCase));
  return { byIptables, byLibrary, cliTable, libTable };
}

for (const tableCase of TABLE_CASES) {
  const title = `${tableCase.family} ${tableCase.table}`;

  kernelTest(`${title}: the library writes what iptables-legacy writes, byte for byte`, async (t) => {
    const { byIptables, byLibrary, cliTable, libTable } = await buildBoth(t, tableCase);

    const cliChains = await cliTable.read(tableCase.family, tableCase.table);
    const libChains = await libTable.read(tableCase.family, tableCase.table);
    t.deepEqual(
      libChains.map((chain) => chain.name),
      cliChains.map((chain) => chain.name),
    );
    for (const [i, cliChain] of cliChains.entries()) {
      const libChain = libChains[i]!;
      t.is(libChain.rules.length, cliChain.rules.length, `rules in ${cliChain.name}`);
      for (const [j, cliRule] of cliChain.rules.entries()) {
        t.is(libChain.rules[j]!.raw.toString('hex'), cliRule.raw.toString('hex'), `${cliChain.name} rule ${j}`);
      }
    }
    const save = saveCommand(tableCase.family);
    t.is(
      normaliseSave(await byLibrary.run(save, '-t', tableCase.table)),
      normaliseSave(await byIptables.run(save, '-t', tableCase.table)),
    );
  });

  kernelTest(`${title}: iptables-legacy-save prints the library's table as expected`, async (t) => {
    const netns = await createNetns(t, 'save');
    const table = await IptcTable.open({ netns: netns.path });
    t.teardown(() => table.close());
    await table.transaction(tableCase.family, tableCase.table, buildOperations(tableCase));
    const saved = await netns.run(saveCommand(tableCase.family), '-t', tableCase.table);
    t.is(normaliseSave(saved), expectedSave(tableCase));
  });

  kernelTest(`${title}: rules read back deep-equal to what was written, and to what iptables wrote`, async (t) => {
    const { cliTable, libTable } = await buildBoth(t, tableCase);
    for (const table of [libTable, cliTable]) {
      const chains = await table.read(tableCase.family, tableCase.table);
      const read = chains.flatMap((chain) => chain.rules.map((entry) => ({ chain: chain.name, rule: entry.rule })));
      t.deepEqual(
        read,
        tableCase.rules.map(({ chain, rule }) => ({ chain, rule })),
      );
    }
  });
}
