/**
 * The reliability suite on the iptables-nft backend. Its crash test asserts
 * the stronger property one transaction gives: every table of both families
 * old, or every one new. Plus what only this home shows: a kernel failure at
 * the last message of a transaction spanning every table of both families
 * commits nothing, a transaction computed from a stale read is refused with
 * ERESTART, and one that loses that race is computed again and committed.
 */
import { NetfilterError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import { commitChanges, planChanges, type TableChange } from '../src/backends/iptables/apply.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { IptnftTables } from '../src/iptnft/table.js';
import { parseSpec } from '../src/spec/validate.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { IPTABLES_NFT } from './reliability/backend.js';
import { registerReliabilitySuite } from './reliability/suite.js';

registerReliabilitySuite(IPTABLES_NFT);

const NETWORK = { bridge: 'br-rb', ipv4: { subnet: '198.18.30.0/24' }, ipv6: { subnet: '2001:db8:30::/64' } };

kernelTest('iptables-nft: a kernel failure at the last message of a transaction over every table of both families commits nothing', async (t) => {
  const ns = await createNetns(t, 'nftrollback');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables-nft', ipv6: true, networks: [NETWORK] });
  await ns.run('iptables-nft', '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT');
  const before = await IPTABLES_NFT.dump(ns);
  const ruleset = await ns.run('nft', 'list', 'ruleset');

  // 10,000 bindings on both families: every table of both families changes.
  const ports = [{ proto: 'tcp' as const, hostPort: '20000-29999', containerPort: '20000-29999' }];
  const spec = parseSpec({ backend: 'iptables-nft', ipv6: true, networks: [{ ...NETWORK, endpoints: [{ ipv4: '198.18.30.2', ipv6: '2001:db8:30::2', ports }] }] });
  const tables = await IptnftTables.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const changes: TableChange[] = await planChanges(tables, planIptables(buildModel(spec)));
  const last = changes.at(-1)!;
  t.deepEqual([last.family, last.table], ['ipv6', 'nat']);
  t.deepEqual(new Set(changes.map((change) => `${change.family} ${change.table}`)), new Set(['ipv4 raw', 'ipv4 filter', 'ipv4 nat', 'ipv6 raw', 'ipv6 filter', 'ipv6 nat']));
  // nft_compat's DNAT is for PREROUTING and OUTPUT: the kernel refuses the rule when it validates the transaction.
  const poisoned = [...changes.slice(0, -1), {
    ...last,
    operations: [...last.operations, { op: 'append' as const, chain: 'POSTROUTING', rule: { target: { name: 'DNAT' as const, toAddress: '2001:db8:30::9' } } }],
  }];
  const error = await t.throwsAsync(tables.commit(poisoned), { instanceOf: NetfilterError });
  t.is(error.operation, 'nft.commit');
  t.is(error.code, 'EINVAL');
  t.is(error.object, 'add rule in ip6 nat POSTROUTING', 'the refused message is named');
  t.is(await IPTABLES_NFT.dump(ns), before);
  t.is(await ns.run('nft', 'list', 'ruleset'), ruleset);
});

kernelTest('iptables-nft: a transaction computed from a stale read is refused with ERESTART; one losing that race is computed again', async (t) => {
  const ns = await createNetns(t, 'nftstale');
  const tables = await IptnftTables.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const { fingerprint } = await tables.readWithFingerprint('ipv4', 'filter');
  await ns.run('iptables-nft', '-w', '-N', 'SOMEONE-ELSE');
  const error = await t.throwsAsync(tables.commit([{ family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'OURS' }], fingerprint }]), { instanceOf: NetfilterError });
  t.is(error.code, 'ERESTART');
  t.false((await IPTABLES_NFT.dump(ns)).includes('OURS'));

  // The first attempt reads, then someone else commits before it does: the second attempt reads again and wins.
  let attempts = 0;
  const committed = await commitChanges(tables, async () => {
    attempts++;
    const read = await tables.readWithFingerprint('ipv4', 'filter');
    if (attempts === 1) await IPTABLES_NFT.foreignWrite(ns, 1);
    return [{ family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'OURS' }], fingerprint: read.fingerprint }];
  });
  t.is(attempts, 2);
  t.is(committed.commits, 1);
  const dump = await IPTABLES_NFT.dump(ns);
  t.true(dump.includes(':OURS - [0:0]'));
  t.true(dump.includes(':SOMEONE-ELSE - [0:0]'));
  t.true(dump.includes(IPTABLES_NFT.foreignRule(1)));
});
