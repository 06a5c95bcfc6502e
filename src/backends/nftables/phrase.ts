/**
 * Rules of the nftables backend, each written once as phrases that carry both
 * the nft syntax and the kernel expressions: the expressions are committed and
 * compared with what the kernel reads back, the text is what `--dry-run`
 * prints for `nft -f`, and the two cannot drift apart.
 */
import type { Family } from '../../family.js';
import { dnatFromMap, inSet, verdictMap, type Field } from '../../nft/concat.js';
import type { NftExpr } from '../../nft/expr.js';
import { match, statement } from '../../nft/match.js';
import type { SourceNat } from '../../docker/model.js';

export interface Phrase {
  text: string;
  exprs: NftExpr[];
}

export interface NftRule {
  /** The rule in nft syntax, without the comment. */
  text: string;
  exprs: NftExpr[];
  comment?: string;
}

export function rule(phrases: readonly Phrase[], comment?: string): NftRule {
  const built: NftRule = { text: phrases.map((p) => p.text).join(' '), exprs: phrases.flatMap((p) => p.exprs) };
  if (comment !== undefined) built.comment = comment;
  return built;
}

const quote = (name: string): string => JSON.stringify(name);
const not = (negate: boolean | undefined): string => (negate ? '!= ' : '');

/** `ip` or `ip6`: the table family's protocol keyword. */
export function addressKeyword(family: Family): 'ip' | 'ip6' {
  return family === 'ipv4' ? 'ip' : 'ip6';
}

/**
 * A statement with a counter before it, as Docker's nftables layout writes
 * every rule that ends in one (`counter accept`, moby nftabler); dispatching
 * through a verdict map counts nothing, as there, and neither does a DNAT
 * through a map, whose elements count instead.
 */
function counted(action: Phrase): Phrase {
  return { text: `counter ${action.text}`, exprs: [...statement.counter(), ...action.exprs] };
}

export const phrase = {
  iifname: (name: string, negate?: boolean): Phrase => ({ text: `iifname ${not(negate)}${quote(name)}`, exprs: match.iifname(name, { negate }) }),
  oifname: (name: string, negate?: boolean): Phrase => ({ text: `oifname ${not(negate)}${quote(name)}`, exprs: match.oifname(name, { negate }) }),
  saddr: (family: Family, prefix: string, negate?: boolean): Phrase => ({
    text: `${addressKeyword(family)} saddr ${not(negate)}${prefix}`, exprs: match.saddr(prefix, { negate }),
  }),
  daddr: (family: Family, prefix: string, negate?: boolean): Phrase => ({
    text: `${addressKeyword(family)} daddr ${not(negate)}${prefix}`, exprs: match.daddr(prefix, { negate }),
  }),
  icmp: (family: Family): Phrase => {
    const protocol = family === 'ipv4' ? 'icmp' : 'ipv6-icmp';
    return { text: `meta l4proto ${protocol}`, exprs: match.l4proto(protocol) };
  },
  fibDaddrLocal: (): Phrase => ({ text: 'fib daddr type local', exprs: match.fibDaddrType('local') }),
  fibSaddrLocal: (): Phrase => ({ text: 'fib saddr type local', exprs: match.fibSaddrType('local') }),
  replies: (): Phrase => ({ text: 'ct state established,related', exprs: match.ctState(['established', 'related']) }),
  inSet: (fields: readonly Field[], set: string): Phrase => ({ text: `${fields.join(' . ')} @${set}`, exprs: inSet(fields, set) }),
  verdictMap: (field: Field, map: string): Phrase => ({ text: `${field} vmap @${map}`, exprs: verdictMap([field], map) }),
  // Not counted: a counter before the map's lookup would count the packets it misses too; the map's elements count per mapping.
  dnatFromMap: (family: Family, fields: readonly Field[], map: string): Phrase => ({
    text: `dnat ${addressKeyword(family)} to ${fields.join(' . ')} map @${map}`, exprs: dnatFromMap(family, fields, map),
  }),
  dnat: (address: string): Phrase => counted({ text: `dnat to ${address}`, exprs: statement.dnat(address) }),
  sourceNat: (nat: SourceNat): Phrase => counted(nat.kind === 'masquerade'
    ? { text: 'masquerade', exprs: statement.masquerade() }
    : { text: `snat to ${nat.toSource}`, exprs: statement.snat(nat.toSource) }),
  accept: (): Phrase => counted({ text: 'accept', exprs: statement.accept() }),
  drop: (): Phrase => counted({ text: 'drop', exprs: statement.drop() }),
  verdict: (verdict: 'ACCEPT' | 'DROP'): Phrase => (verdict === 'ACCEPT' ? phrase.accept() : phrase.drop()),
  return: (): Phrase => counted({ text: 'return', exprs: statement.return() }),
  jump: (chain: string): Phrase => counted({ text: `jump ${chain}`, exprs: statement.jump(chain) }),
};
