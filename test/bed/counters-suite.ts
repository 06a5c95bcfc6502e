/**
 * Per-binding counters, proven with packets: connections through one
 * published port (IPv4, IPv6, TCP, UDP, and straight to a routed container)
 * move that binding's DNAT and forwarding counters by one packet each (a
 * connection's first packet is the one the rules see; see RESENT), and
 * nothing else's; the counters survive an apply that changes nothing and the
 * port-only path that publishes and removes ports next to them. Registered
 * once per backend.
 */
import type { ExecutionContext } from 'ava';
import type { BackendName } from '../../src/backends/backend.js';
import type { BindingCounters } from '../../src/backends/counters.js';
import { Firewall } from '../../src/firewall.js';
import type { SpecInput } from '../../src/input/types.js';
import { kernelTest } from '../helpers/netns.js';
import type { SpecApplier } from './apply.js';
import { createPacketBed, type BedNode } from './bed.js';
import { containerName } from './docker-host.js';
import { expectProbes, type ProbeCase } from './expect.js';
import { UPLINK } from '../../src/sandbox/topology.js';

const WEB = { bridge: 'br-web', subnet: '198.18.1.0/24', first: '198.18.1.2', second: '198.18.1.3', subnet6: '2001:db8:1::/64', first6: '2001:db8:1::2' };
const ROUTED = { bridge: 'br-routed', subnet: '198.18.5.0/24', first: '198.18.5.2' };

function specFor(backend: BackendName): SpecInput {
  return {
    backend, ipv6: true,
    networks: [
      {
        bridge: WEB.bridge, ipv4: { subnet: WEB.subnet }, ipv6: { subnet: WEB.subnet6 },
        endpoints: [
          { ipv4: WEB.first, ipv6: WEB.first6, ports: ['8080:80', '8081:81', '8080:80/udp'] },
          { ipv4: WEB.second, ports: ['9090:80'] },
        ],
      },
      { bridge: ROUTED.bridge, ipv4: { subnet: ROUTED.subnet }, gatewayMode: 'routed', endpoints: [{ ipv4: ROUTED.first, ports: ['80'] }] },
    ],
  };
}

type Packets = Record<string, [number | undefined, number | undefined]>;

/** A binding's counters as `[dnat packets, forwarded packets]`, by `proto hostPort>address:port` (`-` without a host port). */
function packetsByBinding(counters: readonly BindingCounters[]): Packets {
  const packets = (counter: BindingCounters['dnat']) => (counter === undefined ? undefined : Number(counter.packets));
  return Object.fromEntries(counters.map((binding) => [
    `${binding.proto} ${binding.hostPort ?? '-'}>${binding.containerAddress}:${binding.containerPort}`,
    [packets(binding.dnat), packets(binding.forwarded)],
  ]));
}

/**
 * A connection's first packet resent before the answer (a SYN resent while
 * the host resolves a new IPv6 neighbour on a loaded machine) meets the
 * forwarding rules again, never NAT: this many such per binding are allowed.
 */
const RESENT = 2;

/** Exactly the bindings expected, with exactly the DNAT packets, and the forwarded ones (none exactly none). */
function expectPackets(t: ExecutionContext, counters: readonly BindingCounters[], expected: Packets): void {
  const actual = packetsByBinding(counters);
  t.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [binding, [dnat, forwarded]] of Object.entries(expected)) {
    const [seenDnat, seenForwarded] = actual[binding] ?? [];
    t.is(seenDnat, dnat, `${binding}: dnat`);
    if (!forwarded) t.is(seenForwarded, forwarded, `${binding}: forwarded`);
    else t.true(seenForwarded! >= forwarded && seenForwarded! <= forwarded + RESENT, `${binding}: forwarded ${seenForwarded}, expected ${forwarded}`);
  }
}

/** `count` connections from outside to `address:port`, each answered by the container named after `server`. */
function connections(from: BedNode, address: string, port: number, server: string, count: number, proto: 'tcp' | 'udp' = 'tcp'): ProbeCase[] {
  return Array.from({ length: count }, (_, i) => ({
    what: `connection ${i + 1} to ${proto} ${address}:${port}`, from, proto, address, port,
    outcome: { server: containerName(server), peer: address.includes(':') ? UPLINK.outsideIpv6 : UPLINK.outsideIpv4 },
  }));
}

