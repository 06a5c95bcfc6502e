/**
 * The reliability suite on the iptables backend, plus what only libiptc can
 * show: a transaction whose last table fails in the kernel at commit, after
 * the tables before it (IPv4 among them) were committed, puts those back.
 */
import { Firewall } from '../src/firewall.js';
import { IptcTable, type IptcTableChange } from '../src/iptc/table.js';
import { planChanges } from '../src/backends/iptables/apply.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { parseSpec } from '../src/input/validate.js';
import { NetfilterError } from '../src/errors.js';
import { FAMILIES } from '../src/family.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { IPTABLES } from './reliability/backend.js';
import { registerReliabilitySuite } from './reliability/suite.js';

registerReliabilitySuite(IPTABLES);

kernelTest('iptables: a kernel failure at the commit of the last (IPv6) table puts back every table committed before it', async (t) => {
  const ns = await createNetns(t, 'rollback');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const network = { bridge: 'br-rb', ipv4: { subnet: '198.18.30.0/24' }, ipv6: { subnet: '2001:db8:30::/64' } };
  await firewall.apply({ backend: 'iptables', ipv6: true, networks: [network] });
  await ns.run('iptables-legacy', '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT');
  // The plan below writes into raw, which the apply above had no need to open: reading it creates the
  // (empty) table, which no rollback can remove. Loaded first, so that the dumps compare content.
  await IPTABLES.atomicUnits(ns);
  const before = await IPTABLES.dump(ns);

  // 10,000 bindings on both families: every table of both families changes.
  const ports = [{ proto: 'tcp' as const, hostPort: '20000-29999', containerPort: '20000-29999' }];
  const spec = parseSpec({ backend: 'iptables', ipv6: true, networks: [{ ...network, endpoints: [{ ipv4: '198.18.30.2', ipv6: '2001:db8:30::2', ports }] }] });
  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const changes: IptcTableChange[] = await planChanges(tables, planIptables(buildModel(spec)));
  const last = changes.at(-1)!;
  t.deepEqual([last.family, last.table], ['ipv6', 'nat']);
  t.true(changes.some((change) => change.family === 'ipv4'));
  // libiptc accepts DNAT in POSTROUTING; the kernel refuses the table at commit (DNAT is for PREROUTING and OUTPUT).
  const poisoned = [...changes.slice(0, -1), {
    ...last,
    operations: [...last.operations, { op: 'append' as const, chain: 'POSTROUTING', rule: { target: { name: 'DNAT' as const, toAddress: '2001:db8:30::9' } } }],
  }];
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
