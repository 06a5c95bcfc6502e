/**
 * The topology a spec describes. The host settings Docker makes besides its
 * rules (route_localnet, bridge-nf-call-ip(6)tables, hairpin mode on bridge
 * ports) are the library's, written by apply, so the packet tests prove
 * them too. Forwarding is on in every sandbox namespace (Docker then
 * leaves the FORWARD policy alone).
 */
import type { BridgeDescription, ContainerDescription, TopologyDescription } from '../../src/sandbox/topology.js';
import type { Spec } from '../../src/input/types.js';

/** The namespace of the swarm ingress sandbox, where ingress ports are DNATed to; also its servers' name. */
export const INGRESS_SANDBOX = 'ingress-sbox';

export function dockerTopology(label: string, spec: Spec): TopologyDescription {
  const bridges = spec.networks.map((network): BridgeDescription => {
    const containers = network.endpoints.map((endpoint): ContainerDescription => ({
      name: containerName(endpoint.ipv4 ?? endpoint.ipv6 ?? ''),
      ...(endpoint.ipv4 ? { ipv4: endpoint.ipv4 } : {}),
      ...(endpoint.ipv6 ? { ipv6: endpoint.ipv6 } : {}),
    }));
    if (spec.ingress?.bridge === network.bridge) containers.push({ name: INGRESS_SANDBOX, ipv4: spec.ingress.address });
    return {
      name: network.bridge,
      ...(network.ipv4 ? { ipv4: network.ipv4.subnet } : {}),
      ...(network.ipv6 ? { ipv6: network.ipv6.subnet } : {}),
      containers,
    };
  });
  if (spec.ingress && !bridges.some((bridge) => bridge.name === spec.ingress?.bridge)) {
    throw new Error(`the bed needs the ingress bridge ${spec.ingress.bridge} among the spec's networks, for its subnet`);
  }
  return { label, bridges };
}

/** Containers are named after their address, so test output says who answered. */
export function containerName(address: string): string {
  return `c-${address}`;
}