export function registerCountersSuite(backend: BackendName): void {
  kernelTest(`${backend}: per-binding counters move with the connections of their own mapping, and survive a no-op apply and port changes`, async (t: ExecutionContext) => {
    let firewall: Firewall | undefined;
    const apply: SpecApplier = async (host, input) => {
      if (firewall === undefined) {
        const opened = firewall = await Firewall.open({ netns: host.path });
        t.teardown(() => opened.close());
      }
      await firewall.apply(input);
    };
    const spec = specFor(backend);
    const bed = await createPacketBed(t, { label: `cnt${backend.slice(0, 3)}`, apply, spec });
    const fw = firewall!;
    const counters = await fw.counters();
    t.deepEqual(counters.find((binding) => binding.hostPort === 8080 && binding.proto === 'tcp'), {
      family: 'ipv4', bridge: WEB.bridge, proto: 'tcp', hostPort: 8080, containerAddress: WEB.first, containerPort: 80,
      dnat: { packets: 0n, bytes: 0n }, forwarded: { packets: 0n, bytes: 0n },
    });
    const untouched: Packets = {
      [`tcp 8080>${WEB.first}:80`]: [0, 0],
      [`tcp 8081>${WEB.first}:81`]: [0, 0],
      [`udp 8080>${WEB.first}:80`]: [0, 0],
      [`tcp 8080>${WEB.first6}:80`]: [0, 0],
      [`tcp 8081>${WEB.first6}:81`]: [0, 0],
      [`udp 8080>${WEB.first6}:80`]: [0, 0],
      [`tcp 9090>${WEB.second}:80`]: [0, 0],
      [`tcp ->${ROUTED.first}:80`]: [undefined, 0],
    };
    expectPackets(t, counters, untouched);

    // IPv6 neighbours resolved first, on paths no binding's counter sees (the host straight to the container, the
    // outside to an unmapped host port): a first SYN held for neighbour discovery could outlast a probe's 1.2 s.
    await bed.host.agent.probe({ proto: 'tcp', address: WEB.first6, port: 80 });
    await bed.outside.agent.probe({ proto: 'tcp', address: UPLINK.hostIpv6, port: 1 });
    await expectProbes(t, [
      ...connections(bed.outside, UPLINK.hostIpv4, 8080, WEB.first, 3),
      ...connections(bed.outside, UPLINK.hostIpv4, 8080, WEB.first, 1, 'udp'),
      ...connections(bed.outside, UPLINK.hostIpv6, 8080, WEB.first, 1),
      ...connections(bed.outside, ROUTED.first, 80, ROUTED.first, 2),
    ]);
    const moved: Packets = {
      ...untouched,
      [`tcp 8080>${WEB.first}:80`]: [3, 3],
      [`udp 8080>${WEB.first}:80`]: [1, 1],
      [`tcp 8080>${WEB.first6}:80`]: [1, 1],
      [`tcp ->${ROUTED.first}:80`]: [undefined, 2],
    };
    const after = await fw.counters();
    expectPackets(t, after, moved);
    const web = after.find((binding) => binding.hostPort === 8080 && binding.proto === 'tcp')!;
    t.true(web.dnat!.bytes >= 3n * 40n, `a TCP SYN is at least 40 bytes: ${web.dnat!.bytes}`);
    t.true(web.forwarded!.bytes >= web.dnat!.bytes, 'the same packets, DNATed then forwarded');
    if (backend === 'nftables') {
      // show prints them as nft list does.
      const shown = (await fw.show('nftables')).text;
      t.true(shown.includes(`tcp . 8080 counter packets 3 bytes ${web.dnat!.bytes} : ${WEB.first} . 80`), shown);
      t.true(shown.includes(`${WEB.first} . tcp . 80 counter packets ${web.forwarded!.packets} bytes ${web.forwarded!.bytes}`), shown);
    }

    // An apply that changes nothing commits nothing and keeps every counter, from this Firewall and from a new one.
    t.like(await fw.apply(spec), { commits: 0, changes: 0 });
    const other = await Firewall.open({ netns: bed.host.netns.path });
    t.teardown(() => other.close());
    t.like(await other.apply(spec), { commits: 0, changes: 0 });
    t.deepEqual(await fw.counters(), after);
    t.deepEqual(await other.counters(), after, 'a new Firewall reads the same counters of its own spec');

    // Port changes next to a mapping: another host port to the same container port shares its forwarding counter.
    t.true((await fw.addPorts(WEB.bridge, { ipv4: WEB.first }, ['8082:80'])).changes > 0);
    t.true((await fw.removePorts(WEB.bridge, { ipv4: WEB.first }, ['8081:81'])).changes > 0);
    const { [`tcp 8081>${WEB.first}:81`]: _removed, [`tcp 8081>${WEB.first6}:81`]: _removed6, ...kept } = moved;
    const published: Packets = {
      ...kept,
      [`tcp 8082>${WEB.first}:80`]: [0, 3],
      [`tcp 8082>${WEB.first6}:80`]: [0, 1],
    };
    expectPackets(t, await fw.counters(), published);
    await expectProbes(t, connections(bed.outside, UPLINK.hostIpv4, 8082, WEB.first, 1));
    expectPackets(t, await fw.counters(), {
      ...published,
      [`tcp 8080>${WEB.first}:80`]: [3, 4],
      [`tcp 8082>${WEB.first}:80`]: [1, 4],
    });
  });
}
