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
import { commitChanges } from '../src/backends/iptables/apply.js';
import { IptnftTables } from '../src/iptnft/table.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { IPTABLES_NFT } from './reliability/backend.js';
import { POISONED_NETWORK, poisonedTransaction } from './reliability/poisoned.js';
import { registerReliabilitySuite } from './reliability/suite.js';

registerReliabilitySuite(IPTABLES_NFT);

kernelTest('iptables-nft: a kernel failure at the last message of a transaction over every table of both families commits nothing', async (t) => {
  const ns = await createNetns(t, 'nftrollback');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables-nft', ipv6: true, networks: [POISONED_NETWORK] });
  await ns.run('iptables-nft', '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT');
  const before = await IPTABLES_NFT.dump(ns);
  const ruleset = await ns.run('nft', 'list', 'ruleset');

  const tables = await IptnftTables.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const { planned, poisoned } = await poisonedTransaction(tables, 'iptables-nft');
  t.deepEqual(planned.map((change) => `${change.family} ${change.table}`).sort(), ['ipv4 filter', 'ipv4 nat', 'ipv4 raw', 'ipv6 filter', 'ipv6 nat', 'ipv6 raw']);
  t.deepEqual([planned.at(-1)!.family, planned.at(-1)!.table], ['ipv6', 'nat']);
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
