/**
 * The model's bindings of an endpoint: in Docker's order (host port first,
 * then container port, protocol, host port and host address) whatever order
 * the ports were listed in, and a binding listed twice is one binding.
 */
import test from 'ava';
import { buildModel, eachOfRun } from '../src/docker/model.js';
import { LINUX_EPHEMERAL_PORTS } from '../src/input/host-ports.js';
import { parseSpec, parseSpecWithPorts } from '../src/input/validate.js';
import type { PortInput } from '../src/input/types.js';

function bindingKeys(gatewayMode: 'nat' | 'routed', ports: PortInput[]): string[][] {
  const model = buildModel(parseSpec({
    backend: 'iptables', ipv6: true,
    networks: [{
      bridge: 'br-model', gatewayMode, ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
      endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports }],
    }],
  }));
  return model.families.map((family) => family.networks[0]!.endpoints[0]!.bindings.map((binding) => binding.key));
}

test('bindings come in Docker\'s order, whatever order the ports are listed in', (t) => {
  t.deepEqual(bindingKeys('nat', ['198.51.100.2:8081:80', '8090:90/udp', '8080:80', '198.51.100.1:8081:80', '8070:90']), [
    ['tcp *:8080>198.18.1.2:80', 'tcp 198.51.100.1:8081>198.18.1.2:80', 'tcp 198.51.100.2:8081>198.18.1.2:80', 'tcp *:8070>198.18.1.2:90',
      'udp *:8090>198.18.1.2:90'],
    ['tcp *:8080>2001:db8:1::2:80', 'tcp *:8070>2001:db8:1::2:90', 'udp *:8090>2001:db8:1::2:90'],
  ]);
});

test('a binding listed twice is one binding, in the place of its first listing', (t) => {
  // A routed network opens container ports without host ports: nothing refuses the same one twice.
  t.deepEqual(bindingKeys('routed', ['81', '80/udp', '80', '81', '80/udp', '79']), [
    ['tcp ->198.18.1.2:79', 'tcp ->198.18.1.2:80', 'udp ->198.18.1.2:80', 'tcp ->198.18.1.2:81'],
    ['tcp ->2001:db8:1::2:79', 'tcp ->2001:db8:1::2:80', 'udp ->2001:db8:1::2:80', 'tcp ->2001:db8:1::2:81'],
  ]);
});

test('a model keeps the bindings of the ports it was built from when they change afterwards', (t) => {
  // The held spec's port lists change in place (port calls); the model reads its ports when first asked.
  const { spec } = parseSpecWithPorts({
    backend: 'iptables',
    networks: [{ bridge: 'br-model', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2', ports: ['8080:80'] }] }],
  }, LINUX_EPHEMERAL_PORTS);
  const model = buildModel(spec);
  const ports = spec.networks[0]!.endpoints[0]!.ports;
  ports.push({ proto: 'tcp', hostPort: { first: 8081, last: 8081 }, containerPort: { first: 81, last: 81 } });
  ports.removeAt(0);
  t.deepEqual(model.families[0]!.networks[0]!.endpoints[0]!.bindings.map((binding) => binding.key), ['tcp *:8080>198.18.1.2:80']);
});

test('an endpoint\'s runs hold its bindings, each run alike but for its ports, an identity range held whole a run of its own', (t) => {
  const model = buildModel(parseSpec({
    backend: 'nftables',
    networks: [{
      bridge: 'br-model', ipv4: { subnet: '198.18.1.0/24' },
      endpoints: [{ ipv4: '198.18.1.2', ports: ['8080:80', '8090-8091:90-91', '9000-9009:9000-9009', '8070:70', '8060:60/udp', '127.0.0.1:8050:50', '8040:40'] }],
    }],
  }));
  const endpoint = model.families[0]!.networks[0]!.endpoints[0]!;
  const runs: string[][] = [];
  endpoint.forEachRun((run) => {
    const keys: string[] = [];
    eachOfRun(run, (binding) => keys.push(binding.key));
    runs.push(keys);
  });
  t.deepEqual(runs, [
    ['tcp *:8080>198.18.1.2:80', 'tcp *:8090>198.18.1.2:90', 'tcp *:8091>198.18.1.2:91'],
    ['tcp *:9000-9009>198.18.1.2:9000-9009'],
    ['tcp *:8070>198.18.1.2:70'],
    ['udp *:8060>198.18.1.2:60'],
    ['tcp 127.0.0.1:8050>198.18.1.2:50'],
    ['tcp *:8040>198.18.1.2:40'],
  ]);
  t.deepEqual(runs.flat().sort(), endpoint.bindings.map((binding) => binding.key).sort(), 'the same bindings as the ordered list');
});
