/**
 * The content every contender commits: N tcp port mappings on one bridge
 * network, the userland proxy off (so each mapping is a DNAT, a forward accept
 * and a hairpin masquerade), written as a bridgewall spec, as the rules
 * bridgewall's iptables backend plans (for iptables-restore and for one
 * `iptables` process per rule), as nftables with one rule per port (Docker's
 * and netavark's layout) and as bridgewall's own nftables layout with maps.
 */
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import type { BackendName } from '../src/backends/backend.js';
import type { EndpointSpecInput, NetworkSpecInput, SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import type { IptRule, IptTableName } from '../src/iptc/rule.js';
import { ruleText } from '../src/iptc/rule-text.js';

export const BRIDGE = 'br-bench';
/** Host addresses the mappings are spread over; a port number serves each once. */
const HOST_ADDRESSES = ['198.51.100.1', '198.51.100.2'];
const PORTS_PER_HOST = 50_000;
const FIRST_PORT = 10_000;
/** The spec's limit of ports per endpoint is 1,024: each container publishes 1,000. */
const PORTS_PER_CONTAINER = 1_000;
const CONTAINERS_PER_HOST = PORTS_PER_HOST / PORTS_PER_CONTAINER;

export interface Mapping {
  hostAddress: string;
  containerAddress: string;
  port: number;
}

/** Mapping i: host address i / 50,000, to container i / 1,000, the same port on both sides. */
export function mapping(i: number): Mapping {
  const host = Math.floor(i / PORTS_PER_HOST);
  const rest = i % PORTS_PER_HOST;
  return { hostAddress: HOST_ADDRESSES[host]!, containerAddress: containerAddress(host, Math.floor(rest / PORTS_PER_CONTAINER)), port: FIRST_PORT + rest };
}

function containerAddress(host: number, container: number): string {
  return `198.18.${host}.${2 + container}`;
}

/** The extra mapping published and unpublished by the incremental case, outside every bulk. */
export const EXTRA: Mapping = { hostAddress: '198.51.100.9', containerAddress: '198.18.0.2', port: 8080 };

export function endpointOf(m: Mapping): Pick<EndpointSpecInput, 'ipv4'> {
  return { ipv4: m.containerAddress };
}

export function portOf(m: Mapping) {
  return { proto: 'tcp' as const, hostIp: m.hostAddress, hostPort: m.port, containerPort: m.port };
}

/** The network with its endpoints and the first `n` mappings. */
export function benchSpec(backend: BackendName, n: number): SpecInput {
  const endpoints = HOST_ADDRESSES.flatMap((_, host) => Array.from({ length: CONTAINERS_PER_HOST }, (_, container) =>
    ({ ipv4: containerAddress(host, container), ports: [] as ReturnType<typeof portOf>[] })));
  for (let i = 0; i < n; i++) endpoints[Math.floor(i / PORTS_PER_CONTAINER)]!.ports.push(portOf(mapping(i)));
  const network: NetworkSpecInput = { bridge: BRIDGE, ipv4: { subnet: '198.18.0.0/16' }, endpoints };
  return { backend, ipv6: false, userlandProxy: false, networks: [network] };
}

/** The same options without networks: what the namespace holds before "a new network with its endpoints" arrives. */
export function emptySpec(backend: BackendName): SpecInput {
  return { ...benchSpec(backend, 0), networks: [] };
}

/**
 * The nftables paths of issue #18, each a bulk of ports arriving: with
 * their endpoints on a network already applied (endpoint), with a whole new
 * network (network), or already held by the kernel and applied again by a
 * fresh Firewall, which must commit nothing (restart).
 */
export type NftablesPath = 'endpoint' | 'network' | 'restart';

/** Mappings 0 to n - 1 as one identity range (host ports equal to container ports), to the first container. */
export function identityRange(n: number) {
  const { hostAddress, containerAddress } = mapping(0);
  const ports = `${FIRST_PORT}-${FIRST_PORT + n - 1}`;
  return { endpoint: { ipv4: containerAddress }, port: { proto: 'tcp' as const, hostIp: hostAddress, hostPort: ports, containerPort: ports } };
}

/** The network with its endpoints and `identityRange(n)` published. */
export function identityRangeSpec(backend: BackendName, n: number): SpecInput {
  const spec = benchSpec(backend, 0);
  const { endpoint, port } = identityRange(n);
  spec.networks![0]!.endpoints!.find((e) => e.ipv4 === endpoint.ipv4)!.ports!.push(port);
  return spec;
}

/** The rules bridgewall's iptables backend plans, as iptables-save text. */
export function iptablesSave(n: number): string {
  const plan = planIptables(buildModel(parseSpec(benchSpec('iptables', n))));
  return renderIptablesSave('ipv4', plan.families.find((family) => family.family === 'ipv4'));
}

/**
 * The same rules as `iptables` commands, one per rule, the way Docker runs
 * them: chains created first (-N), then every rule appended (-A).
 */
export function iptablesCommands(save: string): string[][] {
  const commands: string[][] = [];
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':') && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /.test(line)) {
      commands.push(['-t', table, '-N', line.slice(1).split(' ')[0]!]);
    } else if (line.startsWith('-A ')) commands.push(['-t', table, ...shellWords(line)]);
  }
  return commands;
}

