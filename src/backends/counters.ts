/**
 * Packet and byte counters per port binding, as every backend reports them:
 * the counters its own rules or set elements already carry for the binding,
 * read back from the kernel (no rule exists for counting alone).
 */
import type { FirewallModel, NetworkModel, PortBindingModel } from '../docker/model.js';
import type { Family } from '../family.js';
import type { PortProtocol } from '../input/types.js';

export interface PacketCounter {
  packets: bigint;
  bytes: bigint;
}

/**
 * One binding of the model (one host port to one container port of one
 * family) with what its rules counted. Both counters see the packets that
 * reach the rule: a connection's first packet (the NAT rules see no other;
 * the forwarding rules also see it resent before the answer, as a
 * connection is accepted before the per-port rules once answered, as in
 * Docker's layouts), and every packet of a flow conntrack does not track.
 */
export interface BindingCounters {
  family: Family;
  bridge: string;
  proto: PortProtocol;
  /** Absent: every address of the family. */
  hostAddress?: string;
  /** Absent: the container port is only opened for direct routing, nothing is translated. */
  hostPort?: number;
  containerAddress: string;
  containerPort: number;
  /** Packets translated to the container by this binding; absent without a host port, or when the kernel holds no counter for it. */
  dnat?: PacketCounter;
  /**
   * Packets forwarded to the container port from outside its bridge; shared by
   * every binding of the same container port (one rule or element accepts
   * them all). Absent when the network accepts everything (nat-unprotected)
   * or the kernel holds no counter for it.
   */
  forwarded?: PacketCounter;
}

/** What a backend's rules or elements counted for one binding. */
export type CountedBinding = Pick<BindingCounters, 'dnat' | 'forwarded'>;

/** Every binding of the model with what `count` finds its rules or elements counted. */
export function countBindings(
  model: FirewallModel, count: (family: Family, network: NetworkModel, binding: PortBindingModel) => CountedBinding,
): BindingCounters[] {
  const counters: BindingCounters[] = [];
  for (const { family, networks } of model.families) {
    for (const network of networks) {
      for (const endpoint of network.endpoints) {
        for (const binding of endpoint.bindings) {
          const { proto, hostAddress, hostPort, containerAddress, containerPort } = binding;
          counters.push({
            family, bridge: network.bridge, proto,
            ...(hostAddress !== undefined ? { hostAddress } : {}), ...(hostPort !== undefined ? { hostPort } : {}),
            containerAddress, containerPort, ...count(family, network, binding),
          });
        }
      }
    }
  }
  return counters;
}
