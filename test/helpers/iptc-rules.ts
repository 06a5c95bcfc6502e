/**
 * Rules used by the libiptc tests, each as the line iptables-save prints for
 * it and as the canonical rule-model object that must produce (and decode
 * from) exactly that entry. Rules are listed in iptables-save order: chains
 * in libiptc order (built-ins, then user chains by name), rules in order.
 */
import type { IptcOperation } from '../../src/iptc/operation';
import type { Family } from '../../src/family';
import type { IptRule, IptTableName } from '../../src/iptc/rule';

export interface RuleCase {
  chain: string;
  /** What follows `-A CHAIN ` in iptables-save output; also valid iptables arguments. */
  save: string;
  rule: IptRule;
}

export interface TableCase {
  family: Family;
  table: IptTableName;
  /** User chains, sorted by name as iptables-save lists them. */
  chains: string[];
  rules: RuleCase[];
}

export const BUILTIN_CHAINS: Record<IptTableName, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};

const jump = (chain: string) => ({ name: 'jump', chain }) as const;

export const TABLE_CASES: TableCase[] = [
  {
    family: 'ipv4',
    table: 'nat',
    chains: ['DOCKER'],
    rules: [
      {
        chain: 'PREROUTING',
        save: '-m addrtype --dst-type LOCAL -j DOCKER',
        rule: { matches: [{ name: 'addrtype', destinationType: 'LOCAL' }], target: jump('DOCKER') },
      },
      {
        chain: 'OUTPUT',
        save: '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
        rule: {
          destination: '127.0.0.0/8',
          destinationNegated: true,
          matches: [{ name: 'addrtype', destinationType: 'LOCAL' }],
          target: jump('DOCKER'),
        },
      },
      {
        chain: 'POSTROUTING',
        save: '-o br-dummy -m addrtype --src-type LOCAL -j SNAT --to-source 192.168.123.0',
        rule: {
          outInterface: 'br-dummy',
          matches: [{ name: 'addrtype', sourceType: 'LOCAL' }],
          target: { name: 'SNAT', toAddress: '192.168.123.0' },
        },
      },
      {
        chain: 'POSTROUTING',
        save: '-s 192.168.0.0/24 ! -o br-dummy -j MASQUERADE',
        rule: { source: '192.168.0.0/24', outInterface: 'br-dummy', outInterfaceNegated: true, target: { name: 'MASQUERADE' } },
      },
      {
        chain: 'POSTROUTING',
        save: '-s 192.168.0.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535',
        rule: { source: '192.168.0.0/24', protocol: 'tcp', target: { name: 'MASQUERADE', toPort: [1024, 65535] } },
      },
      {
        chain: 'POSTROUTING',
        save: '-s 10.0.0.0/8 -p sctp -m addrtype ! --src-type LOCAL -j SNAT --to-source 10.1.1.1:2000',
        rule: {
          source: '10.0.0.0/8',
          protocol: 'sctp',
          matches: [{ name: 'addrtype', sourceType: 'LOCAL', sourceTypeNegated: true }],
          target: { name: 'SNAT', toAddress: '10.1.1.1', toPort: 2000 },
        },
      },
      {
        chain: 'DOCKER',
        save: '! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.0.2:80',
        rule: {
          inInterface: 'br-dummy',
          inInterfaceNegated: true,
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 8080 }],
          target: { name: 'DNAT', toAddress: '192.168.0.2', toPort: 80 },
        },
      },
      {
        chain: 'DOCKER',
        save: '-d 10.0.0.1/32 -p udp -m udp --dport 8000:8010 -j DNAT --to-destination 192.168.0.3:8000-8010',
        rule: {
          destination: '10.0.0.1/32',
          protocol: 'udp',
          matches: [{ name: 'udp', destinationPort: [8000, 8010] }],
          target: { name: 'DNAT', toAddress: '192.168.0.3', toPort: [8000, 8010] },
        },
      },
      {
        chain: 'DOCKER',
        save: '-i docker0 -j RETURN',
        rule: { inInterface: 'docker0', target: { name: 'RETURN' } },
      },
    ],
  },
  {
    family: 'ipv4',
    table: 'filter',
    chains: ['DOCKER', 'DOCKER-CT', 'DOCKER-USER'],
    rules: [
      {
        chain: 'FORWARD',
        save: '-j DOCKER-USER',
        rule: { target: jump('DOCKER-USER') },
      },
      {
        chain: 'FORWARD',
        save: '-i veth+ -g DOCKER',
        rule: { inInterface: 'veth+', target: { name: 'jump', chain: 'DOCKER', goto: true } },
      },
      {
        chain: 'FORWARD',
        save: '-p sctp -m sctp --dport 3868 -j ACCEPT',
        rule: { protocol: 'sctp', matches: [{ name: 'sctp', destinationPort: 3868 }], target: { name: 'ACCEPT' } },
      },
      {
        chain: 'FORWARD',
        save: '-p sctp -m sctp ! --sport 100:200 -j DROP',
        rule: {
          protocol: 'sctp',
          matches: [{ name: 'sctp', sourcePort: [100, 200], sourcePortNegated: true }],
          target: { name: 'DROP' },
        },
      },
      {
        chain: 'FORWARD',
        save: '-p udp -m udp --sport 53 --dport 1024:65535 -j ACCEPT',
        rule: {
          protocol: 'udp',
          matches: [{ name: 'udp', sourcePort: 53, destinationPort: [1024, 65535] }],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'FORWARD',
        save: '-p tcp -m tcp ! --dport 22 -j DROP',
        rule: { protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: 22, destinationPortNegated: true }], target: { name: 'DROP' } },
      },
      {
        chain: 'FORWARD',
        save: '! -p tcp -j DROP',
        rule: { protocol: 'tcp', protocolNegated: true, target: { name: 'DROP' } },
      },
      {
        chain: 'FORWARD',
        save: '-m mark --mark 0x1/0xff -j DROP',
        rule: { matches: [{ name: 'mark', mark: 1, mask: 0xff }], target: { name: 'DROP' } },
      },
      {
        chain: 'FORWARD',
        save: '-m mark ! --mark 0x10 -j ACCEPT',
        rule: { matches: [{ name: 'mark', mark: 0x10, negated: true }], target: { name: 'ACCEPT' } },
      },
      {
        chain: 'FORWARD',
        save: '-s 172.17.0.0/16 -m comment --comment "bridgewall test" -j ACCEPT',
        rule: { source: '172.17.0.0/16', matches: [{ name: 'comment', comment: 'bridgewall test' }], target: { name: 'ACCEPT' } },
      },
      {
        chain: 'DOCKER',
        save: '-d 192.168.0.2/32 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
        rule: {
          destination: '192.168.0.2/32',
          inInterface: 'br-dummy',
          inInterfaceNegated: true,
          outInterface: 'br-dummy',
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 80 }],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'DOCKER',
        save: '-o br-dummy -p icmp -j ACCEPT',
        rule: { outInterface: 'br-dummy', protocol: 'icmp', target: { name: 'ACCEPT' } },
      },
      {
        chain: 'DOCKER-CT',
        save: '-o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        rule: {
          outInterface: 'br-dummy',
          matches: [{ name: 'conntrack', states: ['RELATED', 'ESTABLISHED'] }],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'DOCKER-CT',
        save: '-m conntrack ! --ctstate INVALID,NEW,UNTRACKED,SNAT,DNAT -j RETURN',
        rule: {
          matches: [{ name: 'conntrack', states: ['INVALID', 'NEW', 'UNTRACKED', 'SNAT', 'DNAT'], statesNegated: true }],
          target: { name: 'RETURN' },
        },
      },
    ],
  },
  {
    family: 'ipv4',
    table: 'raw',
    chains: [],
    rules: [
      {
        chain: 'PREROUTING',
        save: '-d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP',
        rule: {
          destination: '127.0.0.1/32',
          inInterface: 'lo',
          inInterfaceNegated: true,
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 8080 }],
          target: { name: 'DROP' },
        },
      },
    ],
  },
  {
    family: 'ipv6',
    table: 'nat',
    chains: ['DOCKER'],
    rules: [
      {
        chain: 'PREROUTING',
        save: '-m addrtype --dst-type LOCAL -j DOCKER',
        rule: { matches: [{ name: 'addrtype', destinationType: 'LOCAL' }], target: jump('DOCKER') },
      },
      {
        chain: 'OUTPUT',
        save: '! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER',
        rule: {
          destination: '::1/128',
          destinationNegated: true,
          matches: [{ name: 'addrtype', destinationType: 'LOCAL' }],
          target: jump('DOCKER'),
        },
      },
      {
        chain: 'POSTROUTING',
        save: '-o br-dummy -m addrtype --src-type LOCAL -j SNAT --to-source fd49:efd7:54aa::1',
        rule: {
          outInterface: 'br-dummy',
          matches: [{ name: 'addrtype', sourceType: 'LOCAL' }],
          target: { name: 'SNAT', toAddress: 'fd49:efd7:54aa::1' },
        },
      },
      {
        chain: 'POSTROUTING',
        save: '-s fd49:efd7:54aa::/64 ! -o br-dummy -j MASQUERADE',
        rule: { source: 'fd49:efd7:54aa::/64', outInterface: 'br-dummy', outInterfaceNegated: true, target: { name: 'MASQUERADE' } },
      },
      {
        chain: 'POSTROUTING',
        save: '-s fd49:efd7:54aa::/64 -p udp -j MASQUERADE --to-ports 2000-3000',
        rule: { source: 'fd49:efd7:54aa::/64', protocol: 'udp', target: { name: 'MASQUERADE', toPort: [2000, 3000] } },
      },
      {
        chain: 'DOCKER',
        save: '! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80',
        rule: {
          inInterface: 'br-dummy',
          inInterfaceNegated: true,
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 8080 }],
          target: { name: 'DNAT', toAddress: 'fd49:efd7:54aa::1', toPort: 80 },
        },
      },
      {
        chain: 'DOCKER',
        save: '-p sctp -m sctp --dport 9000 -j DNAT --to-destination [fd49:efd7:54aa::3]:9100-9200',
        rule: {
          protocol: 'sctp',
          matches: [{ name: 'sctp', destinationPort: 9000 }],
          target: { name: 'DNAT', toAddress: 'fd49:efd7:54aa::3', toPort: [9100, 9200] },
        },
      },
      {
        chain: 'DOCKER',
        save: '-p udp -m udp --dport 53 -j DNAT --to-destination fd49:efd7:54aa::2',
        rule: {
          protocol: 'udp',
          matches: [{ name: 'udp', destinationPort: 53 }],
          target: { name: 'DNAT', toAddress: 'fd49:efd7:54aa::2' },
        },
      },
    ],
  },
  {
    family: 'ipv6',
    table: 'filter',
    chains: ['DOCKER', 'DOCKER-CT'],
    rules: [
      {
        chain: 'FORWARD',
        save: '-j DOCKER-CT',
        rule: { target: jump('DOCKER-CT') },
      },
      {
        chain: 'FORWARD',
        save: '-p udp -m udp ! --sport 53 -j DROP',
        rule: { protocol: 'udp', matches: [{ name: 'udp', sourcePort: 53, sourcePortNegated: true }], target: { name: 'DROP' } },
      },
      {
        chain: 'FORWARD',
        save: '-p sctp -m sctp --sport 1000:2000 ! --dport 3868 -j ACCEPT',
        rule: {
          protocol: 'sctp',
          matches: [{ name: 'sctp', sourcePort: [1000, 2000], destinationPort: 3868, destinationPortNegated: true }],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'FORWARD',
        save: '-m mark --mark 0x2a -m comment --comment "ipv6 mark" -j ACCEPT',
        rule: {
          matches: [
            { name: 'mark', mark: 42 },
            { name: 'comment', comment: 'ipv6 mark' },
          ],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'DOCKER',
        save: '! -s fe80::/10 -o br-dummy -p ipv6-icmp -j ACCEPT',
        rule: {
          source: 'fe80::/10',
          sourceNegated: true,
          outInterface: 'br-dummy',
          protocol: 'ipv6-icmp',
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'DOCKER',
        save: '-d fd49:efd7:54aa::2/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
        rule: {
          destination: 'fd49:efd7:54aa::2/128',
          inInterface: 'br-dummy',
          inInterfaceNegated: true,
          outInterface: 'br-dummy',
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 80 }],
          target: { name: 'ACCEPT' },
        },
      },
      {
        chain: 'DOCKER',
        save: '-i br+ -g DOCKER-CT',
        rule: { inInterface: 'br+', target: { name: 'jump', chain: 'DOCKER-CT', goto: true } },
      },
      {
        chain: 'DOCKER-CT',
        save: '-o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        rule: {
          outInterface: 'br-dummy',
          matches: [{ name: 'conntrack', states: ['RELATED', 'ESTABLISHED'] }],
          target: { name: 'ACCEPT' },
        },
      },
    ],
  },
  {
    family: 'ipv6',
    table: 'raw',
    chains: [],
    rules: [
      {
        chain: 'PREROUTING',
        save: '-d ::1/128 ! -i lo -p tcp -m tcp --dport 8080 -j DROP',
        rule: {
          destination: '::1/128',
          inInterface: 'lo',
          inInterfaceNegated: true,
          protocol: 'tcp',
          matches: [{ name: 'tcp', destinationPort: 8080 }],
          target: { name: 'DROP' },
        },
      },
    ],
  },
];

