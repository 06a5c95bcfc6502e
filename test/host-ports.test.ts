/**
 * Host ports chosen as Docker chooses them (moby portallocator,
 * port_mapping_linux.go needSamePort): for a port without one on a network
 * with NAT, from the ephemeral range less the reserved ports, or from the
 * host port range given with one container port; the same host port for the
 * IPv4 and IPv6 bindings of one mapping; never one the spec names; lowest
 * first, so the choice depends on the spec alone.
 */
import test from 'ava';
import { ValidationError } from '../src/errors.js';
import { HeldSpec } from '../src/held/held-spec.js';
import type { EphemeralPorts } from '../src/input/host-ports.js';
import type { PortInput, SpecInput } from '../src/input/types.js';
import { parseSpec, parseSpecWithPorts } from '../src/input/validate.js';

const RANGE: EphemeralPorts = { first: 40000, last: 40009, reserved: [] };

const spec = (endpoints: PortInput[][], extra: Record<string, unknown> = {}): SpecInput => ({
  ipv6: true,
  networks: [{
    bridge: 'br0', ipv4: { subnet: '192.0.2.0/24' }, ipv6: { subnet: '2001:db8::/64' },
    endpoints: endpoints.map((ports, i) => ({ ipv4: `192.0.2.${i + 2}`, ipv6: `2001:db8::${i + 2}`, ports })),
    ...extra,
  }],
});

/** Each endpoint's ports as `hostIp hostPort>containerPort`. */
function hostPorts(input: SpecInput, ephemeral = RANGE): string[][] {
  return parseSpec(input, ephemeral).networks[0]!.endpoints.map((endpoint) => endpoint.ports.map((port) =>
    `${port.hostIp ?? '*'} ${port.hostPort ? `${port.hostPort.first}-${port.hostPort.last}` : '-'}>${port.containerPort.first}`));
}

test('a port without a host port gets the lowest free one of the ephemeral range, the same on IPv4 and IPv6', (t) => {
  t.deepEqual(hostPorts(spec([['80', '81/udp']])), [['* 40000-40000>80', '* 40000-40000>81']]);
  const { allocations } = parseSpecWithPorts(spec([['80', { containerPort: 81 }]]), RANGE);
  t.deepEqual(allocations, [
    { field: 'networks[0].endpoints[0].ports[0]', hostPort: 40000 },
    { field: 'networks[0].endpoints[0].ports[1]', hostPort: 40001 },
  ]);
});

test('Linux\'s default range when no namespace says otherwise', (t) => {
  t.deepEqual(parseSpec(spec([['80']])).networks[0]!.endpoints[0]!.ports[0]!.hostPort, { first: 32768, last: 32768 });
});

test('a chosen host port is never one the spec names, wherever it names it', (t) => {
  // The later endpoint's 40000 and 40001 are named after the first endpoint's "80": still left to it.
  t.deepEqual(hostPorts(spec([['80'], ['40000:80', '0.0.0.0:40001:81']])), [['* 40002-40002>80'], ['* 40000-40000>80', '0.0.0.0 40001-40001>81']]);
  // Another address of the family does not hold a port every address needs; another protocol does not either.
  t.deepEqual(hostPorts(spec([['192.0.2.1:40000:80', '40001:81/udp', '80']])), [['192.0.2.1 40000-40000>80', '* 40001-40001>81', '* 40001-40001>80']]);
});

test('0.0.0.0 and :: bindings of one mapping share one host port, as Docker\'s needSamePort', (t) => {
  // 40000 is taken on IPv6 only, so neither binding takes it.
  t.deepEqual(hostPorts(spec([['[::]:40000:79', '0.0.0.0::80', '[::]::80']])), [[':: 40000-40000>79', '0.0.0.0 40001-40001>80', ':: 40001-40001>80']]);
  // The same mapping twice gets a host port each.
  t.deepEqual(hostPorts(spec([['80', '80']])), [['* 40000-40000>80', '* 40001-40001>80']]);
});

test('a host port range with one container port is the range to choose from, reserved ports included', (t) => {
  t.deepEqual(hostPorts(spec([['8000:81', '8000-8010:80']]), { ...RANGE, reserved: [{ first: 8001, last: 8001 }] }), [['* 8000-8000>81', '* 8001-8001>80']]);
  t.deepEqual(hostPorts(spec([[{ hostPort: '8000-8010', containerPort: 80 }]])), [['* 8000-8000>80']]);
});

