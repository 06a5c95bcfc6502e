/**
 * Host-address families and chosen host ports in the kernel, on both
 * backends, read back with the standard tools (iptables-legacy-save,
 * ip6tables-legacy-save, nft list): 0.0.0.0 publishes on IPv4 only, :: on
 * IPv6 only, no host address on both; a port without a host port gets one
 * from the namespace's own ip_local_port_range (less ip_local_reserved_ports),
 * the same on both families, reported in the result and kept by currentSpec.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import { FAMILIES, type Family } from '../src/family.js';
import type { FirewallBackend, PortInput, SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const BACKENDS: readonly FirewallBackend[] = ['iptables', 'nftables'];
const ENDPOINT = { ipv4: '198.18.7.2', ipv6: '2001:db8:7::2' };

const spec = (backend: FirewallBackend, ports: PortInput[]): SpecInput => ({
  backend, ipv6: true,
  networks: [{ bridge: 'br-fam', ipv4: { subnet: '198.18.7.0/24' }, ipv6: { subnet: '2001:db8:7::/64' }, endpoints: [{ ...ENDPOINT, ports }] }],
});

/** The kernel's rules of one family, as the standard tool prints them. */
async function rules(ns: TestNetns, backend: FirewallBackend, family: Family): Promise<string> {
  if (backend === 'iptables') return ns.run(family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save', '-t', 'nat');
  return ns.run('nft', 'list', 'table', family === 'ipv4' ? 'ip' : 'ip6', 'bridgewall');
}

/** Whether the family's rules DNAT `hostPort` to the endpoint's container port `containerPort`. */
async function publishes(ns: TestNetns, backend: FirewallBackend, family: Family, hostPort: number, containerPort = 80): Promise<boolean> {
  const text = await rules(ns, backend, family);
  const address = ENDPOINT[family];
  if (backend === 'iptables') {
    const destination = family === 'ipv4' ? `${address}:${containerPort}` : `[${address}]:${containerPort}`;
    return new RegExp(`--dport ${hostPort} -j DNAT --to-destination ${destination.replace(/[.[\]]/g, '\\$&')}\\n`).test(text);
  }
  return text.includes(`tcp . ${hostPort} counter packets 0 bytes 0 : ${address} . ${containerPort}`);
}

async function open(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

for (const backend of BACKENDS) {
  kernelTest(`${backend}: 0.0.0.0 publishes on IPv4 only, :: on IPv6 only, no host address and both on both`, async (t) => {
    const ns = await createNetns(t, `fam${backend.slice(0, 3)}`);
    const firewall = await open(t, ns);
    const cases: [PortInput[], boolean, boolean][] = [
      [[{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }], true, false],
      [['[::]:8080:80'], false, true],
      [['8080:80'], true, true],
      // Docker's own bindings for -p 8080:80: two, one per family, no clash.
      [['0.0.0.0:8080:80', '[::]:8080:80'], true, true],
    ];
    for (const [ports, ipv4, ipv6] of cases) {
      await firewall.apply(spec(backend, ports));
      t.is(await publishes(ns, backend, 'ipv4', 8080), ipv4, `${JSON.stringify(ports)} on IPv4`);
      t.is(await publishes(ns, backend, 'ipv6', 8080), ipv6, `${JSON.stringify(ports)} on IPv6`);
    }
  });

  kernelTest(`${backend}: a port without a host port gets one from the namespace's ephemeral range, kept on re-apply`, async (t) => {
    const ns = await createNetns(t, `eph${backend.slice(0, 3)}`);
    await ns.run('sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40009');
    await ns.run('sysctl', '-q', '-w', 'net.ipv4.ip_local_reserved_ports=40000');
    const firewall = await open(t, ns);
    const result = await firewall.apply(spec(backend, ['80', '127.0.0.1::81', '0.0.0.0::82', '[::]::82']));
    // 40000 is reserved; 81 on 127.0.0.1 holds 40002 on IPv4, so 82's two bindings share 40003.
    t.deepEqual(result.allocatedHostPorts, [
      { field: 'networks[0].endpoints[0].ports[0]', hostPort: 40001 },
      { field: 'networks[0].endpoints[0].ports[1]', hostPort: 40002 },
      { field: 'networks[0].endpoints[0].ports[2]', hostPort: 40003 },
      { field: 'networks[0].endpoints[0].ports[3]', hostPort: 40003 },
    ]);
    for (const family of FAMILIES) t.true(await publishes(ns, backend, family, 40001, 80), family);
    t.true(await publishes(ns, backend, 'ipv4', 40003, 82));
    t.true(await publishes(ns, backend, 'ipv6', 40003, 82));
    t.regex(await rules(ns, backend, 'ipv4'), /127\.0\.0\.1/);
    t.false(await publishes(ns, backend, 'ipv6', 40002, 81));

    const held = firewall.currentSpec()!;
    t.deepEqual(held.networks![0]!.endpoints![0]!.ports!.map((port) => typeof port === 'string' ? port : port.hostPort), [40001, 40002, 40003, 40003]);
    const again = await firewall.apply(held);
    t.is(again.changes, 0);
    t.deepEqual(again.allocatedHostPorts, []);

    // The imperative call chooses against what is held and reports by its own field.
    const added = await firewall.addPorts('br-fam', { ipv4: ENDPOINT.ipv4 }, ['8080:8080', '83']);
    t.deepEqual(added.allocatedHostPorts, [{ field: 'ports[1]', hostPort: 40004 }]);
    for (const family of FAMILIES) t.true(await publishes(ns, backend, family, 40004, 83), family);
    // Removed as it was added: the container port alone names it, whatever host port was chosen.
    t.true((await firewall.removePorts('br-fam', { ipv4: ENDPOINT.ipv4 }, ['83'])).changes > 0);
    for (const family of FAMILIES) t.false(await publishes(ns, backend, family, 40004, 83), family);
  });

  kernelTest(`${backend}: on a routed network a port without a host port is opened, not translated`, async (t) => {
    const ns = await createNetns(t, `rt${backend.slice(0, 3)}`);
    const firewall = await open(t, ns);
    const routed = spec(backend, ['80']);
    routed.networks![0]!.gatewayMode = 'routed';
    const result = await firewall.apply(routed);
    t.deepEqual(result.allocatedHostPorts, []);
    for (const family of FAMILIES) {
      // No DNAT rule (iptables), no element of a DNAT map (nftables), but the container port opened.
      t.notRegex(await rules(ns, backend, family), backend === 'iptables' ? /-j DNAT/ : new RegExp(`: ${ENDPOINT[family]} \\. 80`), family);
    }
    const forward = backend === 'iptables'
      ? await ns.run('iptables-legacy-save', '-t', 'filter')
      : await ns.run('nft', 'list', 'table', 'ip', 'bridgewall');
    t.true(forward.includes(backend === 'iptables' ? '-d 198.18.7.2/32 ! -i br-fam -o br-fam -p tcp -m tcp --dport 80 -j ACCEPT' : '198.18.7.2 . tcp . 80'));
  });
}
