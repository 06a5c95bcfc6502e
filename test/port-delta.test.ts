/**
 * The port path (nftables): port calls, and applies that change only ports
 * while the kernel is as this Firewall left it, commit element changes only,
 * as many as the ports changed; and every time, the kernel ends exactly where
 * a declarative apply of the same spec in a fresh process would put it (a
 * second Firewall applying `currentSpec()` finds nothing to commit).
 */
import test, { type ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import { HeldSpec, portEditsBetween } from '../src/held/held-spec.js';
import type { SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const ENDPOINT = { ipv4: '198.18.6.2', ipv6: '2001:db8:6::2' };
const OTHER = { ipv4: '198.18.6.3' };

function spec(ports: number, backend: SpecInput['backend'] = 'nftables'): SpecInput {
  return {
    backend, ipv6: true, userlandProxy: false,
    networks: [{
      bridge: 'br-delta', ipv4: { subnet: '198.18.6.0/24' }, ipv6: { subnet: '2001:db8:6::/64' },
      endpoints: [
        { ...ENDPOINT, ports: Array.from({ length: ports }, (_, i) => ({ proto: 'tcp' as const, hostPort: 20000 + i, containerPort: 20000 + i })) },
        { ...OTHER, ports: [] },
      ],
    }],
  };
}

async function open(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

/** A fresh Firewall applying the spec finds the kernel exactly as it would make it. */
async function assertKernelMatches(t: ExecutionContext, ns: TestNetns, firewall: Firewall): Promise<void> {
  const reference = await open(t, ns);
  t.like(await reference.apply(firewall.currentSpec()!), { commits: 0, changes: 0 }, 'the kernel holds exactly the current spec');
  reference.close();
}

kernelTest('nftables: one port published or unpublished among 1,000 is its elements only, in each family', async (t) => {
  const ns = await createNetns(t, 'delta');
  const firewall = await open(t, ns);
  await firewall.apply(spec(1000));
  const port = { proto: 'udp' as const, hostPort: 5353, containerPort: 53 };
  // Per family: dnat-any-address, hairpin-masquerade, forward-ports.
  t.like(await firewall.addPorts('br-delta', ENDPOINT, [port]), { commits: 1, changes: 6 });
  await assertKernelMatches(t, ns, firewall);
  t.like(await firewall.removePorts('br-delta', ENDPOINT, [{ ...port, hostPort: '5353' }]), { commits: 1, changes: 6 },
    '"5353" is the port 5353');
  await assertKernelMatches(t, ns, firewall);
  t.like(await firewall.removePorts('br-delta', ENDPOINT, [port]), { commits: 0, changes: 0 }, 'nothing left to remove');
});

kernelTest('iptables: one port published or unpublished among 1,000 is its rules only, not the chains rewritten', async (t) => {
  const ns = await createNetns(t, 'deltaipt');
  const firewall = await open(t, ns);
  await firewall.apply(spec(1000, 'iptables'));
  const port = { proto: 'udp' as const, hostPort: 5353, containerPort: 53 };
  // Per family: the DNAT and the hairpin masquerade (nat), the forward accept (filter).
  t.like(await firewall.addPorts('br-delta', ENDPOINT, [port]), { commits: 4, changes: 6 });
  await assertKernelMatches(t, ns, firewall);
  t.like(await firewall.removePorts('br-delta', ENDPOINT, [port]), { commits: 4, changes: 6 });
  await assertKernelMatches(t, ns, firewall);
  // In the middle of the endpoint's ports, by a declarative apply.
  const more = spec(1000, 'iptables');
  more.networks![0]!.endpoints![0]!.ports!.splice(500, 0, port);
  t.like(await firewall.apply(more), { commits: 4, changes: 6 });
  await assertKernelMatches(t, ns, firewall);
});

kernelTest('nftables: an apply that changes only ports commits only their elements', async (t) => {
  const ns = await createNetns(t, 'deltaapply');
  const firewall = await open(t, ns);
  await firewall.apply(spec(100));
  // 10 more ports, both families, 3 elements each.
  t.like(await firewall.apply(spec(110)), { commits: 1, changes: 60 });
  t.like(await firewall.apply(spec(110)), { commits: 0, changes: 0 });
  t.like(await firewall.apply(spec(0)), { commits: 1, changes: 660 });
  await assertKernelMatches(t, ns, firewall);
});

kernelTest('nftables: removing one of two host ports of a container port keeps what they share', async (t) => {
  const ns = await createNetns(t, 'shared');
  const firewall = await open(t, ns);
  await firewall.apply(spec(0));
  const ports = [
    { proto: 'tcp' as const, hostPort: 8080, containerPort: 80 },
    { proto: 'tcp' as const, hostPort: 8081, containerPort: 80 },
  ];
  await firewall.addPorts('br-delta', OTHER, ports);
  // IPv4 only (the endpoint has no IPv6 address): the DNAT of 8080 goes, the forward accept and hairpin of port 80 stay.
  t.like(await firewall.removePorts('br-delta', OTHER, [ports[0]!]), { commits: 1, changes: 1 });
  await assertKernelMatches(t, ns, firewall);
  t.like(await firewall.removePorts('br-delta', OTHER, [ports[1]!]), { commits: 1, changes: 3 });
  await assertKernelMatches(t, ns, firewall);
});

kernelTest('nftables: calls in one tick that publish and unpublish the same port end as called, in order', async (t) => {
  const ns = await createNetns(t, 'order');
  const firewall = await open(t, ns);
  await firewall.apply(spec(10));
  const port = { proto: 'tcp' as const, hostPort: 9000, containerPort: 90 };
  const moved = { proto: 'tcp' as const, hostPort: 9000, containerPort: 91 };
  const results = await Promise.all([
    firewall.addPorts('br-delta', OTHER, [port]),
    firewall.removePorts('br-delta', OTHER, [port]),
    firewall.addPorts('br-delta', OTHER, [moved]),
    firewall.removePorts('br-delta', ENDPOINT, [{ proto: 'tcp', hostPort: 20000, containerPort: 20000 }]),
  ]);
  t.true(results.every((result) => result.commits <= 1));
  t.deepEqual(firewall.currentSpec()!.networks![0]!.endpoints![1]!.ports, [moved]);
  await assertKernelMatches(t, ns, firewall);
});

kernelTest('nftables: a port call finding our table gone falls back to a full change and repairs it', async (t) => {
  const ns = await createNetns(t, 'gone');
  const firewall = await open(t, ns);
  await firewall.apply(spec(5));
  await ns.run('nft', 'flush', 'ruleset');
  const result = await firewall.addPorts('br-delta', OTHER, [{ proto: 'tcp', hostPort: 7000, containerPort: 70 }]);
  t.is(result.commits, 1);
  t.true(result.changes > 3, 'the tables were rebuilt, not only the port added');
  await assertKernelMatches(t, ns, firewall);
});

kernelTest('nftables: a refused port call changes neither the kernel nor the spec held', async (t) => {
  const ns = await createNetns(t, 'refused');
  const firewall = await open(t, ns);
  await firewall.apply(spec(5));
  const before = firewall.currentSpec();
  const clash = await t.throwsAsync(firewall.addPorts('br-delta', OTHER, [
    { proto: 'tcp', hostPort: 7001, containerPort: 71 },
    { proto: 'tcp', hostPort: 20001, containerPort: 80 },
  ]));
  t.like(clash, { name: 'ValidationError', field: 'ports[1].hostPort' });
  t.regex(clash!.message, /is already published to 198\.18\.6\.2 port 20001 \(networks\[0\]\.endpoints\[0\]\.ports\[1\]\)/);
  t.deepEqual(firewall.currentSpec(), before);
  // The host port 7001 was not kept by the refused call.
  t.like(await firewall.addPorts('br-delta', OTHER, [{ proto: 'tcp', hostPort: 7001, containerPort: 71 }]), { commits: 1 });
  await assertKernelMatches(t, ns, firewall);
});

test('port edits between two specs: only when nothing but ports differs', (t) => {
  const before = HeldSpec.parse(spec(2)).spec;
  const edits = portEditsBetween(before, HeldSpec.parse(spec(3)).spec)!;
  t.is(edits.length, 1);
  t.deepEqual(Array.from(edits[0]!.added, (port) => port.hostPort), [{ first: 20002, last: 20002 }]);
  t.deepEqual(edits[0]!.removed, []);
  t.deepEqual(portEditsBetween(before, HeldSpec.parse(spec(2)).spec), []);
  t.is(portEditsBetween(before, HeldSpec.parse({ ...spec(2), userlandProxy: true }).spec), undefined);
  const renamed = spec(2);
  renamed.networks![0]!.endpoints![1]!.ipv4 = '198.18.6.4';
  t.is(portEditsBetween(before, HeldSpec.parse(renamed).spec), undefined);
});

test('a port call finds its endpoint however the address is written', (t) => {
  const held = HeldSpec.parse(spec(2));
  const edit = held.addPorts('br-delta', { ipv6: '2001:DB8:6:0::2' }, [{ proto: 'udp', hostPort: 53, containerPort: 53 }]);
  t.is(edit.endpoint.ipv4, ENDPOINT.ipv4);
  t.is(held.removePorts('br-delta', { ipv6: '2001:db8:6::2' }, [{ proto: 'udp', hostPort: '53', containerPort: 53 }]).removed.length, 1);
  t.like(t.throws(() => held.addPorts('br-delta', ENDPOINT, '8080' as never)), { name: 'ValidationError', field: 'ports' });
  t.like(t.throws(() => held.removePorts('br-delta', ENDPOINT, [{ proto: 'tcp', containerPort: 0 }])), { name: 'ValidationError', field: 'ports[0].containerPort' });
});