test('a container port range gets consecutive host ports, and the ephemeral range skips reserved ports', (t) => {
  const ephemeral = { ...RANGE, reserved: [{ first: 40000, last: 40001 }, { first: 40005, last: 40005 }] };
  t.deepEqual(hostPorts(spec([['40002:1', '9000-9002']]), ephemeral), [['* 40002-40002>1', '* 40006-40008>9000']]);
});

test('a range without a free port is refused, naming the port', (t) => {
  const error = t.throws(() => parseSpec(spec([['80', '81', '82-90']]), { first: 40000, last: 40009, reserved: [] }), { instanceOf: ValidationError });
  t.is(error.field, 'networks[0].endpoints[0].ports[2].hostPort');
  t.regex(error.message, /tcp host port range of 9 port\(s\) free in 40000-40009/);
  const range = t.throws(() => parseSpec(spec([['8000-8001:1-2', '8000-8001:3']]), RANGE), { instanceOf: ValidationError });
  t.is(range.field, 'networks[0].endpoints[0].ports[1].hostPort');
  t.regex(range.message, /free in 8000-8001/);
});

test('routed and internal networks choose nothing: the container port is opened without DNAT', (t) => {
  t.deepEqual(hostPorts(spec([['80']], { gatewayMode: 'routed' })), [['* ->80']]);
  t.deepEqual(hostPorts(spec([[{ containerPort: 80 }]], { internal: true })), [['* ->80']]);
  t.deepEqual(hostPorts(spec([['80']], { gatewayMode: 'nat-unprotected' })), [['* 40000-40000>80']]);
});

test('addPorts chooses against what is held, reports each choice by the caller\'s field, and currentSpec keeps it', (t) => {
  const held = HeldSpec.parse(spec([['40000:80']]), RANGE);
  const edit = held.addPorts('br0', { ipv4: '192.0.2.2' }, ['8080:80', '81', { containerPort: 82 }]);
  t.deepEqual(edit.allocations, [{ field: 'ports[1]', hostPort: 40001 }, { field: 'ports[2]', hostPort: 40002 }]);
  const ports = held.toInput().networks![0]!.endpoints![0]!.ports;
  t.deepEqual(ports, [
    { proto: 'tcp', hostPort: 40000, containerPort: 80 },
    { proto: 'tcp', hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostPort: 40001, containerPort: 81 },
    { proto: 'tcp', hostPort: 40002, containerPort: 82 },
  ]);
  // Applying currentSpec again chooses nothing and keeps every port.
  const again = HeldSpec.parse(held.toInput(), RANGE);
  t.deepEqual(again.allocations, []);
  t.deepEqual(again.toInput(), held.toInput());
});

test('a port whose host port was chosen is published already: asking for it again chooses nothing and changes nothing', (t) => {
  const held = HeldSpec.parse(spec([[]]), RANGE);
  t.deepEqual(held.addPorts('br0', { ipv4: '192.0.2.2' }, ['80', '40005-40009:81']).allocations,
    [{ field: 'ports[0]', hostPort: 40000 }, { field: 'ports[1]', hostPort: 40005 }]);
  const again = held.addPorts('br0', { ipv4: '192.0.2.2' }, ['80', '40005-40009:81']);
  t.deepEqual([again.added.length, again.allocations], [0, []]);
  t.is(held.toInput().networks![0]!.endpoints![0]!.ports!.length, 2);
});

test('removePorts of a port left to choose takes the part of each chosen mapping it names, whatever its container range', (t) => {
  const held = HeldSpec.parse(spec([[]]), RANGE);
  const endpoint = { ipv4: '192.0.2.2' };
  held.addPorts('br0', endpoint, ['80-82', '90']);
  const containerPorts = () => held.toInput().networks![0]!.endpoints![0]!.ports!.map((port) => (port as { containerPort: number }).containerPort);
  held.removePorts('br0', endpoint, ['81']);
  t.deepEqual(containerPorts(), [90, 80, 82]);
  held.removePorts('br0', endpoint, ['90-91']);
  t.deepEqual(containerPorts(), [80, 82]);
  // A host range names the mappings chosen in it: 40000 -> 80, not 40002 -> 82.
  held.removePorts('br0', endpoint, ['39990-40000:80', '39990-40001:82']);
  t.deepEqual(held.toInput().networks![0]!.endpoints![0]!.ports, [{ proto: 'tcp', hostPort: 40002, containerPort: 82 }]);
});

