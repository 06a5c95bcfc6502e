/**
 * The imperative port API says what is published, on every backend:
 * removePorts removes exactly the ports named whatever shape they were
 * published in (the held spec then holds what is left, canonical), removing
 * what is not published and publishing what already is are no-ops that say
 * so, and a host-port clash is refused in the caller's own terms. Each case
 * is read back from the kernel with the standard tools.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { FirewallBackend, PortSpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const BACKENDS: readonly FirewallBackend[] = ['iptables', 'nftables'];
const ENDPOINT = { ipv4: '198.18.7.2' };
const OTHER = { ipv4: '198.18.7.3' };

/** The DNATs the namespace holds, read with iptables-legacy-save or nft: `PROTO HOSTPORT -> ADDRESS:PORT`. */
async function dnats(ns: TestNetns, backend: FirewallBackend): Promise<string[]> {
  const found: string[] = [];
  if (backend === 'iptables') {
    for (const line of (await ns.run('iptables-legacy-save', '-t', 'nat')).split('\n')) {
      const match = / -p (\w+) .*--dport (\d+)(?::(\d+))? -j DNAT --to-destination ([\d.]+):(\d+)(?:-(\d+))?/.exec(line);
      if (!match) continue;
      const [, proto, first, last, address, container] = match;
      for (let port = Number(first); port <= Number(last ?? first); port++) {
        found.push(`${proto} ${port} -> ${address}:${Number(container) + port - Number(first)}`);
      }
    }
  } else {
    for (const match of (await ns.run('nft', 'list', 'ruleset')).matchAll(/(tcp|udp|sctp) \. (\d+)(?: counter packets \d+ bytes \d+)? : ([\d.]+) \. (\d+)/g)) {
      found.push(`${match[1]} ${match[2]} -> ${match[3]}:${match[4]}`);
    }
  }
  return found.sort();
}

function mappings(first: number, last: number, address = ENDPOINT.ipv4, offset = 0): string[] {
  return Array.from({ length: last - first + 1 }, (_, i) => `tcp ${first + i} -> ${address}:${first + i - offset}`);
}

async function setUp(t: ExecutionContext, backend: FirewallBackend): Promise<{ ns: TestNetns; firewall: Firewall }> {
  const ns = await createNetns(t, `p${backend.slice(0, 3)}`);
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({
    backend, userlandProxy: false,
    networks: [{ bridge: 'br-ports', ipv4: { subnet: '198.18.7.0/24' }, endpoints: [ENDPOINT, OTHER] }],
  });
  return { ns, firewall };
}

function heldPorts(firewall: Firewall, endpoint = 0): PortSpecInput[] {
  return firewall.currentSpec()!.networks![0]!.endpoints![endpoint]!.ports! as PortSpecInput[];
}

/** A fresh Firewall applying currentSpec() finds nothing to change: the kernel holds exactly what the spec says. */
async function assertKernelIsCurrentSpec(t: ExecutionContext, ns: TestNetns, firewall: Firewall): Promise<void> {
  const reference = await Firewall.open({ netns: ns.path });
  t.like(await reference.apply(firewall.currentSpec()!), { changes: 0 }, 'the kernel holds exactly currentSpec()');
  await reference.close();
}

const range = (first: number, last: number): PortSpecInput => ({ proto: 'tcp', hostPort: `${first}-${last}`, containerPort: `${first}-${last}` });

