/**
 * Switching backends removes what the old one programmed but keeps the user's
 * rules in its DOCKER-USER chain, which nothing jumps to any more: the apply
 * (and a flush that does the same) says so with WDOCKERUSERLEFT.
 */
import type { ExecutionContext } from 'ava';
import type { BackendName } from '../src/backends/backend.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const SPEC: SpecInput = {
  ipv6: true,
  networks: [{
    bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
    endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

async function openFirewall(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

const TOOL = { iptables: 'iptables-legacy', 'iptables-nft': 'iptables-nft' } as const;

for (const [from, to] of [['iptables', 'nftables'], ['iptables-nft', 'nftables'], ['iptables', 'iptables-nft']] as const) {
  kernelTest(`switching from ${from} to ${to} warns of the user's rules left in ${from}'s DOCKER-USER`, async (t) => {
    const ns = await createNetns(t, 'switchuser');
    const firewall = await openFirewall(t, ns);
    const applied = await firewall.apply({ ...SPEC, backend: from });
    await ns.run(TOOL[from], '-A', 'DOCKER-USER', '-s', '192.0.2.0/24', '-j', 'DROP');
    await ns.run(TOOL[from], '-A', 'DOCKER-USER', '-s', '192.0.2.128/25', '-j', 'DROP');

    const switched = await firewall.apply({ ...SPEC, backend: to });
    t.true(switched.otherBackendChanges > 0);
    // Every rule and chain the first apply added goes, but the IPv4 DOCKER-USER with the user's rules.
    t.like(switched.otherBackendCounts, {
      rules: { added: 0, deleted: applied.counts.rules.added }, chains: { added: 0, deleted: applied.counts.chains.added - 1 },
    });
    // IPv4 only: the IPv6 DOCKER-USER was empty and went with the rest.
    t.deepEqual(switched.warnings.filter((warning) => warning.code === 'WDOCKERUSERLEFT'), [{
      code: 'WDOCKERUSERLEFT',
      message: `The ${from} backend's DOCKER-USER chain (IPv4, filter table) still holds 2 rules, which bridgewall keeps as the user's, ` +
        `but nothing jumps to it any more, so they filter nothing: apply with backend ${from} again, ` +
        `or delete the chain (${TOOL[from]} -F DOCKER-USER; ${TOOL[from]} -X DOCKER-USER)`,
    }]);
    const save = await ns.run(`${TOOL[from]}-save`, '-t', 'filter');
    t.regex(save, /^-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP$/m);
    t.notRegex(save, /-j DOCKER-USER/);

    // Said once: the next apply (and a flush) finds nothing of the old backend's to remove.
    t.deepEqual((await firewall.apply({ ...SPEC, backend: to })).warnings, []);
    t.is((await firewall.flush(from as BackendName)).warnings, undefined);
  });
}

kernelTest('a switch that leaves an empty DOCKER-USER, or none, says nothing; a flush that disconnects a full one says so', async (t) => {
  const ns = await createNetns(t, 'switchquiet');
  const firewall = await openFirewall(t, ns);
  await firewall.apply({ ...SPEC, backend: 'iptables-nft' });
  t.deepEqual((await firewall.apply({ ...SPEC, backend: 'nftables' })).warnings, []);
  t.notRegex(await ns.run('iptables-nft-save'), /DOCKER/);

  await firewall.apply({ ...SPEC, backend: 'iptables' });
  await ns.run('ip6tables-legacy', '-A', 'DOCKER-USER', '-s', '2001:db8:ffff::/48', '-j', 'DROP');
  const flushed = await firewall.flush('iptables');
  t.deepEqual(flushed.warnings?.map((warning) => warning.message.split(', which')[0]),
    ["The iptables backend's DOCKER-USER chain (IPv6, filter table) still holds 1 rule"]);
  t.regex(flushed.warnings![0]!.message, /\(ip6tables-legacy -F DOCKER-USER; ip6tables-legacy -X DOCKER-USER\)$/);
});

kernelTest('switching from nftables warns of the user\'s rules left in its DOCKER-USER, the table kept for them', async (t) => {
  const ns = await createNetns(t, 'switchnft');
  const firewall = await openFirewall(t, ns);
  await firewall.apply({ ...SPEC, backend: 'nftables' });
  await ns.run('nft', 'add', 'rule', 'ip6', 'bridgewall', 'DOCKER-USER', 'ip6', 'saddr', '2001:db8:ffff::/48', 'drop');
  const switched = await firewall.apply({ ...SPEC, backend: 'iptables-nft' });
  t.deepEqual(switched.warnings.filter((warning) => warning.code === 'WDOCKERUSERLEFT'), [{
    code: 'WDOCKERUSERLEFT',
    message: 'The nftables backend\'s DOCKER-USER chain (IPv6, table ip6 bridgewall) still holds 1 rule, which bridgewall keeps as the user\'s, ' +
      'but nothing jumps to it any more, so they filter nothing: apply with backend nftables again, or delete the chain (nft delete table ip6 bridgewall)',
  }]);
  t.regex(await ns.run('nft', 'list', 'table', 'ip6', 'bridgewall'), /^\s+chain DOCKER-USER \{\n\s+ip6 saddr 2001:db8:ffff::\/48 drop\n\s+\}\n\}\n$/m);
});
