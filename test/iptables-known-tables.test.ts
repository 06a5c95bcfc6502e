/**
 * An apply on the iptables backends starts from the tables as this backend's
 * last commit left them (RuleTables.known), not from a read: a commit
 * computed from them is refused if anyone changed a table since, and the
 * apply then reads afresh and keeps what the other writer did. A known table
 * the changes leave alone is read (the commit would not check it).
 */
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { IPTABLES_FLAVOURS, iptablesTool, savedTables, type IptablesFlavour } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { tablesReadIn } from './helpers/table-reads.js';

function spec(backend: IptablesFlavour, ports: number): SpecInput {
  return {
    backend, userlandProxy: false,
    networks: [
      {
        bridge: 'br-kt', ipv4: { subnet: '198.18.40.0/24' },
        endpoints: [{ ipv4: '198.18.40.2', ports: Array.from({ length: ports }, (_, i) => ({ proto: 'tcp' as const, containerPort: 80 + i, hostPort: 8000 + i })) }],
      },
      ...(ports > 1 ? [{ bridge: 'br-kt2', ipv4: { subnet: '198.18.41.0/24' }, internal: true, endpoints: [{ ipv4: '198.18.41.2' }] }] : []),
    ],
  };
}

for (const flavour of IPTABLES_FLAVOURS) {
  kernelTest(`${flavour}: an apply after this backend's own commit reads back no table it changes; after someone else's it reads afresh and keeps their rules`, async (t) => {
    const ns = await createNetns(t, `kt${flavour.length}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    await firewall.apply(spec(flavour, 1));
    const readsOf = () => tablesReadIn(ns.path);
    const afterFirst = readsOf().length;
    t.true(readsOf().includes('ipv4 nat') && readsOf().includes('ipv4 filter'), 'the first apply read the tables');
    // More ports and a new internal network: rules added in several chains of filter and nat.
    t.true((await firewall.apply(spec(flavour, 5))).changes > 0);
    await firewall.apply(spec(flavour, 3));
    // Only a table the changes leave alone is read (the commit would not check it): raw, which Docker's rules here never change.
    t.deepEqual(readsOf().slice(afterFirst).filter((table) => table !== 'ipv4 raw'), [], 'applies after its own commits read back no table they change');

    await ns.run(iptablesTool(flavour, 'ipv4'), '-w', '-t', 'filter', '-I', 'DOCKER', '-s', '203.0.113.7', '-j', 'ACCEPT');
    await firewall.apply(spec(flavour, 4));
    t.true(readsOf().slice(afterFirst).includes('ipv4 filter'), 'an apply after someone else committed reads the tables back');
    const saved = await savedTables(ns, 'ipv4', flavour);
    t.regex(saved, /-A DOCKER -s 203\.0\.113\.7\/32 -j ACCEPT/);
    t.regex(saved, /--dport 8003 -j DNAT/);
    t.notRegex(saved, /--dport 8004 /);
    // The kernel holds exactly the spec: a fresh Firewall's apply of it changes nothing.
    const reference = await Firewall.open({ netns: ns.path });
    t.like(await reference.apply(firewall.currentSpec()!), { changes: 0 });
    await reference.close();
  });
}