for (const backend of BACKENDS) {
  kernelTest(`${backend}: removing part of a published range unpublishes exactly that part`, async (t) => {
    const { ns, firewall } = await setUp(t, backend);
    await firewall.addPorts('br-ports', ENDPOINT, [range(20000, 20999)]);
    const result = await firewall.removePorts('br-ports', ENDPOINT, [range(20500, 20999)]);
    t.true(result.changes > 0);
    t.deepEqual(heldPorts(firewall), [range(20000, 20499)], 'the held spec is what is left, canonical');
    t.deepEqual(await dnats(ns, backend), mappings(20000, 20499));
    await assertKernelIsCurrentSpec(t, ns, firewall);
  });

  kernelTest(`${backend}: removing one port inside a range splits it; a range over ports published one by one removes them all`, async (t) => {
    const { ns, firewall } = await setUp(t, backend);
    await firewall.addPorts('br-ports', ENDPOINT, [range(20000, 20009)]);
    t.true((await firewall.removePorts('br-ports', ENDPOINT, [{ proto: 'tcp', hostPort: 20005, containerPort: '20005' }])).changes > 0);
    t.deepEqual(heldPorts(firewall), [range(20000, 20004), range(20006, 20009)]);
    t.deepEqual(await dnats(ns, backend), [...mappings(20000, 20004), ...mappings(20006, 20009)]);

    for (const port of [8000, 8001, 8002]) await firewall.addPorts('br-ports', ENDPOINT, [{ proto: 'tcp', hostPort: port, containerPort: port - 7920 }]);
    // 8000-8002 -> 80-82 covers the three, and 20003-20007 what is left around the hole.
    await firewall.removePorts('br-ports', ENDPOINT, [
      { proto: 'tcp', hostPort: '8000-8002', containerPort: '80-82' }, range(20003, 20007),
    ]);
    t.deepEqual(heldPorts(firewall), [range(20000, 20002), range(20008, 20009)]);
    t.deepEqual(await dnats(ns, backend), [...mappings(20000, 20002), ...mappings(20008, 20009)]);
    await assertKernelIsCurrentSpec(t, ns, firewall);
  });

  kernelTest(`${backend}: removing what is not published and publishing what already is change nothing, and say so`, async (t) => {
    const { ns, firewall } = await setUp(t, backend);
    await firewall.addPorts('br-ports', ENDPOINT, [range(20000, 20009), { proto: 'udp', hostPort: 5353, containerPort: 53 }]);
    const before = firewall.currentSpec();
    const kernel = await dnats(ns, backend);
    // Not published: another port, another container port, another protocol, another endpoint.
    for (const [endpoint, port] of [
      [ENDPOINT, { proto: 'tcp', hostPort: 30000, containerPort: 80 }],
      [ENDPOINT, { proto: 'tcp', hostPort: 20001, containerPort: 80 }],
      [ENDPOINT, { proto: 'udp', hostPort: 20001, containerPort: 20001 }],
      [OTHER, { proto: 'udp', hostPort: 5353, containerPort: 53 }],
    ] as const) {
      t.like(await firewall.removePorts('br-ports', endpoint, [port]), { commits: 0, changes: 0 }, JSON.stringify(port));
    }
    // Already published exactly so: the same ports, or ports of a published range.
    t.like(await firewall.addPorts('br-ports', ENDPOINT, [{ proto: 'udp', hostPort: '5353', containerPort: 53 }]), { commits: 0, changes: 0 });
    t.like(await firewall.addPorts('br-ports', ENDPOINT, [range(20000, 20009)]), { commits: 0, changes: 0 });
    t.like(await firewall.addPorts('br-ports', ENDPOINT, [range(20002, 20004), { proto: 'tcp', hostPort: 20009, containerPort: 20009 }]), { commits: 0, changes: 0 });
    t.deepEqual(firewall.currentSpec(), before);
    t.deepEqual(await dnats(ns, backend), kernel);
    // No kernel round trip on any backend (iptables used to read back and diff): rules someone else flushed
    // are not put back by a no-op call either, as with nftables; that is reapply()'s job.
    await ns.run('nft', 'flush', 'ruleset');
    await ns.run('iptables-legacy', '-t', 'nat', '-F');
    t.like(await firewall.removePorts('br-ports', ENDPOINT, [{ proto: 'tcp', hostPort: 30000, containerPort: 80 }]), { commits: 0, changes: 0 });
    t.like(await firewall.addPorts('br-ports', ENDPOINT, [range(20000, 20009)]), { commits: 0, changes: 0 });
  });

  kernelTest(`${backend}: a host-port clash names the caller's argument, the port and who holds it`, async (t) => {
    const { ns, firewall } = await setUp(t, backend);
    await firewall.addPorts('br-ports', ENDPOINT, [{ proto: 'tcp', hostPort: '8080-8081', containerPort: '80-81' }]);
    const before = await dnats(ns, backend);
    const error = await t.throwsAsync(firewall.addPorts('br-ports', OTHER, [
      { proto: 'udp', hostPort: 8081, containerPort: 81 },
      { proto: 'tcp', hostPort: 8081, containerPort: 9000 },
    ]));
    t.like(error, { name: 'ValidationError', code: 'EVALIDATION', field: 'ports[1].hostPort' });
    t.is(error!.message, 'ports[1].hostPort: Expected a host port that is not published yet for ports[1].hostPort but tcp port 8081 ' +
      'on every address (ipv4) is already published to 198.18.7.2 port 81 (networks[0].endpoints[0].ports[0])');
    // A port of a published range, to another container port, clashes too.
    const inRange = await t.throwsAsync(firewall.addPorts('br-ports', ENDPOINT, [{ proto: 'tcp', hostPort: 8080, containerPort: 8080 }]));
    t.like(inRange, { field: 'ports[0].hostPort' });
    t.regex(inRange!.message, /tcp port 8080 on every address \(ipv4\) is already published to 198\.18\.7\.2 port 80 /);
    t.deepEqual(await dnats(ns, backend), before, 'nothing was written');
  });
}

