/**
 * Docker's -p notation, read as go-connections nat.ParsePortSpec reads it:
 * the cases of its own tests (nat/nat_test.go: TestParsePort,
 * TestSplitProtoPort, TestParsePortSpecEmptyContainerPort, TestParsePortSpecFull,
 * TestPartPortSpecIPV6, TestParsePortSpecs*, TestParseNetworkOpts*, TestStringer),
 * accepted and refused, and the spec and the port API taking them.
 */
import test from 'ava';
import { ValidationError } from '../src/errors.js';
import { parseDockerPort } from '../src/input/docker-port.js';
import type { PortSpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { random } from './reliability/hostile.js';

const accepted: [string, PortSpecInput][] = [
  // TestParsePortSpecs, TestParsePortSpecsWithRange
  ['1234/tcp', { proto: 'tcp', containerPort: 1234 }],
  ['2345/udp', { proto: 'udp', containerPort: 2345 }],
  ['3456/sctp', { proto: 'sctp', containerPort: 3456 }],
  ['1234:1234/tcp', { proto: 'tcp', hostPort: 1234, containerPort: 1234 }],
  ['0.0.0.0:2345:2345/udp', { proto: 'udp', hostIp: '0.0.0.0', hostPort: 2345, containerPort: 2345 }],
  ['1234-1236/tcp', { proto: 'tcp', containerPort: '1234-1236' }],
  ['2345-2347:2345-2347/udp', { proto: 'udp', hostPort: '2345-2347', containerPort: '2345-2347' }],
  ['0.0.0.0:3456-3458:3456-3458/sctp', { proto: 'sctp', hostIp: '0.0.0.0', hostPort: '3456-3458', containerPort: '3456-3458' }],
  // TestParsePortSpecFull
  ['0.0.0.0:1234-1235:3333-3334/tcp', { proto: 'tcp', hostIp: '0.0.0.0', hostPort: '1234-1235', containerPort: '3333-3334' }],
  // TestPartPortSpecIPV6
  ['[2001:4860:0:2001::68]::333', { proto: 'tcp', hostIp: '2001:4860:0:2001::68', containerPort: 333 }],
  ['[::1]:80:80', { proto: 'tcp', hostIp: '::1', hostPort: 80, containerPort: 80 }],
  ['2001:4860:0:2001::68::333', { proto: 'tcp', hostIp: '2001:4860:0:2001::68', containerPort: 333 }],
  ['::1:80:80', { proto: 'tcp', hostIp: '::1', hostPort: 80, containerPort: 80 }],
  ['::::80', { proto: 'tcp', hostIp: '::', containerPort: 80 }],
  // TestParseNetworkOpts*
  ['192.168.1.100::80', { proto: 'tcp', hostIp: '192.168.1.100', containerPort: 80 }],
  ['192.168.1.100:8080:80', { proto: 'tcp', hostIp: '192.168.1.100', hostPort: 8080, containerPort: 80 }],
  ['192.168.1.100::6000/udp', { proto: 'udp', hostIp: '192.168.1.100', containerPort: 6000 }],
  ['192.168.1.100::6000/sctp', { proto: 'sctp', hostIp: '192.168.1.100', containerPort: 6000 }],
  // TestStringer
  [':8080:6000/tcp', { proto: 'tcp', hostPort: 8080, containerPort: 6000 }],
  ['::6000', { proto: 'tcp', containerPort: 6000 }],
  ['[::1]::6000/udp', { proto: 'udp', hostIp: '::1', containerPort: 6000 }],
  ['::1:8080:6000/udp', { proto: 'udp', hostIp: '::1', hostPort: 8080, containerPort: 6000 }],
  ['::::6000/udp', { proto: 'udp', hostIp: '::', containerPort: 6000 }],
  // TestSplitProtoPort: an empty protocol is tcp, any case is read; TestParsePort: leading zeros, 65535
  ['1234/', { proto: 'tcp', containerPort: 1234 }],
  ['1234/UDP', { proto: 'udp', containerPort: 1234 }],
  ['80-8080/', { proto: 'tcp', containerPort: '80-8080' }],
  ['0123:0123', { proto: 'tcp', hostPort: 123, containerPort: 123 }],
  ['65535:65535', { proto: 'tcp', hostPort: 65535, containerPort: 65535 }],
  // strconv.ParseInt takes a sign; A-A is A
  ['+8080:+80', { proto: 'tcp', hostPort: 8080, containerPort: 80 }],
  ['8080-8080:80-80', { proto: 'tcp', hostPort: 8080, containerPort: 80 }],
  // The examples; a host port range with one container port is the range to choose from; port 0 is "choose"
  ['8080:80', { proto: 'tcp', hostPort: 8080, containerPort: 80 }],
  ['127.0.0.1:8080:80/udp', { proto: 'udp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }],
  ['[::1]:8080:80', { proto: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80 }],
  ['8000-8010:8000-8010/sctp', { proto: 'sctp', hostPort: '8000-8010', containerPort: '8000-8010' }],
  ['80', { proto: 'tcp', containerPort: 80 }],
  ['8000-8010:80', { proto: 'tcp', hostPort: '8000-8010', containerPort: 80 }],
  ['0:80', { proto: 'tcp', containerPort: 80 }],
  ['[]:8080:80', { proto: 'tcp', hostPort: 8080, containerPort: 80 }],
];

for (const [text, expected] of accepted) {
  test(`accepts ${JSON.stringify(text)}`, (t) => {
    t.deepEqual(parseDockerPort(text, 'ports[0]'), expected);
  });
}

const refused: [string, RegExp][] = [
  // TestParsePortSpecEmptyContainerPort
  ['', /container port/],
  ['0.0.0.0:1234-1235:/tcp', /container port/],
  ['0.0.0.0:1234-1235:', /container port/],
  ['/udp', /container port/],
  // TestParseNetworkOptsPublicNoPort, TestParseNetworkOptsNegativePorts
  ['192.168.1.100', /container port/],
  ['192.168.1.100:-1:-1', /container port/],
  // TestParsePort, TestPort
  ['asdf', /container port/],
  ['1asdf', /container port/],
  ['65536', /container port/],
  ['-1', /container port/],
  ['asd1234', /container port/],
  ['1234-1230', /container port/],
  ['8080:65536', /container port/],
  ['65536:80', /host port/],
  ['1234-1230:80', /host port/],
  ['x:80', /host port/],
  // Ranges of different lengths, unless the container port is one port
  ['1234-1235:80-82', /ranges of one length/],
  // validateProto
  ['80/icmp', /protocol/],
  ['80/tcp/udp', /protocol/],
  // Brackets as net.SplitHostPort wants them
  ['[::1:80:80', /brackets/],
  ['[::1]]:80:80', /brackets/],
  // Where Docker's daemon refuses later: container port 0, a host range from 0
  ['0', /container port/],
  ['8080:0', /container port/],
  ['0-100:80', /host port/],
];

for (const [text, message] of refused) {
  test(`refuses ${JSON.stringify(text)}`, (t) => {
    const error = t.throws(() => parseDockerPort(text, 'ports[3]'), { instanceOf: ValidationError });
    t.is(error.field, 'ports[3]');
    t.is(error.code, 'EVALIDATION');
    t.regex(error.message, message);
    t.true(error.message.includes(`but received ${JSON.stringify(text)}`), error.message);
  });
}

const spec = (ports: unknown[], gatewayMode = 'nat'): unknown => ({
  ipv6: true,
  networks: [{
    bridge: 'br0', gatewayMode, ipv4: { subnet: '192.0.2.0/24' }, ipv6: { subnet: '2001:db8::/64' },
    endpoints: [{ ipv4: '192.0.2.2', ipv6: '2001:db8::2', ports }],
  }],
});

test('a spec takes ports in Docker\'s notation, canonical in its output, next to the object form', (t) => {
  const parsed = parseSpec(spec(['127.0.0.1:8080:80/udp', { containerPort: 81, hostPort: 8081 }, '[::1]:8080:80']));
  t.deepEqual(parsed.networks[0]!.endpoints[0]!.ports, [
    { proto: 'udp', hostIp: '127.0.0.1', hostPort: { first: 8080, last: 8080 }, containerPort: { first: 80, last: 80 } },
    // proto defaults to tcp in the object form too, as in Docker.
    { proto: 'tcp', hostPort: { first: 8081, last: 8081 }, containerPort: { first: 81, last: 81 } },
    { proto: 'tcp', hostIp: '::1', hostPort: { first: 8080, last: 8080 }, containerPort: { first: 80, last: 80 } },
  ]);
});

test('an invalid string names the caller\'s field: its place in the ports array', (t) => {
  for (const [port, pattern] of [
    ['localhost:1234:1234/tcp', /Expected an IPv4 or IPv6 address for networks\[0\]\.endpoints\[0\]\.ports\[1\]/],
    ['localhost:1234-1236:1234-1236/tcp', /IPv4 or IPv6 address/],
    ['80/icmp', /protocol tcp, udp or sctp/],
  ] as const) {
    const error = t.throws(() => parseSpec(spec(['8080:80', port])), { instanceOf: ValidationError });
    t.is(error.field, 'networks[0].endpoints[0].ports[1]');
    t.regex(error.message, pattern);
  }
  // The same host port twice, once in each notation.
  const clash = t.throws(() => parseSpec(spec([{ proto: 'tcp', hostPort: 8080, containerPort: 80 }, '8080:81'])), { instanceOf: ValidationError });
  t.is(clash.field, 'networks[0].endpoints[0].ports[1].hostPort');
});

test('a host port range with one container port is refused where no host port is chosen (routed)', (t) => {
  const error = t.throws(() => parseSpec(spec(['8000-8010:80'], 'routed')), { instanceOf: ValidationError });
  t.is(error.field, 'networks[0].endpoints[0].ports[0]');
  const object = t.throws(() => parseSpec(spec([{ hostPort: '8000-8010', containerPort: 80 }], 'routed')), { instanceOf: ValidationError });
  t.is(object.field, 'networks[0].endpoints[0].ports[0].hostPort');
});

test('5,000 strings made of the notation\'s own characters: parsed into a port that validates, or refused with the field', (t) => {
  const next = random(17);
  const pieces = ['0', '1', '80', '8080', '65535', '65536', '0123', '+', ':', ':', '-', '/', 'tcp', 'UDP', 'sctp', '[', ']', '::1', '127.0.0.1', '0.0.0.0', '::', 'x', ''];
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: 1 + Math.floor(next() * 7) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
    try {
      parseSpec(spec([text]));
      accepted++;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw new Error(`${JSON.stringify(text)}: ${String(error)}`);
      t.true(error.field.startsWith('networks[0].endpoints[0].ports[0]'), `${JSON.stringify(text)}: ${error.field}`);
    }
  }
  t.true(accepted > 100, `${accepted} accepted`);
});
