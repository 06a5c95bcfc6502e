/**
 * Docker's bridge firewall semantics, proven with real connections through a
 * real kernel: one suite, registered once per backend with that backend's
 * way of applying a spec. Each test builds its own bed (its own namespaces),
 * so ava runs them concurrently.
 *
 * Addresses: bridge networks in 198.18.0.0/15 and 2001:db8::/32, the uplink
 * in 203.0.113.0/24 and 2001:db8:ff::/64 (see UPLINK).
 */
import type { Namespace } from '../../src/sandbox/sandbox.js';
import { gatewayOf, UPLINK } from '../../src/sandbox/topology.js';
import type { NetworkSpecInput, PortSpecInput, SpecInput } from '../../src/input/types.js';
import { kernelTest } from '../helpers/netns.js';
import type { SpecApplier } from './apply.js';
import { createPacketBed } from './bed.js';
import { containerName, INGRESS_SANDBOX } from './docker-host.js';
import { expectProbes } from './expect.js';

const ALPHA = { bridge: 'br-alpha', subnet: '198.18.1.0/24', first: '198.18.1.2', second: '198.18.1.3' };
const BETA = { bridge: 'br-beta', subnet: '198.18.2.0/24', first: '198.18.2.2', second: '198.18.2.3' };
const INTERNAL = { bridge: 'br-internal', subnet: '198.18.3.0/24', first: '198.18.3.2', second: '198.18.3.3' };
const GAMMA = { bridge: 'br-gamma', subnet: '198.18.5.0/24', first: '198.18.5.2' };
const GWBRIDGE = { bridge: 'docker_gwbridge', subnet: '198.18.4.0/24', sandbox: '198.18.4.2' };
const ALPHA6 = { subnet: '2001:db8:1::/64', first: '2001:db8:1::2' };
const BETA6 = { subnet: '2001:db8:2::/64', first: '2001:db8:2::2' };

const WEB: PortSpecInput = { proto: 'tcp', hostPort: 8080, containerPort: 80 };

function network(
  base: { bridge: string; subnet: string }, endpoints: { ipv4: string; ports?: PortSpecInput[] }[],
  options: Omit<NetworkSpecInput, 'bridge' | 'ipv4' | 'endpoints'> = {},
): NetworkSpecInput {
  return { bridge: base.bridge, ipv4: { subnet: base.subnet }, endpoints, ...options };
}

function spec(networks: NetworkSpecInput[], options: Omit<SpecInput, 'networks'> = {}): SpecInput {
  return { backend: 'iptables', networks, ...options };
}

/** Who answers as the container at `address`, seeing `peer`. */
function answer(address: string, peer: string): { server: string; peer: string } {
  return { server: containerName(address), peer };
}

/**
 * Makes a namespace on the uplink send 127.0.0.1 to the host, as an attacker
 * next to a Docker host could: its own loopback address goes, a route via the
 * host replaces it, and replies coming back from 127.0.0.1 are accepted.
 */
async function routeLoopbackThroughHost(netns: Namespace): Promise<void> {
  await netns.ipBatch(['address del 127.0.0.1/8 dev lo', `route add 127.0.0.1/32 via ${UPLINK.hostIpv4}`]);
  await netns.run('sysctl', '-q', '-w', 'net/ipv4/conf/all/route_localnet=1', 'net/ipv4/conf/eth0/route_localnet=1');
}

