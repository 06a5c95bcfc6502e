/**
 * Renders rules and tables as iptables-legacy-save 1.8.9 prints them (without
 * its `#` comment lines), for `--dry-run` output and golden tests. The text of
 * a rule is also its identity: two rules are the same rule when they print the
 * same, which is what `iptables -C` decides too.
 */
import type { Family } from '../family.js';
import type { IptCtState, IptMatch, IptPortRange, IptRule, IptTableName, IptTarget } from './rule.js';

/** One table's chains, in any order: the output uses libiptc's. Missing built-in chains print empty. */
export interface IptTableSnapshot {
  name: IptTableName;
  chains: readonly IptChainSnapshot[];
}

export interface IptChainSnapshot {
  name: string;
  /** A built-in chain's policy (default ACCEPT); user chains have none. */
  policy?: 'ACCEPT' | 'DROP';
  rules: readonly IptRule[];
}

/** Built-in chains of each table, in hook order, as libiptc lists them. */
export const BUILTIN_CHAINS: Readonly<Record<IptTableName, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** The order conntrack's `--ctstate` prints states in, whatever order they were given in. */
const CT_STATE_ORDER: readonly IptCtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

/** A whole save: each table as `*name`, chain headers, `-A` lines and `COMMIT`. */
export function formatSave(family: Family, tables: readonly IptTableSnapshot[]): string {
  return tables.map((table) => formatTable(family, table)).join('');
}

export function formatTable(family: Family, table: IptTableSnapshot): string {
  const chains = saveOrder(table);
  const lines = [`*${table.name}`];
  for (const chain of chains) lines.push(`:${chain.name} ${chain.policy ?? '-'} [0:0]`);
  for (const chain of chains) for (const rule of chain.rules) lines.push(`-A ${chain.name} ${formatRule(family, rule)}`);
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/**
 * A rule's options as they follow `-A CHAIN` in a save. Its words go into one
 * array joined once, with no closures or intermediate arrays: plans format
 * every one of tens of thousands of rules, and a single join leaves one flat
 * string where concatenation leaves a tree of pieces behind.
 */
export function formatRule(family: Family, rule: IptRule): string {
  const words: string[] = [];
  if (rule.source !== undefined) option(words, '-s', withPrefix(family, rule.source), rule.sourceNegated);
  if (rule.destination !== undefined) option(words, '-d', withPrefix(family, rule.destination), rule.destinationNegated);
  option(words, '-i', rule.inInterface, rule.inInterfaceNegated);
  option(words, '-o', rule.outInterface, rule.outInterfaceNegated);
  option(words, '-p', rule.protocol, rule.protocolNegated);
  if (rule.matches) for (const match of rule.matches) pushMatch(words, match);
  pushTarget(words, family, rule.target);
  return words.join(' ');
}

/** `[!] flag value`, or nothing without a value. */
function option(words: string[], flag: string, value: string | undefined, negated: boolean | undefined): void {
  if (value === undefined) return;
  if (negated) words.push('!');
  words.push(flag, value);
}

function pushMatch(words: string[], match: IptMatch): void {
  words.push('-m', match.name);
  switch (match.name) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      option(words, '--sport', portText(match.sourcePort, ':'), match.sourcePortNegated);
      option(words, '--dport', portText(match.destinationPort, ':'), match.destinationPortNegated);
      break;
    case 'addrtype':
      option(words, '--src-type', match.sourceType, match.sourceTypeNegated);
      option(words, '--dst-type', match.destinationType, match.destinationTypeNegated);
      break;
    case 'conntrack':
      option(words, '--ctstate', CT_STATE_ORDER.filter((state) => match.states.includes(state)).join(','), match.statesNegated);
      break;
    case 'mark': {
      const mask = match.mask === undefined || match.mask === 0xffffffff ? '' : `/0x${match.mask.toString(16)}`;
      option(words, '--mark', `0x${match.mark.toString(16)}${mask}`, match.negated);
      break;
    }
    case 'comment':
      words.push('--comment', saveString(match.comment));
      break;
  }
}

function pushTarget(words: string[], family: Family, target: IptTarget): void {
  switch (target.name) {
    case 'jump':
      words.push(target.goto ? '-g' : '-j', target.chain);
      return;
    case 'DNAT':
    case 'SNAT': {
      const flag = target.name === 'DNAT' ? '--to-destination' : '--to-source';
      const port = portText(target.toPort, '-');
      if (port === undefined) {
        words.push('-j', target.name, flag, target.toAddress);
        return;
      }
      const host = family === 'ipv6' ? `[${target.toAddress}]` : target.toAddress;
      words.push('-j', target.name, flag, `${host}:${port}`);
      return;
    }
    case 'MASQUERADE': {
      const port = portText(target.toPort, '-');
      words.push('-j', 'MASQUERADE');
      if (port !== undefined) words.push('--to-ports', port);
      return;
    }
    default:
      words.push('-j', target.name);
  }
}

/** iptables-save always prints a prefix length; a bare address is a host route. */
function withPrefix(family: Family, address: string): string {
  if (address.includes('/')) return address;
  return `${address}/${family === 'ipv4' ? 32 : 128}`;
}

function portText(range: IptPortRange | undefined, separator: ':' | '-'): string | undefined {
  if (range === undefined) return undefined;
  if (typeof range === 'number') return String(range);
  return range[0] === range[1] ? String(range[0]) : `${range[0]}${separator}${range[1]}`;
}

/** xtables_save_string: bare when only [A-Za-z0-9_-], else double-quoted with `"`, `\` and `'` escaped. */
function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (character) => `\\${character}`)}"`;
}

/** libiptc's chain order: built-in chains in hook order, then user chains by name (strcmp). */
export function compareChains(table: IptTableName, a: string, b: string): number {
  const builtins = BUILTIN_CHAINS[table];
  const rank = (name: string): number => (builtins.includes(name) ? builtins.indexOf(name) : builtins.length);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function saveOrder(table: IptTableSnapshot): IptChainSnapshot[] {
  const byName = new Map(table.chains.map((chain) => [chain.name, chain]));
  const builtinChains = BUILTIN_CHAINS[table.name].map((name): IptChainSnapshot => {
    const chain = byName.get(name);
    return { name, policy: chain?.policy ?? 'ACCEPT', rules: chain?.rules ?? [] };
  });
  const userChains = table.chains.filter((chain) => !BUILTIN_CHAINS[table.name].includes(chain.name));
  return [...builtinChains, ...userChains.sort((a, b) => compareChains(table.name, a.name, b.name))];
}
