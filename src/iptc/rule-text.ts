/**
 * A rule's iptables-save text, formatted once per rule object, when first
 * asked for. Diffing and merging compare tens of thousands of rules by text,
 * some more than once (a planned rule with the kernel's copy, again with
 * another table's). Safe because rules are never changed
 * once built: planned ones are finished before they are added, read ones are
 * only read.
 *
 * The text is kept on the rule itself, in private fields of a class stamped
 * on it, so that it never shows in the rule's keys and copies (spread,
 * Object.assign) never carry a text that may not fit them. Stamping a private
 * field costs what adding a property costs; Object.defineProperty of a
 * hidden property, which did the same before, took most of a microsecond a
 * rule (a tenth of planning 30,000 rules), and a WeakMap costs several times
 * as much in lookups and in garbage collection.
 */
import { formatRule } from './format.js';
import type { Family } from '../family.js';
import type { IptRule } from './rule.js';

/** A constructor that returns the object it is given: a subclass's private fields are then added to that object. */
class Stamp {
  constructor(target: object) {
    return target;
  }
}

/** Per family: the same rule prints differently as IPv4 and as IPv6. */
class RuleTexts extends Stamp {
  #ipv4: string | undefined;
  #ipv6: string | undefined;

  static text(family: Family, rule: IptRule): string {
    if (!(#ipv4 in rule)) new RuleTexts(rule);
    const texts = rule as unknown as RuleTexts;
    let text = family === 'ipv4' ? texts.#ipv4 : texts.#ipv6;
    if (text === undefined) {
      text = formatRule(family, rule);
      if (family === 'ipv4') texts.#ipv4 = text;
      else texts.#ipv6 = text;
    }
    return text;
  }
}

export function ruleText(family: Family, rule: IptRule): string {
  return RuleTexts.text(family, rule);
}
