/**
 * Addresses and prefixes are parsed strictly, whichever family a text looks
 * like first: dotted-quad IPv4 only, IPv6 without a zone id, a prefix length
 * within the family, host bits refused when asked.
 */
import test from 'ava';
import { formatAddress, parseAddress, parsePrefix } from '../src/address.js';
import { ValidationError } from '../src/errors.js';

test('addresses of either family, and of the family asked for', (t) => {
  t.deepEqual([...parseAddress('192.0.2.1', 'a').bytes], [192, 0, 2, 1]);
  t.is(parseAddress('2001:db8::1', 'a').family, 'ipv6');
  t.is(formatAddress(parseAddress('2001:db8:0:0::1', 'a', 'ipv6').bytes), '2001:db8::1');
  for (const [text, family] of [['192.0.2.1', 'ipv6'], ['2001:db8::1', 'ipv4']] as const) {
    t.is(t.throws(() => parseAddress(text, 'field', family), { instanceOf: ValidationError }).field, 'field');
  }
});

test('texts no tool reads alike, zone ids, prefixes where an address is asked and garbage are refused', (t) => {
  for (const text of ['127.1', '0x7f.0.0.1', '192.0.2.1/32', 'fe80::1%eth0', '', '::ffff:192.0.2.1:80', 'host', '1.2.3.4.5']) {
    t.throws(() => parseAddress(text, 'a'), { instanceOf: ValidationError }, text);
  }
});

test('prefixes: a bare address is the full length, host bits cleared or refused, lengths within the family', (t) => {
  t.like(parsePrefix('198.18.1.2', 'p'), { family: 'ipv4', length: 32 });
  t.like(parsePrefix('2001:db8::/32', 'p'), { family: 'ipv6', length: 32 });
  t.deepEqual([...parsePrefix('198.18.1.2/24', 'p').address], [198, 18, 1, 0]);
  t.throws(() => parsePrefix('198.18.1.2/24', 'p', 'ipv4', 'reject'), { instanceOf: ValidationError });
  for (const text of ['198.18.1.0/33', '2001:db8::/129', '198.18.1.0/', '/24', 'fe80::/64%eth0', '127.1/8']) {
    t.throws(() => parsePrefix(text, 'p'), { instanceOf: ValidationError }, text);
  }
  t.throws(() => parsePrefix('2001:db8::/64', 'p', 'ipv4'), { instanceOf: ValidationError });
  t.throws(() => parsePrefix('198.18.0.0/15', 'p', 'ipv6'), { instanceOf: ValidationError });
});
