/**
 * Conntrack follows the mapping (src/conntrack.ts), proven with packets:
 * a continuous UDP sender (one source port, so one conntrack entry, a
 * datagram every 100 ms) keeps sending while a mapping moves, goes away or
 * appears, and a TCP connection to a kept mapping is used again after
 * unrelated changes. Registered once per backend; each test builds its own
 * bed and keeps one Firewall on it, as a service would.
 */
import type { ExecutionContext } from 'ava';
import type { BackendName } from '../../src/backends/backend.js';
import { Firewall, type ApplyResult } from '../../src/firewall.js';
import type { UdpStreamResult } from '../../src/sandbox/agent-protocol.js';
import { UPLINK } from '../../src/sandbox/topology.js';
import type { PortSpecInput, SpecInput } from '../../src/input/types.js';
import { kernelTest } from '../helpers/netns.js';
import { createPacketBed, type PacketBed } from './bed.js';
import { containerName } from './docker-host.js';

const BRIDGE = 'br-ct';
const SUBNET = '198.18.8.0/24';
const A = '198.18.8.2';
const B = '198.18.8.3';
const SUBNET6 = '2001:db8:8::/64';
const A6 = '2001:db8:8::2';
const B6 = '2001:db8:8::3';
const UDP_MAPPING: PortSpecInput = { proto: 'udp', hostPort: 8053, containerPort: 80 };
const ECHO_PORT = 90;
const TCP_MAPPING: PortSpecInput = { proto: 'tcp', hostPort: 8090, containerPort: ECHO_PORT };
const STREAM = { intervalMs: 100, count: 40 };
/** Datagrams the stream sends before the change, so the flow is under way (and tracked) when it comes. */
const SENT_BEFORE_CHANGE = 8;

/** One network, containers A and B; with `dualStack`, both families. */
function spec(backend: BackendName, ports: { a?: PortSpecInput[]; b?: PortSpecInput[] }, dualStack = false): SpecInput {
  return {
    backend,
    ...(dualStack ? { ipv6: true } : {}),
    networks: [{
      bridge: BRIDGE,
      ipv4: { subnet: SUBNET },
      ...(dualStack ? { ipv6: { subnet: SUBNET6 } } : {}),
      endpoints: [
        { ipv4: A, ...(dualStack ? { ipv6: A6 } : {}), ports: ports.a ?? [] },
        { ipv4: B, ...(dualStack ? { ipv6: B6 } : {}), ports: ports.b ?? [] },
      ],
    }],
  };
}

interface ConntrackBed {
  bed: PacketBed;
  firewall: Firewall;
}

/** A bed whose specs are applied by one Firewall, kept for the test's imperative calls. */
async function conntrackBed(t: ExecutionContext, label: string, first: SpecInput): Promise<ConntrackBed> {
  let firewall: Firewall | undefined;
  const bed = await createPacketBed(t, {
    label, spec: first,
    apply: async (host, input) => {
      if (!firewall) {
        firewall = await Firewall.open({ netns: host.path });
        t.teardown(() => firewall?.close());
      }
      await firewall.apply(input);
    },
  });
  await Promise.all([bed.node(A).agent.serveEcho([ECHO_PORT]), bed.node(B).agent.serveEcho([ECHO_PORT])]);
  return { bed, firewall: firewall! };
}

/**
 * Streams UDP from outside to the host's published port, makes `change`
 * once the flow is under way, and returns who answered each datagram with
 * the number sent before the change began and after it ended.
 */
