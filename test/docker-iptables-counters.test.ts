/**
 * The iptables side's rules-to-bindings mapping on its own, without a kernel:
 * given the rules as read (however they were read) with their counters, each
 * binding gets its DNAT rule's and its forward ACCEPT's, and nothing else's.
 */
import test from 'ava';
import { bindingCounters, type CountedChain } from '../src/docker/iptables/counters.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { formatRule } from '../src/iptc/format.js';
import type { Family } from '../src/family.js';
import type { IptTableName } from '../src/iptc/rule.js';
import { parseSpec } from '../src/input/validate.js';

const MODEL = buildModel(parseSpec({
  backend: 'iptables', ipv6: true,
  networks: [{
    bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
    endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: ['8080:80', '8081:80', '127.0.0.1:9090:90/udp'] }],
  }],
}));

/** The planned tables as read back, each rule counting as many packets as its position in the table, plus 1. */
function readBack(): Map<string, CountedChain[]> {
  const tables = new Map<string, CountedChain[]>();
  for (const family of planIptables(MODEL).families) {
    for (const table of family.tables) {
      let position = 0;
      tables.set(`${family.family} ${table.name}`, table.chains.map((chain) => ({
        name: chain.name,
        rules: [...chain.head, ...chain.tail].map((rule) => ({ rule, packets: BigInt(++position), bytes: BigInt(position * 100) })),
      })));
    }
  }
  return tables;
}

/** The counted rule of `table` whose text is `text`. */
function countOf(tables: Map<string, CountedChain[]>, family: Family, table: IptTableName, text: string): bigint {
  const rule = tables.get(`${family} ${table}`)!.flatMap((chain) => chain.rules).find((counted) => formatRule(family, counted.rule!) === text);
  if (rule === undefined) throw new Error(`no rule ${text}`);
  return rule.packets;
}

test('each binding gets the counters of its own DNAT and forward ACCEPT rules', (t) => {
  const tables = readBack();
  const counters = bindingCounters(MODEL, (family, table) => tables.get(`${family} ${table}`));
  const packets = (counter: { packets: bigint } | undefined) => counter?.packets;
  /** A binding as [family, proto, host address, host port, DNAT packets, forward packets], its rules by their text. */
  const row = (family: Family, proto: string, host: string | undefined, port: number, dnat: string, accept: string) =>
    [family, proto, host, port, countOf(tables, family, 'nat', dnat), countOf(tables, family, 'filter', accept)];
  const accept4 = (proto: string, port: number) => `-d 198.18.1.2/32 ! -i br-web -o br-web -p ${proto} -m ${proto} --dport ${port} -j ACCEPT`;
  const accept6 = '-d 2001:db8:1::2/128 ! -i br-web -o br-web -p tcp -m tcp --dport 80 -j ACCEPT';
  t.deepEqual(counters.map((binding) => [binding.family, binding.proto, binding.hostAddress, binding.hostPort, packets(binding.dnat), packets(binding.forwarded)]), [
    row('ipv4', 'tcp', undefined, 8080, '! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.1.2:80', accept4('tcp', 80)),
    row('ipv4', 'tcp', undefined, 8081, '! -i br-web -p tcp -m tcp --dport 8081 -j DNAT --to-destination 198.18.1.2:80', accept4('tcp', 80)),
    row('ipv4', 'udp', '127.0.0.1', 9090, '-d 127.0.0.1/32 ! -i br-web -p udp -m udp --dport 9090 -j DNAT --to-destination 198.18.1.2:90', accept4('udp', 90)),
    row('ipv6', 'tcp', undefined, 8080, '! -s fe80::/10 ! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:1::2]:80', accept6),
    row('ipv6', 'tcp', undefined, 8081, '! -s fe80::/10 ! -i br-web -p tcp -m tcp --dport 8081 -j DNAT --to-destination [2001:db8:1::2]:80', accept6),
  ]);
  t.deepEqual(counters[0]!.dnat, { packets: counters[0]!.dnat!.packets, bytes: counters[0]!.dnat!.packets * 100n });
});

test('a rule the kernel does not hold, or holds twice, or that could not be read', (t) => {
  const tables = readBack();
  const nat = tables.get('ipv4 nat')!;
  const docker = nat.find((chain) => chain.name === 'DOCKER')!;
  const [first, ...rest] = docker.rules;
  // The 8080 DNAT gone, an unreadable rule and a second copy of the 8081 DNAT (never met by packets) counting more.
  const second = rest[0]!;
  tables.set('ipv4 nat', nat.map((chain) => chain === docker
    ? { name: chain.name, rules: [{ packets: 99n, bytes: 99n }, ...rest, { ...second, packets: 1000n }] }
    : chain));
  t.is(formatRule('ipv4', first!.rule!), '! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.1.2:80');
  const counters = bindingCounters(MODEL, (family, table) => tables.get(`${family} ${table}`));
  t.is(counters[0]!.dnat, undefined);
  t.truthy(counters[0]!.forwarded);
  t.is(counters[1]!.dnat!.packets, second.packets);
  // No tables at all: every binding, no counters.
  t.true(bindingCounters(MODEL, () => undefined).every((binding) => binding.dnat === undefined && binding.forwarded === undefined));
});
