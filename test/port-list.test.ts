/** The packed port list a held spec keeps, and the ledger of host ports: values in, the same values out. */
import test from 'ava';
import { ValidationError } from '../src/errors.js';
import { PortList } from '../src/held/port-list.js';
import { PortLedger } from '../src/held/ledger.js';
import { isIdentityRange } from '../src/docker/model.js';
import type { PortSpec } from '../src/input/types.js';

const SHAPES: PortSpec[] = [
  { proto: 'tcp', containerPort: { first: 80, last: 80 } },
  { proto: 'udp', hostPort: { first: 53, last: 54 }, containerPort: { first: 5353, last: 5354 } },
  { proto: 'sctp', hostIp: '0.0.0.0', hostPort: { first: 65535, last: 65535 }, containerPort: { first: 1, last: 1 } },
  { proto: 'tcp', hostIp: '2001:db8::1', hostPort: { first: 1, last: 65535 }, containerPort: { first: 1, last: 65535 } },
  { proto: 'udp', hostIp: '::', containerPort: { first: 7, last: 9 } },
  { proto: 'tcp', hostIp: '198.51.100.1', hostPort: { first: 8080, last: 8080 }, containerPort: { first: 80, last: 80 } },
];

test('every port shape comes out as it went in, in order', (t) => {
  const list = PortList.of(SHAPES);
  t.is(list.length, SHAPES.length);
  t.deepEqual(list.toArray(), SHAPES);
  SHAPES.forEach((port, index) => t.deepEqual(list.get(index), port));
});

test('edits keep the other ports in place', (t) => {
  const list = PortList.of(SHAPES);
  list.removeAt(1);
  t.deepEqual(list.toArray(), [SHAPES[0], ...SHAPES.slice(2)]);
  list.insert(1, SHAPES[1]!);
  t.deepEqual(list.toArray(), SHAPES);
  t.deepEqual(list.truncate(4), SHAPES.slice(4));
  t.deepEqual(list.toArray(), SHAPES.slice(0, 4));
  const removed = list.removeEqual([SHAPES[3]!, SHAPES[0]!, SHAPES[5]!]);
  t.deepEqual(removed, [{ port: SHAPES[0], index: 0 }, { port: SHAPES[3], index: 3 }], 'a port not held removes nothing');
  t.deepEqual(list.toArray(), [SHAPES[1], SHAPES[2]]);
  t.deepEqual(list.removeEqual([{ ...SHAPES[1]!, hostIp: '198.51.100.1' }]), [], 'equal but for the host address');
  list.push(SHAPES[1]!);
  t.deepEqual(list.removeEqual([SHAPES[1]!]), [{ port: SHAPES[1], index: 0 }, { port: SHAPES[1], index: 2 }], 'every listing');
  t.deepEqual(list.toArray(), [SHAPES[2]]);
});

test('ports sharing container ports are found by their protocol and range', (t) => {
  const list = PortList.of(SHAPES);
  const tcp = (first: number, last: number): PortSpec => ({ proto: 'tcp', containerPort: { first, last } });
  t.deepEqual([...list.sharingContainerPorts([{ proto: 'udp', containerPort: { first: 5354, last: 5400 } }])], [SHAPES[1]]);
  t.deepEqual([...list.sharingContainerPorts([tcp(80, 80)])], [SHAPES[0], SHAPES[3], SHAPES[5]]);
  t.deepEqual([...list.sharingContainerPorts([tcp(80, 80), tcp(70, 90)])], [SHAPES[0], SHAPES[3], SHAPES[5]], 'each port once');
  t.deepEqual([...list.sharingContainerPorts([{ proto: 'sctp', containerPort: { first: 2, last: 100 } }])], []);
});

test('ports are found by value, and copies are independent', (t) => {
  const list = PortList.of([...SHAPES, SHAPES[0]!]);
  t.is(list.lastIndexOf({ proto: 'tcp', containerPort: { first: 80, last: 80 } }), SHAPES.length);
  t.is(list.lastIndexOf({ proto: 'tcp', containerPort: { first: 81, last: 81 } }), -1);
  // `0.0.0.0` and no host address publish alike but are different ports as written.
  t.is(list.lastIndexOf({ proto: 'sctp', hostPort: { first: 65535, last: 65535 }, containerPort: { first: 1, last: 1 } }), -1);
  const copy = list.slice(2);
  list.removeAt(2);
  t.deepEqual(copy.toArray(), [...SHAPES.slice(2), SHAPES[0]]);
});

