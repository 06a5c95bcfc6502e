/**
 * The planner's in-memory ruleset: a rule is added unless the chain holds one
 * that reads the same (Docker's `Rule.Append`/`Rule.Insert` check with
 * `iptables -C`), whatever shape its object has; `first` moves it to the head.
 */
import test from 'ava';
import { IptablesRuleset } from '../src/docker/iptables/ruleset.js';
import { ruleText } from '../src/iptc/rule-text.js';
import type { IptRule } from '../src/iptc/rule.js';

function texts(ruleset: IptablesRuleset, chain: string): string[] {
  const plan = ruleset.table('filter').chains.find((candidate) => candidate.name === chain)!;
  return [...plan.head, ...plan.tail].map((rule) => ruleText('ipv4', rule));
}

const accept = (destination: string, port: number | readonly [number, number]): IptRule => ({
  destination, protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: port }], target: { name: 'ACCEPT' },
});

test('a rule that reads like one the chain holds is not added again, whatever its shape', (t) => {
  const ruleset = new IptablesRuleset('ipv4');
  ruleset.ensureChain('filter', 'DOCKER');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.2', 80), 'append');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.2/32', [80, 80]), 'append');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.2', 80), 'insert');
  t.deepEqual(texts(ruleset, 'DOCKER'), ['-d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j ACCEPT']);
});

test('rules of one port that read differently are all added, in their places', (t) => {
  const ruleset = new IptablesRuleset('ipv4');
  ruleset.ensureChain('filter', 'DOCKER');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.2', 80), 'append');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.3', 80), 'append');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.4', 80), 'insert');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.3', 80), 'append');
  ruleset.add('filter', 'DOCKER', accept('192.0.2.2', [80, 81]), 'append');
  ruleset.add('filter', 'DOCKER', { target: { name: 'DROP' } }, 'append');
  ruleset.add('filter', 'DOCKER', { target: { name: 'DROP' } }, 'append');
  t.deepEqual(texts(ruleset, 'DOCKER'), [
    '-d 192.0.2.4/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    '-d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    '-d 192.0.2.3/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    '-d 192.0.2.2/32 -p tcp -m tcp --dport 80:81 -j ACCEPT',
    '-j DROP',
  ]);
});

test('first moves a rule the chain holds to the head, by its text', (t) => {
  const ruleset = new IptablesRuleset('ipv4');
  ruleset.add('filter', 'FORWARD', { target: { name: 'jump', chain: 'A' } }, 'first');
  ruleset.add('filter', 'FORWARD', { target: { name: 'jump', chain: 'B' } }, 'first');
  ruleset.add('filter', 'FORWARD', { target: { name: 'jump', chain: 'A' } }, 'first');
  t.deepEqual(texts(ruleset, 'FORWARD'), ['-j A', '-j B']);
});

test('DNATs of one port are told apart by their container, and one that reads the same is not added again', (t) => {
  const ruleset = new IptablesRuleset('ipv4');
  ruleset.ensureChain('nat', 'DOCKER');
  const dnat = (destination: string, toAddress: string): IptRule => ({
    destination, protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: 8080 }], target: { name: 'DNAT', toAddress, toPort: 80 },
  });
  ruleset.add('nat', 'DOCKER', dnat('198.51.100.1', '198.18.0.2'), 'append');
  ruleset.add('nat', 'DOCKER', dnat('198.51.100.2', '198.18.0.2'), 'append');
  ruleset.add('nat', 'DOCKER', dnat('198.51.100.1', '198.18.1.2'), 'append');
  ruleset.add('nat', 'DOCKER', dnat('198.51.100.1/32', '198.18.0.2'), 'append');
  const plan = ruleset.table('nat').chains.find((chain) => chain.name === 'DOCKER')!;
  t.deepEqual(plan.tail.map((rule) => ruleText('ipv4', rule)), [
    '-d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.0.2:80',
    '-d 198.51.100.2/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.0.2:80',
    '-d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.1.2:80',
  ]);
});