/** The extra mapping's rules (EXTRA), as the planner makes them: DNAT, hairpin masquerade, forward accept. */
export function extraMappingRules(): { table: IptTableName; chain: string; rule: IptRule }[] {
  const spec = benchSpec('iptables', 0);
  spec.networks![0]!.endpoints![0]!.ports!.push(portOf(EXTRA));
  const plan = planIptables(buildModel(parseSpec(spec))).families.find((family) => family.family === 'ipv4')!;
  return plan.tables.flatMap(({ name, chains }) => chains.flatMap((chain) => [...chain.head, ...chain.tail]
    .filter((rule) => ruleText('ipv4', rule).includes(`--dport ${EXTRA.port} `))
    .map((rule) => ({ table: name, chain: chain.name, rule }))));
}

/**
 * The extra mapping as Docker publishes and unpublishes it on a host already
 * holding mappings: one `iptables` process per rule, `-A` for the DNAT and
 * the hairpin masquerade, `-I` for the forward accept (Docker inserts it),
 * and `-D` of each to unpublish.
 */
export function extraMappingCommands(): { publish: string[][]; unpublish: string[][] } {
  const rules = extraMappingRules().map(({ table, chain, rule }) => ({ table, chain, words: shellWords(ruleText('ipv4', rule)) }));
  return {
    publish: rules.map(({ table, chain, words }) => ['-t', table, table === 'filter' ? '-I' : '-A', chain, ...words]),
    unpublish: rules.map(({ table, chain, words }) => ['-t', table, '-D', chain, ...words]),
  };
}

/** Splits a save line into words; double quotes group (iptables-save quotes comments). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!));
}

/** nftables with one rule per port and per effect, as Docker's nftables firewaller and netavark write them. */
export function nftRulePerPort(n: number): string {
  const lines = [
    'add table ip bench',
    'add chain ip bench prerouting { type nat hook prerouting priority dstnat; policy accept; }',
    'add chain ip bench postrouting { type nat hook postrouting priority srcnat; policy accept; }',
    'add chain ip bench forward { type filter hook forward priority filter; policy accept; }',
  ];
  for (let i = 0; i < n; i++) {
    const { hostAddress, containerAddress, port } = mapping(i);
    lines.push(
      `add rule ip bench prerouting ip daddr ${hostAddress} tcp dport ${port} dnat to ${containerAddress}:${port}`,
      `add rule ip bench forward ip daddr ${containerAddress} oifname "${BRIDGE}" tcp dport ${port} accept`,
      `add rule ip bench postrouting ip saddr ${containerAddress} ip daddr ${containerAddress} tcp dport ${port} masquerade`,
    );
  }
  return `${lines.join('\n')}\n`;
}