export function registerPacketSuite(backend: string, apply: SpecApplier): void {
  const title = (text: string): string => `${backend}: ${text}`;

  kernelTest(title('nat mode: published ports are reachable from outside, nothing else is'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'nat', apply,
      spec: spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [WEB, { proto: 'udp', hostPort: 8080, containerPort: 80 }] }])]),
    });
    const outside = bed.outside;
    await expectProbes(t, [
      { what: 'published tcp port', from: outside, address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'published udp port', from: outside, proto: 'udp', address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'an unpublished host port', from: outside, address: UPLINK.hostIpv4, port: 8081, outcome: 'blocked' },
      { what: 'direct access to the published container port', from: outside, address: ALPHA.first, port: 80, outcome: 'blocked' },
      { what: 'direct access to an unpublished container port', from: outside, address: ALPHA.first, port: 81, outcome: 'blocked' },
      {
        what: 'outgoing traffic is masqueraded to the uplink address', from: bed.node(ALPHA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: { server: 'outside', peer: UPLINK.hostIpv4 },
      },
    ]);
    // Control: without the firewall the same direct connection goes through, so the route is there and the rules blocked it.
    await bed.apply(spec([]));
    await expectProbes(t, [
      { what: 'direct access with no rules (control)', from: outside, address: ALPHA.first, port: 80, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
    ]);
  });

  kernelTest(title('routed mode: opened container ports are reachable directly, without NAT either way'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'routed', apply,
      spec: spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [{ proto: 'tcp', containerPort: 80 }] }], { gatewayMode: 'routed' })]),
    });
    await expectProbes(t, [
      { what: 'opened container port', from: bed.outside, address: ALPHA.first, port: 80, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'a container port not opened', from: bed.outside, address: ALPHA.first, port: 81, outcome: 'blocked' },
      {
        what: 'outgoing traffic keeps the container address', from: bed.node(ALPHA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: { server: 'outside', peer: ALPHA.first },
      },
    ]);
  });

  kernelTest(title('nat-unprotected mode: every container port is reachable directly'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'unprot', apply,
      spec: spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [WEB] }], { gatewayMode: 'nat-unprotected' })]),
    });
    await expectProbes(t, [
      { what: 'published port', from: bed.outside, address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'direct access to an unpublished port', from: bed.outside, address: ALPHA.first, port: 81, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
    ]);
  });

  kernelTest(title('ICC on and off within a network, and networks isolated from each other'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'icc', apply,
      spec: spec([
        network(ALPHA, [{ ipv4: ALPHA.first }, { ipv4: ALPHA.second }]),
        network(BETA, [{ ipv4: BETA.first, ports: [WEB] }, { ipv4: BETA.second }], { icc: false }),
      ]),
    });
    const alpha = bed.node(ALPHA.first);
    const beta = bed.node(BETA.first);
    await expectProbes(t, [
      { what: 'ICC on: a neighbour on the bridge', from: alpha, address: ALPHA.second, port: 81, outcome: answer(ALPHA.second, ALPHA.first) },
      { what: 'ICC off: a neighbour on the bridge', from: beta, address: BETA.second, port: 81, outcome: 'blocked' },
      { what: 'another network, unpublished port', from: alpha, address: BETA.second, port: 80, outcome: 'blocked' },
      { what: 'another network, published container port addressed directly', from: alpha, address: BETA.first, port: 80, outcome: 'blocked' },
      { what: 'the other way round', from: beta, address: ALPHA.first, port: 80, outcome: 'blocked' },
      // Docker leaves published ports reachable from other networks through the host address; masquerade hides the source.
      {
        what: 'another network, through the published host port', from: alpha, address: UPLINK.hostIpv4, port: 8080,
        outcome: answer(BETA.first, gatewayOf(BETA.subnet)),
      },
    ]);
  });

  kernelTest(title('an internal network has no way in or out, but ICC within it'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'internal', apply,
      spec: spec([
        network(ALPHA, [{ ipv4: ALPHA.first }]),
        network(INTERNAL, [{ ipv4: INTERNAL.first, ports: [WEB] }, { ipv4: INTERNAL.second }], { internal: true }),
      ]),
    });
    const internal = bed.node(INTERNAL.first);
    await expectProbes(t, [
      { what: 'a neighbour on the internal bridge', from: internal, address: INTERNAL.second, port: 80, outcome: answer(INTERNAL.second, INTERNAL.first) },
      { what: 'egress to outside', from: internal, address: UPLINK.outsideIpv4, port: 80, outcome: 'blocked' },
      { what: 'egress to another network', from: internal, address: ALPHA.first, port: 80, outcome: 'blocked' },
      { what: 'ingress from another network', from: bed.node(ALPHA.first), address: INTERNAL.first, port: 80, outcome: 'blocked' },
      { what: 'ingress from outside, directly', from: bed.outside, address: INTERNAL.first, port: 80, outcome: 'blocked' },
      { what: 'its ports are never published', from: bed.outside, address: UPLINK.hostIpv4, port: 8080, outcome: 'blocked' },
      {
        what: 'a non-internal network still gets out (control)', from: bed.node(ALPHA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: { server: 'outside', peer: UPLINK.hostIpv4 },
      },
    ]);
  });

  kernelTest(title('source NAT: SNAT to the network hostIp, or none with masquerade off'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'snat', apply,
      spec: spec([
        { bridge: ALPHA.bridge, ipv4: { subnet: ALPHA.subnet, hostIp: UPLINK.snatIpv4 }, endpoints: [{ ipv4: ALPHA.first }] },
        network(BETA, [{ ipv4: BETA.first }], { masquerade: false, gatewayMode: 'nat-unprotected' }),
        network(GAMMA, [{ ipv4: GAMMA.first }], { masquerade: false }),
      ]),
    });
    await expectProbes(t, [
      {
        what: 'SNAT to the hostIp', from: bed.node(ALPHA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: { server: 'outside', peer: UPLINK.snatIpv4 },
      },
      {
        what: 'masquerade off keeps the container address', from: bed.node(BETA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: { server: 'outside', peer: BETA.first },
      },
      // As in Docker v29: the direct-access filter (raw PREROUTING, before conntrack) also drops the replies.
      {
        what: 'masquerade off in nat mode: replies to the container address are dropped', from: bed.node(GAMMA.first),
        address: UPLINK.outsideIpv4, port: 80, outcome: 'blocked',
      },
    ]);
  });

  kernelTest(title('no userland proxy: hairpin NAT from containers and from the host itself'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'hairpin', apply,
      spec: spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [WEB] }, { ipv4: ALPHA.second }])], { userlandProxy: false }),
    });
    const gateway = gatewayOf(ALPHA.subnet);
    await expectProbes(t, [
      { what: 'from outside', from: bed.outside, address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'a container reaches its own published port', from: bed.node(ALPHA.first), address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, gateway) },
      { what: 'a neighbour reaches the published port', from: bed.node(ALPHA.second), address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, ALPHA.second) },
      { what: 'the host, on its uplink address', from: bed.host, address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, gateway) },
      { what: 'the host, on 127.0.0.1', from: bed.host, address: '127.0.0.1', port: 8080, outcome: answer(ALPHA.first, gateway) },
    ]);
  });

  kernelTest(title('a port published on 127.0.0.1 is reachable from the host only'), async (t) => {
    const onLoopback = (hostIp: string): SpecInput =>
      spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [{ ...WEB, hostIp }] }])], { userlandProxy: false });
    const bed = await createPacketBed(t, { label: 'loopback', apply, spec: onLoopback('0.0.0.0') });
    // A neighbour on the uplink sending to 127.0.0.1 through the host (CVE-2020-8558): DNAT would take it before routing.
    await routeLoopbackThroughHost(bed.outside.netns);
    const served = answer(ALPHA.first, UPLINK.outsideIpv4);
    await expectProbes(t, [
      { what: 'published on every address, 127.0.0.1 from outside (control)', from: bed.outside, address: '127.0.0.1', port: 8080, outcome: served },
    ]);
    await bed.apply(onLoopback('127.0.0.1'));
    await expectProbes(t, [
      { what: 'from the host', from: bed.host, address: '127.0.0.1', port: 8080, outcome: answer(ALPHA.first, gatewayOf(ALPHA.subnet)) },
      { what: 'from outside, on the uplink address', from: bed.outside, address: UPLINK.hostIpv4, port: 8080, outcome: 'blocked' },
      { what: 'from outside, to 127.0.0.1 routed through the host', from: bed.outside, address: '127.0.0.1', port: 8080, outcome: 'blocked' },
    ]);
  });

  kernelTest(title('a 1,000-port range is published port by port'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'range', apply,
      spec: spec([network(ALPHA, [{ ipv4: ALPHA.first, ports: [{ proto: 'tcp', hostPort: '20000-20999', containerPort: '30000-30999' }] }])]),
    });
    const offsets = [0, 1, 500, 998, 999];
    await bed.node(ALPHA.first).agent.serve('tcp', offsets.map((offset) => 30000 + offset));
    await expectProbes(t, [
      ...offsets.map((offset) => ({
        what: `host port ${20000 + offset}`, from: bed.outside, address: UPLINK.hostIpv4, port: 20000 + offset,
        outcome: answer(ALPHA.first, UPLINK.outsideIpv4),
      })),
      { what: 'just below the range', from: bed.outside, address: UPLINK.hostIpv4, port: 19999, outcome: 'blocked' },
      { what: 'just above the range', from: bed.outside, address: UPLINK.hostIpv4, port: 21000, outcome: 'blocked' },
    ]);
  });

  kernelTest(title('re-applying without a port closes it, an empty spec closes everything'), async (t) => {
    const published = (ports: PortSpecInput[]): SpecInput => spec([network(ALPHA, [{ ipv4: ALPHA.first, ports }])]);
    const extra: PortSpecInput = { proto: 'tcp', hostPort: 8081, containerPort: 81 };
    const bed = await createPacketBed(t, { label: 'removal', apply, spec: published([WEB, extra]) });
    const from = bed.outside;
    const served = answer(ALPHA.first, UPLINK.outsideIpv4);
    await expectProbes(t, [
      { what: 'first port, before', from, address: UPLINK.hostIpv4, port: 8080, outcome: served },
      { what: 'second port, before', from, address: UPLINK.hostIpv4, port: 8081, outcome: served },
    ]);
    await bed.apply(published([WEB]));
    await expectProbes(t, [
      { what: 'first port, kept', from, address: UPLINK.hostIpv4, port: 8080, outcome: served },
      { what: 'second port, removed', from, address: UPLINK.hostIpv4, port: 8081, outcome: 'blocked' },
    ]);
    await bed.apply(spec([]));
    await expectProbes(t, [
      { what: 'first port, after the empty spec', from, address: UPLINK.hostIpv4, port: 8080, outcome: 'blocked' },
    ]);
  });

  kernelTest(title('swarm ingress: published ports are DNATed to the ingress sandbox'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'ingress', apply,
      spec: spec([network(GWBRIDGE, [], { icc: false })], {
        ingress: { bridge: GWBRIDGE.bridge, address: GWBRIDGE.sandbox, ports: [{ proto: 'tcp', port: 9000 }] },
      }),
    });
    await bed.node(INGRESS_SANDBOX).agent.serve('tcp', [9000, 9001]);
    await expectProbes(t, [
      { what: 'from outside', from: bed.outside, address: UPLINK.hostIpv4, port: 9000, outcome: { server: INGRESS_SANDBOX, peer: UPLINK.outsideIpv4 } },
      { what: 'from the host, on 127.0.0.1', from: bed.host, address: '127.0.0.1', port: 9000, outcome: { server: INGRESS_SANDBOX, peer: gatewayOf(GWBRIDGE.subnet) } },
      { what: 'a port the ingress does not publish', from: bed.outside, address: UPLINK.hostIpv4, port: 9001, outcome: 'blocked' },
    ]);
  });

  kernelTest(title('IPv6: published port, direct access, masquerade and isolation'), async (t) => {
    const bed = await createPacketBed(t, {
      label: 'ipv6', apply,
      spec: spec([
        { bridge: ALPHA.bridge, ipv4: { subnet: ALPHA.subnet }, ipv6: { subnet: ALPHA6.subnet }, endpoints: [{ ipv4: ALPHA.first, ipv6: ALPHA6.first, ports: [WEB] }] },
        { bridge: BETA.bridge, ipv6: { subnet: BETA6.subnet }, endpoints: [{ ipv6: BETA6.first }] },
      ], { ipv6: true }),
    });
    const alpha = bed.node(ALPHA6.first);
    await expectProbes(t, [
      { what: 'published port over IPv6', from: bed.outside, address: UPLINK.hostIpv6, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv6) },
      { what: 'published port over IPv4 too', from: bed.outside, address: UPLINK.hostIpv4, port: 8080, outcome: answer(ALPHA.first, UPLINK.outsideIpv4) },
      { what: 'direct access over IPv6', from: bed.outside, address: ALPHA6.first, port: 80, outcome: 'blocked' },
      { what: 'outgoing IPv6 is masqueraded', from: alpha, address: UPLINK.outsideIpv6, port: 80, outcome: { server: 'outside', peer: UPLINK.hostIpv6 } },
      { what: 'another IPv6 network', from: alpha, address: BETA6.first, port: 80, outcome: 'blocked' },
      { what: 'the other way round', from: bed.node(BETA6.first), address: ALPHA6.first, port: 80, outcome: 'blocked' },
    ]);
  });
}
