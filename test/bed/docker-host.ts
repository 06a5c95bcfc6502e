/**
 * The topology a spec describes, with the host-side settings Docker Engine
 * makes outside the firewall (moby bridge driver, createNetwork and
 * CreateEndpoint), so packets meet the rules under the same conditions:
 * - br_netfilter's bridge-nf-call-ip(6)tables when a network disables ICC
 *   or the userland proxy is off (bridged traffic must traverse iptables);
 * - route_localnet on every bridge without the userland proxy, so that
 *   DNAT from 127.0.0.1 into a bridge is routable;
 * - hairpin mode on every bridge port without the userland proxy, so that
 *   a container reaches its own published port.
 * Forwarding is enabled by the bed itself (Docker then leaves the FORWARD
 * policy alone). Sysctls the library writes itself (model.sysctls) are
 * left to the apply step.
 */
import type { Spec } from '../../src/spec/types.js';
import type { BridgeDescription, ContainerDescription, TopologyDescription } from './topology.js';

/** The namespace of the swarm ingress sandbox, where ingress ports are DNATed to; also its servers' name. */
export const INGRESS_SANDBOX = 'ingress-sbox';

export function dockerTopology(label: string, spec: Spec): TopologyDescription {
  const hairpin = !spec.userlandProxy;
  const bridgeNetfilter = hairpin || spec.networks.some((network) => !network.icc);
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
      hairpin,
      containers,
    };
  });
  if (spec.ingress && !bridges.some((bridge) => bridge.name === spec.ingress?.bridge)) {
    throw new Error(`the bed needs the ingress bridge ${spec.ingress.bridge} among the spec's networks, for its subnet`);
  }
  const hostSysctls = new Map<string, string>();
  if (bridgeNetfilter) {
    hostSysctls.set('net/bridge/bridge-nf-call-iptables', '1');
    hostSysctls.set('net/bridge/bridge-nf-call-ip6tables', '1');
  }
  if (hairpin) {
    for (const bridge of bridges) hostSysctls.set(`net/ipv4/conf/${bridge.name}/route_localnet`, '1');
  }
  return { label, bridges, hostSysctls };
}

/** Containers are named after their address, so test output says who answered. */
export function containerName(address: string): string {
  return `c-${address}`;
}
