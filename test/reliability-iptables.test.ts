/**
 * The reliability suite on the iptables backend, plus what only libiptc can
 * show: a transaction whose last table fails in the kernel at commit, after
 * the tables before it (IPv4 among them) were committed, puts those back.
 */
import { Firewall } from '../src/firewall.js';
import { IptcTable } from '../src/iptc/table.js';
import { NetfilterError } from '../src/errors.js';
import { FAMILIES } from '../src/family.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { IPTABLES } from './reliability/backend.js';
import { POISONED_NETWORK, poisonedTransaction } from './reliability/poisoned.js';
import { registerReliabilitySuite } from './reliability/suite.js';

registerReliabilitySuite(IPTABLES);

kernelTest('iptables: a kernel failure at the commit of the last (IPv6) table puts back every table committed before it', async (t) => {
  const ns = await createNetns(t, 'rollback');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables', ipv6: true, networks: [POISONED_NETWORK] });
  await ns.run('iptables-legacy', '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT');
  // The plan below writes into raw, which the apply above had no need to open: reading it creates the
  // (empty) table, which no rollback can remove. Loaded first, so that the dumps compare content.
  await IPTABLES.atomicUnits(ns);
  const before = await IPTABLES.dump(ns);

  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const { planned, poisoned } = await poisonedTransaction(tables, 'iptables');
  t.deepEqual([planned.at(-1)!.family, planned.at(-1)!.table], ['ipv6', 'nat']);
  t.true(planned.some((change) => change.family === 'ipv4'));
  const error = await t.throwsAsync(tables.commit(poisoned), { instanceOf: NetfilterError });
  t.is(error.operation, 'iptc.commit');
  t.is(error.code, 'EINVAL');
  t.regex(error.message, /ipv6 table nat/);
  t.is(await IPTABLES.dump(ns), before);
});

kernelTest('iptables: an operation failing at the end of a multi-table transaction commits nothing and is named', async (t) => {
  const ns = await createNetns(t, 'opfail');
  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  // Reading loads the tables into the namespace, so that the dumps compare their content.
  for (const family of FAMILIES) await tables.read(family, 'filter');
  const before = await IPTABLES.dump(ns);
  const error = await t.throwsAsync(tables.commit([
    { family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'A' }] },
    { family: 'ipv6', table: 'filter', operations: [{ op: 'newChain', chain: 'B' }, { op: 'append', chain: 'MISSING', rule: { target: { name: 'ACCEPT' } } }] },
  ]), { instanceOf: NetfilterError });
  t.is(error.index, 2);
  t.regex(error.object ?? '', /^ipv6 filter operations\[1\]: append to chain MISSING/);
  t.is(await IPTABLES.dump(ns), before);
});

kernelTest('iptables: a transaction computed from a stale read is refused with ERESTART', async (t) => {
  const ns = await createNetns(t, 'stale');
  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const { fingerprint } = await tables.readWithFingerprint('ipv4', 'filter');
  t.is((await tables.readWithFingerprint('ipv4', 'filter')).fingerprint, fingerprint);
  await ns.run('iptables-legacy', '-w', '-N', 'SOMEONE-ELSE');
  const error = await t.throwsAsync(tables.commit([{ family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'OURS' }], fingerprint }]), { instanceOf: NetfilterError });
  t.is(error.code, 'ERESTART');
  t.false((await IPTABLES.dump(ns)).includes('OURS'));
});