test('host addresses that come and go leave the ports they did not name as they were', (t) => {
  const on = (hostIp: string, port: number): PortSpec =>
    ({ proto: 'tcp', hostIp, hostPort: { first: port, last: port }, containerPort: { first: port, last: port } });
  const list = PortList.of([on('198.51.100.1', 80)]);
  for (let i = 0; i < 1000; i++) {
    list.push(on(`2001:db8::${i.toString(16)}`, 81));
    t.is(list.lastIndexOf(on(`2001:db8::${i.toString(16)}`, 81)), 1);
    list.removeAt(1);
  }
  list.insert(0, on('203.0.113.7', 82));
  t.deepEqual(list.toArray(), [on('203.0.113.7', 82), on('198.51.100.1', 80)]);
  t.is(list.lastIndexOf(on('2001:db8::1', 81)), -1);
  t.is(list.lastIndexOf(on('198.51.100.1', 80)), 1);
});

test('a list grows past its first capacity', (t) => {
  const list = new PortList(0);
  for (let port = 1; port <= 1024; port++) list.push({ proto: 'tcp', hostPort: { first: port, last: port }, containerPort: { first: port, last: port } });
  t.is(list.length, 1024);
  t.deepEqual(list.get(1023), { proto: 'tcp', hostPort: { first: 1024, last: 1024 }, containerPort: { first: 1024, last: 1024 } });
});

test('the ledger refuses a host port an overlapping address holds, and frees it on release', (t) => {
  const endpoint = { ipv4: '198.18.0.2', ports: new PortList() };
  const ledger = new PortLedger([{ bridge: 'br0', internal: false, icc: true, masquerade: true, gatewayMode: 'nat', endpoints: [endpoint] }]);
  const on = (hostIp: string | undefined, hostPort: number): PortSpec =>
    ({ proto: 'tcp', ...(hostIp ? { hostIp } : {}), hostPort: { first: hostPort, last: hostPort }, containerPort: { first: 80, last: 80 } });
  const first = on('198.51.100.1', 8080);
  ledger.claim(first, ['ipv4'], 'a');
  endpoint.ports.push(first);
  // Another address: free. The same address, or every address: taken, and the holder is named.
  ledger.claim(on('198.51.100.2', 8080), ['ipv4'], 'b');
  const clash = t.throws(() => ledger.claim(on('198.51.100.1', 8080), ['ipv4'], 'c'), { instanceOf: ValidationError });
  t.is(clash.field, 'c.hostPort');
  t.regex(clash.message, /is already published to 198\.18\.0\.2 port 80 \(networks\[0\]\.endpoints\[0\]\.ports\[0\]\)$/);
  t.throws(() => ledger.claim(on(undefined, 8080), ['ipv4'], 'd'), { instanceOf: ValidationError });
  t.throws(() => ledger.claim(on('0.0.0.0', 8080), ['ipv4'], 'e'), { instanceOf: ValidationError });
  // Another family or protocol: free.
  ledger.claim(on(undefined, 8080), ['ipv6'], 'f');
  ledger.claim({ ...on(undefined, 8080), proto: 'udp' }, ['ipv4'], 'g');
  ledger.release(first, ['ipv4']);
  ledger.release(on('198.51.100.2', 8080), ['ipv4']);
  ledger.claim(on(undefined, 8080), ['ipv4'], 'h');
  t.throws(() => ledger.claim(on('198.51.100.3', 8080), ['ipv4'], 'i'), { instanceOf: ValidationError });
});