async function streamAcross(
  bed: PacketBed, name: string, change: () => Promise<ApplyResult>, hostAddress: string = UPLINK.hostIpv4,
): Promise<{ result: UdpStreamResult; before: number; after: number; applied: ApplyResult }> {
  const sender = bed.outside.agent;
  await sender.startUdpStream(name, { address: hostAddress, port: UDP_MAPPING.hostPort as number }, STREAM.intervalMs, STREAM.count);
  for (let polls = 0; (await sender.udpStreamSent(name)) < SENT_BEFORE_CHANGE && polls < 100; polls++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const before = await sender.udpStreamSent(name);
  const applied = await change();
  const after = await sender.udpStreamSent(name);
  return { result: await sender.udpStreamResults(name), before, after, applied };
}

/** Who answered the datagrams sent after the change (the first one after it may have been in flight during it). */
function answersAfter(stream: { result: UdpStreamResult; after: number }): (string | null)[] {
  return stream.result.answeredBy.slice(stream.after + 1, stream.result.sent);
}

export function registerConntrackSuite(backend: BackendName): void {
  const title = (text: string): string => `${backend}: conntrack follows the mapping: ${text}`;

  kernelTest(title('a UDP mapping moved from A to B (apply): the continuous sender reaches B right after'), async (t) => {
    const { bed, firewall } = await conntrackBed(t, `ctmv${backend[0]}`, spec(backend, { a: [UDP_MAPPING] }));
    const stream = await streamAcross(bed, 'moved', () => firewall.apply(spec(backend, { b: [UDP_MAPPING] })));
    const beforeChange = stream.result.answeredBy.slice(0, stream.before);
    t.true(beforeChange.some((server) => server === containerName(A)), `A answered before the move: ${beforeChange.join()}`);
    const after = answersAfter(stream);
    t.true(after.length >= 10, `datagrams sent after the move: ${after.length}`);
    t.deepEqual(after, after.map(() => containerName(B)), 'every datagram after the move reaches B');
    t.true(stream.applied.conntrack.cleared >= 1, `cleared ${stream.applied.conntrack.cleared}`);
  });

  kernelTest(title('a UDP mapping moved from A to B over IPv6 (apply): the continuous sender reaches B right after'), async (t) => {
    const { bed, firewall } = await conntrackBed(t, `ctm6${backend[0]}`, spec(backend, { a: [UDP_MAPPING] }, true));
    const stream = await streamAcross(bed, 'moved6', () => firewall.apply(spec(backend, { b: [UDP_MAPPING] }, true)), UPLINK.hostIpv6);
    t.true(stream.result.answeredBy.slice(0, stream.before).some((server) => server === containerName(A)), 'A answered before the move');
    const after = answersAfter(stream);
    t.true(after.length >= 10, `datagrams sent after the move: ${after.length}`);
    t.deepEqual(after, after.map(() => containerName(B)), 'every datagram after the move reaches B');
    t.true(stream.applied.conntrack.cleared >= 1, `cleared ${stream.applied.conntrack.cleared}`);
  });

  kernelTest(title('a UDP mapping removed (removePorts): A stops receiving'), async (t) => {
    const { bed, firewall } = await conntrackBed(t, `ctrm${backend[0]}`, spec(backend, { a: [UDP_MAPPING] }));
    const stream = await streamAcross(bed, 'removed', () => firewall.removePorts(BRIDGE, { ipv4: A }, [UDP_MAPPING]));
    t.true(stream.result.answeredBy.slice(0, stream.before).some((server) => server === containerName(A)), 'A answered before the removal');
    const after = answersAfter(stream);
    t.true(after.length >= 10);
    t.deepEqual(after, after.map(() => null), 'nothing answers after the removal');
    t.true(stream.applied.conntrack.cleared >= 1);
  });

  kernelTest(title('a UDP port published after early traffic the host answered (addPorts): the datagrams reach the container'), async (t) => {
    const { bed, firewall } = await conntrackBed(t, `ctpb${backend[0]}`, spec(backend, {}));
    const stream = await streamAcross(bed, 'published', () => firewall.addPorts(BRIDGE, { ipv4: A }, [UDP_MAPPING]));
    t.deepEqual(stream.result.answeredBy.slice(0, stream.before), Array.from({ length: stream.before }, () => null), 'the host answered nothing (port unreachable) before');
    const after = answersAfter(stream);
    t.true(after.length >= 10);
    t.deepEqual(after, after.map(() => containerName(A)), 'every datagram after publishing reaches A');
    t.true(stream.applied.conntrack.cleared >= 1);
  });

  kernelTest(title('a TCP connection to a kept mapping survives unrelated changes (port calls, endpoint, apply)'), async (t) => {
    const { bed, firewall } = await conntrackBed(t, `ctkp${backend[0]}`, spec(backend, { a: [TCP_MAPPING, UDP_MAPPING] }));
    const client = bed.outside.agent;
    const target = { address: UPLINK.hostIpv4, port: TCP_MAPPING.hostPort as number };
    const opened = await client.openTcpSession('kept', target);
    t.is(opened.server, containerName(A), `opened: ${JSON.stringify(opened)}`);
    const changes: [string, () => Promise<ApplyResult>][] = [
      ['another port of the same endpoint published', () => firewall.addPorts(BRIDGE, { ipv4: A }, [{ proto: 'tcp', hostPort: 8091, containerPort: ECHO_PORT }])],
      ['a UDP port of the same endpoint removed', () => firewall.removePorts(BRIDGE, { ipv4: A }, [UDP_MAPPING])],
      ['a port of another endpoint published', () => firewall.addPorts(BRIDGE, { ipv4: B }, [{ proto: 'tcp', hostPort: 8092, containerPort: ECHO_PORT }])],
      ['another endpoint replaced', () => firewall.addEndpoint(BRIDGE, { ipv4: B, ports: [{ proto: 'udp', hostPort: 8053, containerPort: 80 }] })],
      ['a declarative apply that moves the other mappings', () => firewall.apply(spec(backend, { a: [TCP_MAPPING], b: [{ proto: 'tcp', hostPort: 8091, containerPort: ECHO_PORT }] }))],
    ];
    for (const [what, change] of changes) {
      const result = await change();
      t.true(result.commits >= 1, `${what}: committed`);
      const answer = await client.sendOnTcpSession('kept', what.replace(/ /g, '-'));
      t.is(answer.server, containerName(A), `${what}: the connection still answers (${JSON.stringify(answer)})`);
    }
    // And the mapping's own removal does end it: its entry goes with it.
    await firewall.removePorts(BRIDGE, { ipv4: A }, [TCP_MAPPING]);
    const ended = await client.sendOnTcpSession('kept', 'after-removal');
    t.false(ended.reachable, `the removed mapping's connection ends: ${JSON.stringify(ended)}`);
  });
}
