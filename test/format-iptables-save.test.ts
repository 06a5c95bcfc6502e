/** The iptables-legacy-save rendering of rules and tables. */
import test from 'ava';
import { formatRule, formatSave } from '../src/iptc/format.js';
import { ruleText } from '../src/iptc/rule-text.js';
import type { IptRule } from '../src/iptc/rule.js';

test('options print in save order, whatever order the rule lists them in', (t) => {
  t.is(formatRule('ipv4', {
    target: { name: 'ACCEPT' },
    matches: [{ name: 'tcp', destinationPort: 80 }],
    protocol: 'tcp',
    outInterface: 'br0',
    inInterface: 'br0',
    inInterfaceNegated: true,
    destination: '192.168.0.2',
    source: '10.0.0.0/8',
    sourceNegated: true,
  }), '! -s 10.0.0.0/8 -d 192.168.0.2/32 ! -i br0 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT');
});

test('bare IPv6 addresses get /128, DNAT targets get brackets', (t) => {
  t.is(formatRule('ipv6', {
    source: 'fe80::/10', sourceNegated: true, destination: '::1', protocol: 'tcp',
    matches: [{ name: 'tcp', destinationPort: 8080 }],
    target: { name: 'DNAT', toAddress: 'fd49:efd7:54aa::1', toPort: 80 },
  }), '! -s fe80::/10 -d ::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80');
});

test('matches and targets', (t) => {
  t.is(formatRule('ipv4', {
    protocol: 'udp',
    matches: [
      { name: 'udp', sourcePort: [1000, 2000], destinationPort: 53, destinationPortNegated: true },
      { name: 'conntrack', states: ['ESTABLISHED', 'RELATED'] },
      { name: 'addrtype', sourceType: 'LOCAL', destinationType: 'UNICAST', destinationTypeNegated: true },
      { name: 'mark', mark: 1, mask: 0xff },
      { name: 'comment', comment: 'it\'s "ours"' },
      { name: 'comment', comment: 'plain_name-1' },
    ],
    target: { name: 'SNAT', toAddress: '192.0.2.1', toPort: [1024, 2048] },
  }), '-p udp -m udp --sport 1000:2000 ! --dport 53 -m conntrack --ctstate RELATED,ESTABLISHED ' +
    '-m addrtype --src-type LOCAL ! --dst-type UNICAST -m mark --mark 0x1/0xff ' +
    '-m comment --comment "it\\\'s \\"ours\\"" -m comment --comment plain_name-1 -j SNAT --to-source 192.0.2.1:1024-2048');
  t.is(formatRule('ipv4', { target: { name: 'jump', chain: 'DOCKER', goto: true } }), '-g DOCKER');
  t.is(formatRule('ipv4', { target: { name: 'MASQUERADE', toPort: 8000 } }), '-j MASQUERADE --to-ports 8000');
  t.is(formatRule('ipv6', { protocol: 'ipv6-icmp', target: { name: 'DNAT', toAddress: 'fd00::1' } }), '-p ipv6-icmp -j DNAT --to-destination fd00::1');
});

test('tables: built-in chains in hook order with policies, user chains sorted, empty built-ins included', (t) => {
  t.is(formatSave('ipv4', [{
    name: 'filter',
    chains: [
      { name: 'DOCKER-USER', rules: [] },
      { name: 'DOCKER', rules: [{ target: { name: 'RETURN' } }] },
      { name: 'FORWARD', policy: 'DROP', rules: [{ target: { name: 'jump', chain: 'DOCKER' } }] },
    ],
  }, { name: 'raw', chains: [] }]), [
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER - [0:0]', ':DOCKER-USER - [0:0]',
    '-A FORWARD -j DOCKER', '-A DOCKER -j RETURN', 'COMMIT',
    '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', '',
  ].join('\n'));
});

test('a rule keeps its text per family out of sight: its keys, JSON and copies show nothing of it, and a changed copy has its own', (t) => {
  const rule: IptRule = { destination: '2001:db8::1', protocol: 'tcp', target: { name: 'ACCEPT' } };
  t.is(ruleText('ipv6', rule), '-d 2001:db8::1/128 -p tcp -j ACCEPT');
  t.is(ruleText('ipv6', rule), '-d 2001:db8::1/128 -p tcp -j ACCEPT');
  t.deepEqual(Reflect.ownKeys(rule), ['destination', 'protocol', 'target']);
  t.is(JSON.stringify(rule), '{"destination":"2001:db8::1","protocol":"tcp","target":{"name":"ACCEPT"}}');
  const copy = { ...rule, target: { name: 'DROP' as const } };
  t.is(ruleText('ipv6', copy), '-d 2001:db8::1/128 -p tcp -j DROP');
  t.is(ruleText('ipv6', Object.assign({}, rule, { protocol: 'udp' as const })), '-d 2001:db8::1/128 -p udp -j ACCEPT');
  const v4: IptRule = { destination: '192.0.2.1', target: { name: 'ACCEPT' } };
  t.is(ruleText('ipv4', v4), '-d 192.0.2.1/32 -j ACCEPT');
  t.is(ruleText('ipv6', v4), '-d 192.0.2.1/128 -j ACCEPT');
  t.is(ruleText('ipv4', v4), '-d 192.0.2.1/32 -j ACCEPT');
});