test('the ledger keeps telling addresses apart after many came and went', (t) => {
  const ledger = new PortLedger([]);
  const on = (hostIp: string | undefined, port = 53): PortSpec =>
    ({ proto: 'udp', ...(hostIp ? { hostIp } : {}), hostPort: { first: port, last: port }, containerPort: { first: port, last: port } });
  ledger.claim(on(undefined, 54), ['ipv4'], 'every');
  for (let i = 0; i < 20_000; i++) {
    const address = `198.18.${i >> 8}.${i & 255}`;
    ledger.claim(on(address), ['ipv4'], 'a');
    // Refused: port 54 is published on every address. Its address holds nothing afterwards.
    t.throws(() => ledger.claim(on(`203.0.113.${i & 255}`, 54), ['ipv4'], 'b'), { instanceOf: ValidationError });
    ledger.release(on(address), ['ipv4']);
  }
  t.throws(() => ledger.claim(on('198.51.100.1', 54), ['ipv4'], 'still'), { instanceOf: ValidationError });
  ledger.claim(on('198.51.100.1'), ['ipv4'], 'c');
  t.throws(() => ledger.claim(on('198.51.100.1'), ['ipv4'], 'd'), { instanceOf: ValidationError });
  t.throws(() => ledger.claim({ ...on('198.51.100.1'), hostIp: '0.0.0.0' }, ['ipv4'], 'e'), { instanceOf: ValidationError });
  t.notThrows(() => ledger.claim(on('198.51.100.2'), ['ipv4'], 'f'));
  t.notThrows(() => ledger.claim(on('198.18.0.1'), ['ipv4'], 'g'));
});

test('the ledger tells apart host ports held side by side, to the ends of the port numbers', (t) => {
  const ledger = new PortLedger([]);
  const on = (first: number, last = first): PortSpec =>
    ({ proto: 'tcp', hostIp: '198.51.100.1', hostPort: { first, last }, containerPort: { first, last } });
  for (const port of [1, 15, 16, 17, 31, 32, 65519, 65520, 65535]) ledger.claim(on(port), ['ipv4'], `p${port}`);
  ledger.release(on(16), ['ipv4']);
  ledger.release(on(65535), ['ipv4']);
  for (const port of [1, 15, 17, 31, 32, 65519, 65520]) t.throws(() => ledger.claim(on(port), ['ipv4'], 'again'), { instanceOf: ValidationError });
  ledger.claim(on(16), ['ipv4'], 'p16 again');
  ledger.claim(on(65535), ['ipv4'], 'p65535 again');
  ledger.claim(on(2, 14), ['ipv4'], 'between');
  const clash = t.throws(() => ledger.claim(on(14, 15), ['ipv4'], 'overlap'), { instanceOf: ValidationError });
  t.regex(clash.message, /tcp port 14 on 198\.51\.100\.1/);
  // Released whole, a run holds nothing of what it held.
  ledger.release(on(2, 14), ['ipv4']);
  ledger.release(on(1), ['ipv4']);
  ledger.release(on(15), ['ipv4']);
  t.notThrows(() => ledger.claim(on(1, 15), ['ipv4'], 'all of the first run'));
});

test('a refused range takes nothing', (t) => {
  const ledger = new PortLedger([]);
  ledger.claim({ proto: 'tcp', hostPort: { first: 20, last: 20 }, containerPort: { first: 20, last: 20 } }, ['ipv4'], 'a');
  t.throws(() => ledger.claim({ proto: 'tcp', hostPort: { first: 10, last: 20 }, containerPort: { first: 10, last: 20 } }, ['ipv4'], 'b'));
  // Ports 10 to 19 were checked before 20 was found taken: still free.
  t.notThrows(() => ledger.claim({ proto: 'tcp', hostPort: { first: 10, last: 19 }, containerPort: { first: 10, last: 19 } }, ['ipv4'], 'c'));
});

/** The single mappings a port stands for: `proto address host->container`. */
function mappingsOf(ports: Iterable<PortSpec>): string[] {
  const found: string[] = [];
  for (const port of ports) {
    for (let i = 0; i <= port.containerPort.last - port.containerPort.first; i++) {
      const host = port.hostPort === undefined ? '-' : port.hostPort.first + i;
      found.push(`${port.proto} ${port.hostIp ?? '*'} ${host}->${port.containerPort.first + i}`);
    }
  }
  return found.sort();
}