/** The transaction that builds a table case through the library. */
export function buildOperations(tableCase: TableCase): IptcOperation[] {
  return [
    ...tableCase.chains.map((chain): IptcOperation => ({ op: 'newChain', chain })),
    ...tableCase.rules.map(({ chain, rule }): IptcOperation => ({ op: 'append', chain, rule })),
  ];
}

/** The normalised iptables-save text a table case must produce. */
export function expectedSave(tableCase: TableCase): string {
  const chainLines = [
    ...BUILTIN_CHAINS[tableCase.table].map((chain) => `:${chain} ACCEPT [0:0]`),
    ...tableCase.chains.map((chain) => `:${chain} - [0:0]`),
  ];
  const ruleLines = tableCase.rules.map(({ chain, save }) => `-A ${chain} ${save}`);
  return [`*${tableCase.table}`, ...chainLines, ...ruleLines, 'COMMIT', ''].join('\n');
}

/** iptables arguments for a save line: words, with double-quoted strings kept whole. */
export function saveArguments(save: string): string[] {
  return (save.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"(.*)"$/, '$1'));
}

export function saveCommand(family: Family): string {
  return family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save';
}

export function iptablesCommand(family: Family): string {
  return family === 'ipv4' ? 'iptables-legacy' : 'ip6tables-legacy';
}
