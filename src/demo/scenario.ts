/**
 * What the demo builds and proves: two bridge networks (one internal), three
 * containers, an outside host, a spec publishing one port, and the
 * connections whose outcome shows Docker's rules at work. Addresses come
 * from the ranges reserved for documentation and benchmarks only.
 */
import { UPLINK, type TopologyDescription } from '../sandbox/topology.js';
import type { PortSpecInput, SpecInput } from '../input/types.js';

const WEB_NETWORK = { bridge: 'br-web', subnet: '198.18.1.0/24' } as const;
const DB_NETWORK = { bridge: 'br-db', subnet: '198.18.2.0/24' } as const;
export const WEB = { bridge: WEB_NETWORK.bridge, address: '198.18.1.2' } as const;
const API_ADDRESS = '198.18.1.3';
const DB_ADDRESS = '198.18.2.2';

/** The containers are named by role: their servers answer with it, and the table shows it. */
export const TOPOLOGY: TopologyDescription = {
  label: 'docker',
  bridges: [
    { name: WEB_NETWORK.bridge, ipv4: WEB_NETWORK.subnet, containers: [{ name: 'web', ipv4: WEB.address }, { name: 'api', ipv4: API_ADDRESS }] },
    { name: DB_NETWORK.bridge, ipv4: DB_NETWORK.subnet, containers: [{ name: 'db', ipv4: DB_ADDRESS }] },
  ],
};

/** Every container and the outside serve this port. */
export const SERVED_PORT = 80;
const PUBLISHED_PORT = 8080;
const UNPUBLISHED_PORT = 8081;

/** The bulk step publishes this range of web's ports, host port = container port. */
export const BULK = { first: 20_000, last: 29_999 } as const;
export const BULK_PORTS: PortSpecInput[] = [{ proto: 'tcp', hostPort: `${BULK.first}-${BULK.last}`, containerPort: `${BULK.first}-${BULK.last}` }];

/** Like `docker network create br-web` and `docker network create --internal br-db`, and `docker run -p 8080:80 web`. */
export function demoSpec(backend: SpecInput['backend']): SpecInput {
  return {
    backend,
    networks: [
      {
        bridge: WEB_NETWORK.bridge, ipv4: { subnet: WEB_NETWORK.subnet },
        endpoints: [{ ipv4: WEB.address, ports: [{ proto: 'tcp', hostPort: PUBLISHED_PORT, containerPort: SERVED_PORT }] }, { ipv4: API_ADDRESS }],
      },
      { bridge: DB_NETWORK.bridge, internal: true, ipv4: { subnet: DB_NETWORK.subnet }, endpoints: [{ ipv4: DB_ADDRESS }] },
    ],
  };
}

/** Who answers (and, where it matters, the source address it sees), or no answer at all. */
export type Expectation = { server: string; peer?: string } | 'blocked';

export interface Check {
  title: string;
  /** The role whose agent connects. */
  from: string;
  address: string;
  port: number;
  expected: Expectation;
}

const OUTSIDE = UPLINK.outsideIpv4;
const HOST = UPLINK.hostIpv4;

export const CHECKS: readonly Check[] = [
  { title: 'outside -> host:8080 (published)', from: 'outside', address: HOST, port: PUBLISHED_PORT, expected: { server: 'web' } },
  { title: 'outside -> host:8081 (not published)', from: 'outside', address: HOST, port: UNPUBLISHED_PORT, expected: 'blocked' },
  { title: 'outside -> web:80 directly', from: 'outside', address: WEB.address, port: SERVED_PORT, expected: 'blocked' },
  { title: 'api -> web:80 (same network)', from: 'api', address: WEB.address, port: SERVED_PORT, expected: { server: 'web' } },
  { title: 'db -> web:80 (other network)', from: 'db', address: WEB.address, port: SERVED_PORT, expected: 'blocked' },
  { title: 'web -> outside:80 (masqueraded)', from: 'web', address: OUTSIDE, port: SERVED_PORT, expected: { server: 'outside', peer: HOST } },
  { title: 'db -> outside:80 (internal network)', from: 'db', address: OUTSIDE, port: SERVED_PORT, expected: 'blocked' },
];

/** Proves the bulk publish: the last port of the range reaches web. */
export const BULK_CHECK: Check = {
  title: `outside -> host:${BULK.last} (bulk published)`, from: 'outside', address: HOST, port: BULK.last, expected: { server: 'web' },
};
