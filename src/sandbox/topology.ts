/**
 * A Docker host in miniature, built entirely inside fresh namespaces:
 *
 *   outside ──(uplink veth)── host ──(bridges)── containers
 *
 * The host namespace owns the Linux bridges (with the gateway address of
 * each subnet) and forwards between them and the uplink; each container is
 * a namespace with one veth port on its bridge and a default route via the
 * gateway; the outside namespace stands for the rest of the network, one
 * veth away from the host. Nothing is created in the machine's own
 * namespace: links are made from inside the host namespace (`ip -n`), and
 * every namespace goes when the sandbox is removed.
 */
import ipaddr from 'ipaddr.js';
import type { Namespace, Sandbox } from './sandbox.js';

/** The link between host and outside; the host also holds a spare address to SNAT to. */
export const UPLINK = {
  hostIpv4: '203.0.113.1',
  snatIpv4: '203.0.113.10',
  outsideIpv4: '203.0.113.2',
  hostIpv6: '2001:db8:ff::1',
  outsideIpv6: '2001:db8:ff::2',
} as const;

export interface TopologyDescription {
  /** Part of every namespace name, to tell topologies apart in `ip netns list`. */
  label: string;
  bridges: BridgeDescription[];
}

export interface BridgeDescription {
  /** At most 15 bytes, like Docker's `br-0123456789ab`. */
  name: string;
  /** Subnets; the bridge takes the first address of each as the containers' gateway. */
  ipv4?: string;
  ipv6?: string;
  containers: ContainerDescription[];
}

export interface ContainerDescription {
  /** Also the name its servers answer with. */
  name: string;
  ipv4?: string;
  ipv6?: string;
}

export interface Topology {
  host: Namespace;
  outside: Namespace;
  containers: TopologyContainer[];
}

export interface TopologyContainer {
  description: ContainerDescription;
  bridge: BridgeDescription;
  netns: Namespace;
  /** Its veth port on the bridge, in the host namespace. */
  port: string;
}

/** The first host address of a subnet, where Docker puts the bridge's gateway address. */
export function gatewayOf(subnet: string): string {
  const bytes = ipaddr.parseCIDR(subnet)[0].kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(subnet).toByteArray()
    : ipaddr.IPv6.networkAddressFromCIDR(subnet).toByteArray();
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) + 1;
  return ipaddr.fromByteArray(bytes).toString();
}

function prefixOf(subnet: string): number {
  return ipaddr.parseCIDR(subnet)[1];
}

/** IPv6 addresses are marked nodad: duplicate address detection would leave them unusable for a second or two. */
function addressCommand(device: string, address: string, subnet: string): string {
  const nodad = ipaddr.parse(address).kind() === 'ipv6' ? ' nodad' : '';
  return `address add ${address}/${prefixOf(subnet)} dev ${device}${nodad}`;
}

/** Builds the topology in namespaces of `sandbox`, every one with forwarding on, as the host needs it. */
export async function buildTopology(sandbox: Sandbox, description: TopologyDescription): Promise<Topology> {
  const placed = description.bridges.flatMap((bridge) => bridge.containers.map((container) => ({ bridge, container })));
  const [host, outside, ...containerNetns] = await Promise.all([
    sandbox.add(`${description.label}-host`),
    sandbox.add(`${description.label}-out`),
    ...placed.map((_, index) => sandbox.add(`${description.label}-c${index}`)),
  ]);
  if (!host || !outside) throw new Error('namespaces were not created');
  const containers = placed.map(({ bridge, container }, index): TopologyContainer => ({
    description: container,
    bridge,
    netns: containerNetns[index] as Namespace,
    port: `veth${index}`,
  }));
  const ipv6 = description.bridges.some((bridge) => bridge.ipv6 !== undefined);
  await host.ipBatch([...bridgeCommands(description.bridges, containers), ...uplinkCommands(outside, ipv6)]);
  await Promise.all([
    outside.ipBatch(outsideCommands(description.bridges, ipv6)),
    ...containers.map((container) => container.netns.ipBatch(containerCommands(container.bridge, container.description))),
  ]);
  return { host, outside, containers };
}

/** In the host: each bridge with its gateway addresses, and one veth port per container, the peer inside the container. */
function bridgeCommands(bridges: readonly BridgeDescription[], containers: readonly TopologyContainer[]): string[] {
  const commands: string[] = [];
  for (const bridge of bridges) {
    commands.push(`link add ${bridge.name} type bridge`);
    for (const subnet of [bridge.ipv4, bridge.ipv6]) {
      if (subnet !== undefined) commands.push(addressCommand(bridge.name, gatewayOf(subnet), subnet));
    }
    commands.push(`link set ${bridge.name} up`);
  }
  for (const { bridge, netns, port } of containers) {
    commands.push(
      `link add ${port} type veth peer name eth0 netns ${netns.name}`,
      `link set ${port} master ${bridge.name}`,
      `link set ${port} up`,
    );
  }
  return commands;
}

/** IPv6 on the uplink only where a bridge has it: a kernel may have IPv6 disabled. */
function uplinkCommands(outside: Namespace, ipv6: boolean): string[] {
  return [
    `link add uplink type veth peer name eth0 netns ${outside.name}`,
    // The primary address first: masquerade picks it, SNAT tests use the spare one.
    `address add ${UPLINK.hostIpv4}/24 dev uplink`,
    `address add ${UPLINK.snatIpv4}/24 dev uplink`,
    ...(ipv6 ? [`address add ${UPLINK.hostIpv6}/64 dev uplink nodad`] : []),
    'link set uplink up',
  ];
}

/**
 * The outside routes every bridge subnet via the host: routed mode needs it,
 * and in nat mode it is what an attacker on the host's link would do, so the
 * firewall, not a missing route, must be what keeps containers unreachable.
 */
function outsideCommands(bridges: readonly BridgeDescription[], ipv6: boolean): string[] {
  return [
    `address add ${UPLINK.outsideIpv4}/24 dev eth0`,
    ...(ipv6 ? [`address add ${UPLINK.outsideIpv6}/64 dev eth0 nodad`] : []),
    'link set eth0 up',
    ...bridges.flatMap((bridge) => [
      ...(bridge.ipv4 ? [`route add ${bridge.ipv4} via ${UPLINK.hostIpv4}`] : []),
      ...(bridge.ipv6 ? [`route add ${bridge.ipv6} via ${UPLINK.hostIpv6}`] : []),
    ]),
  ];
}

/**
 * Every container gets a default route, internal networks included (Docker
 * gives those none): the firewall must be what stops their traffic.
 */
function containerCommands(bridge: BridgeDescription, container: ContainerDescription): string[] {
  const commands: string[] = [];
  const families = [[bridge.ipv4, container.ipv4], [bridge.ipv6, container.ipv6]] as const;
  for (const [subnet, address] of families) {
    if (subnet !== undefined && address !== undefined) commands.push(addressCommand('eth0', address, subnet));
  }
  commands.push('link set eth0 up');
  for (const [subnet, address] of families) {
    if (subnet !== undefined && address !== undefined) commands.push(`route add default via ${gatewayOf(subnet)}`);
  }
  return commands;
}