/** Both families' DNATs, read with ip(6)tables-legacy-save or nft: `PROTO HOSTPORT -> ADDRESS:PORT`, IPv6 addresses bracketed. */
async function dualStackDnats(ns: TestNetns, backend: FirewallBackend): Promise<string[]> {
  const found: string[] = [];
  if (backend === 'iptables') {
    for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
      for (const match of (await ns.run(tool, '-t', 'nat')).matchAll(/ -p (\w+) .*--dport (\d+) -j DNAT --to-destination (\[[\da-f:]+\]|[\d.]+):(\d+)/g)) {
        found.push(`${match[1]} ${match[2]} -> ${match[3]}:${match[4]}`);
      }
    }
  } else {
    for (const match of (await ns.run('nft', 'list', 'ruleset')).matchAll(/(tcp|udp|sctp) \. (\d+)(?: counter packets \d+ bytes \d+)? : ([\da-f:.]+) \. (\d+)/g)) {
      found.push(`${match[1]} ${match[2]} -> ${match[3]!.includes(':') ? `[${match[3]}]` : match[3]}:${match[4]}`);
    }
  }
  return found.sort();
}

for (const backend of BACKENDS) {
  kernelTest(`${backend}: an address-less port and its families' halves (0.0.0.0, ::) name the same mappings, either way round`, async (t) => {
    const ns = await createNetns(t, `h${backend.slice(0, 3)}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const endpoint = { ipv4: '198.18.8.2', ipv6: '2001:db8:8::2' };
    await firewall.apply({
      backend, ipv6: true,
      networks: [{ bridge: 'br-half', ipv4: { subnet: '198.18.8.0/24' }, ipv6: { subnet: '2001:db8:8::/64' }, endpoints: [endpoint] }],
    });
    const v4 = 'tcp 8080 -> 198.18.8.2:80';
    const v6 = 'tcp 8080 -> [2001:db8:8::2]:80';
    await firewall.addPorts('br-half', endpoint, ['8080:80']);
    t.deepEqual(await dualStackDnats(ns, backend), [v4, v6]);
    t.like(await firewall.addPorts('br-half', endpoint, ['0.0.0.0:8080:80']), { changes: 0 }, 'the IPv4 half is published already');
    // The IPv4 half of an address-less port goes; its IPv6 half stays, held as [::]:8080:80.
    t.true((await firewall.removePorts('br-half', endpoint, ['0.0.0.0:8080:80'])).changes > 0);
    t.deepEqual(await dualStackDnats(ns, backend), [v6]);
    t.deepEqual(heldPortsOf(firewall), [{ proto: 'tcp', hostIp: '::', hostPort: 8080, containerPort: 80 }]);
    await assertKernelIsCurrentSpec(t, ns, firewall);
    // Halves published one by one are the address-less port: publishing it changes nothing, removing it removes both.
    await firewall.addPorts('br-half', endpoint, ['0.0.0.0:8080:80']);
    t.like(await firewall.addPorts('br-half', endpoint, ['8080:80']), { changes: 0 });
    t.true((await firewall.removePorts('br-half', endpoint, ['8080:80'])).changes > 0);
    t.deepEqual(await dualStackDnats(ns, backend), []);
    t.deepEqual(heldPortsOf(firewall), []);
    await assertKernelIsCurrentSpec(t, ns, firewall);
  });
}

function heldPortsOf(firewall: Firewall): PortSpecInput[] {
  return (firewall.currentSpec()!.networks![0]!.endpoints![0]!.ports ?? []) as PortSpecInput[];
}