test('unpublishing takes out exactly the mappings named, whatever shape either side has, and publishes() agrees', (t) => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const portOf = (first: number, length: number, offset: number, hostIp?: string): PortSpec => {
    const port: PortSpec = { proto: random(2) === 0 ? 'tcp' : 'udp', containerPort: { first, last: first + length - 1 } };
    if (hostIp !== undefined) port.hostIp = hostIp;
    if (offset >= 0) port.hostPort = { first: first + offset, last: first + offset + length - 1 };
    return port;
  };
  const shape = () => portOf(1 + random(60), 1 + random(12), [-1, 0, 100][random(3)]!, [undefined, '198.51.100.1'][random(2)]);
  for (let round = 0; round < 300; round++) {
    const held = Array.from({ length: random(6) }, shape);
    const named = Array.from({ length: 1 + random(4) }, shape);
    const list = PortList.of(held);
    const { removed, left, unpublished } = list.unpublish(named);
    for (const port of left) list.push(port);
    const wanted = new Set(mappingsOf(named));
    // A mapping held twice (a port without a host port may be) goes from both.
    t.deepEqual(mappingsOf(list), mappingsOf(held).filter((mapping) => !wanted.has(mapping)), JSON.stringify({ held, named }));
    t.deepEqual(mappingsOf(unpublished), mappingsOf(held).filter((mapping) => wanted.has(mapping)));
    t.deepEqual([...mappingsOf(left), ...mappingsOf(unpublished)].sort(), mappingsOf(removed.map(({ port }) => port)));
    const after = new Set(mappingsOf(list));
    for (const port of named) t.is(list.publishes(port), mappingsOf([port]).every((mapping) => after.has(mapping)));
    for (const port of list) t.true(list.publishes(port));
  }
});

test('runEnd ends a run where protocol, host address or having a host port changes, and around identity ranges held whole; appendPorts expands it', (t) => {
  // Runs of alike ports between the shapes, and identity ranges among them.
  const ports: PortSpec[] = [
    ...SHAPES,
    { proto: 'tcp', hostIp: '198.51.100.1', hostPort: { first: 8081, last: 8082 }, containerPort: { first: 81, last: 82 } },
    { proto: 'tcp', hostIp: '198.51.100.1', hostPort: { first: 9000, last: 9001 }, containerPort: { first: 9000, last: 9001 } },
    { proto: 'tcp', hostIp: '198.51.100.1', hostPort: { first: 9005, last: 9005 }, containerPort: { first: 9005, last: 9005 } },
    { proto: 'tcp', containerPort: { first: 81, last: 82 } },
    { proto: 'tcp', containerPort: { first: 90, last: 90 } },
  ];
  const list = PortList.of(ports);
  const alike = (a: PortSpec, b: PortSpec) => a.proto === b.proto && a.hostIp === b.hostIp && (a.hostPort === undefined) === (b.hostPort === undefined);
  const expand = (port: PortSpec, range: 'hostPort' | 'containerPort') =>
    Array.from({ length: port.containerPort.last - port.containerPort.first + 1 }, (_, i) => port[range]!.first + i);
  for (const wholeRanges of [false, true]) {
    const runs: number[][] = [];
    for (let start = 0, end; start < list.length; start = end) {
      end = list.runEnd(start, wholeRanges);
      let expected = start + 1;
      if (!(wholeRanges && isIdentityRange(ports[start]!))) {
        while (expected < ports.length && alike(ports[start]!, ports[expected]!) && !(wholeRanges && isIdentityRange(ports[expected]!))) expected++;
      }
      t.is(end, expected, `run from ${start}`);
      runs.push([start, end]);
      const hostPorts = ports[start]!.hostPort === undefined ? undefined : [] as number[];
      const containerPorts: number[] = [];
      list.appendPorts(start, end, containerPorts, hostPorts);
      t.deepEqual(containerPorts, ports.slice(start, end).flatMap((port) => expand(port, 'containerPort')));
      if (hostPorts) t.deepEqual(hostPorts, ports.slice(start, end).flatMap((port) => expand(port, 'hostPort')));
    }
    t.deepEqual(runs.slice(-4), wholeRanges ? [[5, 7], [7, 8], [8, 9], [9, 11]] : [[3, 4], [4, 5], [5, 9], [9, 11]]);
  }
});