test('addPorts whose choice fails changes nothing', (t) => {
  const held = HeldSpec.parse(spec([['40000-40008:1-9']]), RANGE);
  const before = held.toInput();
  t.throws(() => held.addPorts('br0', { ipv4: '192.0.2.2' }, ['8080:80', '81', '82']), { instanceOf: ValidationError, message: /ports\[2\]\.hostPort/ });
  t.deepEqual(held.toInput(), before);
  // 40009 and 8080 are still free.
  t.deepEqual(held.addPorts('br0', { ipv4: '192.0.2.2' }, ['8080:80', '81']).allocations, [{ field: 'ports[1]', hostPort: 40009 }]);
});

test('removePorts names a chosen port as it was added: without a host port, or with the range it was chosen from', (t) => {
  const held = HeldSpec.parse(spec([['80', '0.0.0.0::81', '[::]::81', '8000-8010:82', '8080:83']]), RANGE);
  const ref = { ipv4: '192.0.2.2' };
  const ports = () => held.toInput().networks![0]!.endpoints![0]!.ports;
  t.deepEqual(held.removePorts('br0', ref, ['80']).removed.map(({ port }) => port.hostPort), [{ first: 40000, last: 40000 }]);
  // Only the IPv4 binding of 81; the host port it shares with the IPv6 one stays there.
  t.is(held.removePorts('br0', ref, ['0.0.0.0::81']).removed.length, 1);
  t.deepEqual(ports(), [
    { proto: 'tcp', hostIp: '::', hostPort: 40001, containerPort: 81 },
    { proto: 'tcp', hostPort: 8000, containerPort: 82 },
    { proto: 'tcp', hostPort: 8080, containerPort: 83 },
  ]);
  // A range that does not hold the chosen port removes nothing; a container port alone names it on whatever host port.
  t.is(held.removePorts('br0', ref, ['9000-9010:82']).removed.length, 0);
  t.is(held.removePorts('br0', ref, ['8000-8010:82', '83']).removed.length, 2);
  t.deepEqual(ports(), [{ proto: 'tcp', hostIp: '::', hostPort: 40001, containerPort: 81 }]);
});

test('a spec applied over another keeps the host ports chosen before, while they are free, as Docker keeps a running container\'s', (t) => {
  const network = (endpoints: { ipv4: string; ports: PortInput[] }[]): SpecInput =>
    ({ networks: [{ bridge: 'br0', ipv4: { subnet: '192.0.2.0/24' }, endpoints }] });
  const ports = (held: HeldSpec) => held.toInput().networks![0]!.endpoints!.map((endpoint) => `${endpoint.ipv4} ${JSON.stringify(endpoint.ports)}`);
  const first = HeldSpec.parse(network([{ ipv4: '192.0.2.2', ports: ['80'] }, { ipv4: '192.0.2.3', ports: ['80', '8000-8010:81'] }]), RANGE);
  t.deepEqual(first.allocations.map((allocation) => allocation.hostPort), [40000, 40001, 8000]);
  // The first endpoint goes, a new one comes before the second: the second keeps 40001 and 8000, the new one takes 40000.
  const second = HeldSpec.parse(network([{ ipv4: '192.0.2.4', ports: ['80', '8000:82'] }, { ipv4: '192.0.2.3', ports: ['80', '8000-8010:81'] }]), RANGE, first);
  t.deepEqual(ports(second), [
    '192.0.2.4 [{"proto":"tcp","containerPort":80,"hostPort":40000},{"proto":"tcp","containerPort":82,"hostPort":8000}]',
    // 8000 is now named explicitly by the new endpoint: the range mapping moves to the next free port of its range.
    '192.0.2.3 [{"proto":"tcp","containerPort":80,"hostPort":40001},{"proto":"tcp","containerPort":81,"hostPort":8001}]',
  ]);
  // Without the earlier spec the choice is the spec's alone.
  t.deepEqual(HeldSpec.parse(network([{ ipv4: '192.0.2.3', ports: ['80'] }]), RANGE).allocations, [{ field: 'networks[0].endpoints[0].ports[0]', hostPort: 40000 }]);
  t.deepEqual(HeldSpec.parse(network([{ ipv4: '192.0.2.3', ports: ['80'] }]), RANGE, first).allocations, [{ field: 'networks[0].endpoints[0].ports[0]', hostPort: 40001 }]);
});
