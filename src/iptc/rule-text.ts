/**
 * A rule's iptables-save text, formatted once per rule object. Planning,
 * diffing and merging compare tens of thousands of rules by text, most of
 * them more than once (a planned rule when it is added, again when the
 * kernel's copy is compared with it). Safe because rules are never changed
 * once built: planned ones are finished before they are added, read ones are
 * only read.
 *
 * The text is kept on the rule itself, under a symbol and not enumerable, so
 * that it never shows in the rule's keys and copies (spread, Object.assign)
 * never carry a text that may not fit them. A WeakMap does the same at several
 * times the cost, in lookups and in garbage collection.
 */
import { formatRule } from './format.js';
import type { Family } from '../family.js';
import type { IptRule } from './rule.js';

/** Per family: the same rule prints differently as IPv4 and as IPv6. */
const TEXT: Record<Family, symbol> = { ipv4: Symbol('iptables-save text'), ipv6: Symbol('ip6tables-save text') };

type WithText = IptRule & { [text: symbol]: string | undefined };

export function ruleText(family: Family, rule: IptRule): string {
  const key = TEXT[family];
  const known = (rule as WithText)[key];
  if (known !== undefined) return known;
  const text = formatRule(family, rule);
  Object.defineProperty(rule, key, { value: text });
  return text;
}
