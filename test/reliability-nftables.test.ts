/**
 * The reliability suite on the nftables backend, plus what only nftables
 * shows: a Firewall that remembers what it committed notices someone else's
 * `nft flush ruleset` and puts everything back on its next call, and rules
 * someone adds with `nft` to the user's chain inside our own table, while we
 * commit, are neither refused nor lost.
 */
import type { SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { NFTABLES } from './reliability/backend.js';
import { openFirewall, pendingChanges, registerReliabilitySuite } from './reliability/suite.js';

registerReliabilitySuite(NFTABLES);

const ENDPOINT = { ipv4: '198.18.40.2', ipv6: '2001:db8:40::2' };
const SPEC: SpecInput = {
  backend: 'nftables', ipv6: true,
  networks: [{
    bridge: 'br-nft', ipv4: { subnet: '198.18.40.0/24' }, ipv6: { subnet: '2001:db8:40::/64' },
    endpoints: [{ ...ENDPOINT, ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

kernelTest('nftables: after someone else\'s `nft flush ruleset`, the next apply or imperative call puts everything back', async (t) => {
  const ns = await createNetns(t, 'flushed');
  const firewall = await openFirewall(t, ns);
  await firewall.apply(SPEC);
  const applied = await NFTABLES.dump(ns);

  // The Firewall remembers its commit as of a generation; the flush moves the generation on.
  await ns.run('nft', 'flush', 'ruleset');
  t.is(await NFTABLES.dump(ns), '');
  t.true((await firewall.apply(SPEC)).changes > 0);
  t.is(await NFTABLES.dump(ns), applied);

  // An imperative call merges its change onto what the kernel holds: after a flush, nothing, so it rebuilds everything.
  await ns.run('nft', 'flush', 'ruleset');
  await firewall.addPorts('br-nft', ENDPOINT, [{ proto: 'udp', hostPort: 5353, containerPort: 53 }]);
  const reference = await createNetns(t, 'flushedref');
  await (await openFirewall(t, reference)).apply(firewall.currentSpec()!);
  t.is(await NFTABLES.dump(ns), await NFTABLES.dump(reference));
});

kernelTest('nftables: rules added with nft to our DOCKER-USER chain while we commit are neither refused nor lost', async (t) => {
  const USER_RULES = 40;
  const EDITS = 40;
  const ns = await createNetns(t, 'userchain');
  const firewall = await openFirewall(t, ns);
  await firewall.apply(SPEC);
  const userRule = (n: number) => `ip saddr 192.0.2.${n} drop`;

  const edits = (async () => {
    for (let i = 0; i < EDITS; i++) {
      const port = { proto: 'tcp' as const, hostPort: 10_000 + i, containerPort: 80 };
      await firewall.addPorts('br-nft', ENDPOINT, [port]);
      if (i % 2 === 1) await firewall.removePorts('br-nft', ENDPOINT, [port]);
    }
  })();
  const user = (async () => {
    for (let n = 0; n < USER_RULES; n++) await ns.run('nft', `add rule ip bridgewall DOCKER-USER ${userRule(n)}`);
  })();
  await Promise.all([edits, user]);

  const chain = await ns.run('nft', 'list', 'chain', 'ip', 'bridgewall', 'DOCKER-USER');
  for (let n = 0; n < USER_RULES; n++) t.true(chain.includes(userRule(n)), userRule(n));
  // Ours is as planned too: a Firewall that committed nothing reads the kernel and finds nothing to do.
  const reader = await openFirewall(t, ns);
  t.is(pendingChanges(await reader.dryRun(firewall.currentSpec()!)), 0);
  // Removing everything of ours keeps the user's chain, with its rules.
  await firewall.flush('nftables');
  t.is(await ns.run('nft', 'list', 'chain', 'ip', 'bridgewall', 'DOCKER-USER'), chain);
});
