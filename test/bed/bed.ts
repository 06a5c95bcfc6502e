/**
 * A packet test bed: the topology a spec describes, an agent in every
 * namespace serving the standard ports, and the spec applied by the
 * backend under test. Tests then probe with real connections.
 */
import type { ExecutionContext } from 'ava';
import { Agent } from '../../src/sandbox/agent-client.js';
import { buildTopology } from '../../src/sandbox/topology.js';
import type { SpecInput } from '../../src/input/types.js';
import { parseSpec } from '../../src/input/validate.js';
import { testSandbox, type TestNetns } from '../helpers/netns.js';
import type { SpecApplier } from './apply.js';
import { dockerTopology } from './docker-host.js';

/** Every container and the outside serve these from the start. */
export const SERVED_PORTS = { tcp: [80, 81], udp: [80] } as const;

export interface BedNode {
  readonly netns: TestNetns;
  readonly agent: Agent;
}

export interface PacketBed {
  /** The Docker host: bridges, uplink, the firewall. */
  readonly host: BedNode;
  /** The rest of the network, on the host's uplink. */
  readonly outside: BedNode;
  /** The container with this address (either family), or the ingress sandbox by INGRESS_SANDBOX. */
  node(addressOrName: string): BedNode;
  /** Applies another spec with the backend under test (same topology). */
  apply(spec: SpecInput): Promise<void>;
}

export interface BedOptions {
  /** Short, for namespace names. */
  label: string;
  /** Describes the topology (networks, endpoints, ingress) and is applied first. */
  spec: SpecInput;
  apply: SpecApplier;
}

export async function createPacketBed(t: ExecutionContext, options: BedOptions): Promise<PacketBed> {
  const sandbox = testSandbox(t);
  const topology = await buildTopology(sandbox, dockerTopology(options.label, parseSpec(options.spec)));
  const start = async (netns: TestNetns, name: string): Promise<BedNode> => {
    const agent = await Agent.start(sandbox, netns, name);
    await agent.serve('tcp', SERVED_PORTS.tcp);
    await agent.serve('udp', SERVED_PORTS.udp);
    return { netns, agent };
  };
  const [host, outside, ...containers] = await Promise.all([
    start(topology.host, 'host'),
    start(topology.outside, 'outside'),
    ...topology.containers.map((container) => start(container.netns, container.description.name)),
  ]);
  if (!host || !outside) throw new Error('agents were not started');
  const byAddressOrName = new Map<string, BedNode>();
  topology.containers.forEach(({ description }, index) => {
    const node = containers[index] as BedNode;
    for (const key of [description.name, description.ipv4, description.ipv6]) if (key) byAddressOrName.set(key, node);
  });
  await options.apply(topology.host, options.spec);
  return {
    host,
    outside,
    node(addressOrName) {
      const node = byAddressOrName.get(addressOrName);
      if (!node) throw new Error(`no container ${addressOrName} in this bed`);
      return node;
    },
    apply: (spec) => options.apply(topology.host, spec),
  };
}
