/**
 * The model's bindings of an endpoint: in Docker's order (host port first,
 * then container port, protocol, host port and host address) whatever order
 * the ports were listed in, and a binding listed twice is one binding.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { parseSpec } from '../src/input/validate.js';
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
