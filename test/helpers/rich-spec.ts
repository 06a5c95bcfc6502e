import type { NetworkSpecInput, SpecInput } from '../../src/input/types.js';

/** A bit of everything, for any backend: two families, two networks, ranges (an offset one, an identity one), loopback, internal, routed, ingress. */
export const RICH_SPEC: SpecInput = {
  ipv6: true, userlandProxy: false,
  networks: [
    {
      bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
      endpoints: [{
        ipv4: '198.18.1.2', ipv6: '2001:db8:1::2',
        ports: [
          { proto: 'tcp', hostPort: 8080, containerPort: 80 }, { proto: 'udp', hostIp: '127.0.0.1', hostPort: '5300-5301', containerPort: '53-54' },
          // An identity range: one element per set in the nftables layout, a rule per port in iptables.
          { proto: 'tcp', hostPort: '10000-10099', containerPort: '10000-10099' },
        ],
      }],
    },
    { bridge: 'br-int', internal: true, icc: false, ipv4: { subnet: '198.18.3.0/24' }, endpoints: [{ ipv4: '198.18.3.2' }] },
    { bridge: 'br-routed', gatewayMode: 'routed', ipv4: { subnet: '198.18.5.0/24', hostIp: '203.0.113.5' }, endpoints: [{ ipv4: '198.18.5.2', ports: [{ proto: 'sctp', containerPort: 9 }] }] },
  ],
  ingress: { bridge: 'docker_gwbridge', address: '198.18.4.2', ports: [{ proto: 'tcp', port: 9000 }] },
};

/** One dual-stack network with one container publishing tcp 8080 → 80: the smallest spec that writes every kind of rule. */
export const WEB_NETWORK: NetworkSpecInput = {
  bridge: 'br-web',
  ipv4: { subnet: '198.18.1.0/24' },
  ipv6: { subnet: '2001:db8:1::/64' },
  endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
};
