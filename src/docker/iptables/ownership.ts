/**
 * Which rules in the built-in chains are ours. Docker's rules carry no marker
 * (they must read exactly like Docker's), so a rule is recognised by its shape:
 * a jump to one of our chains, or one of the few rule forms Docker writes into
 * PREROUTING and POSTROUTING. Everything else there belongs to someone else and
 * is never touched.
 */
import { ruleText } from '../../iptc/rule-text.js';
import type { IptFamily, IptRule, IptTableName } from '../../iptc/rule.js';
import { CHAIN } from './rules.js';

/** The chains bridgewall creates and may delete (DOCKER-USER is the user's and is excluded). */
export const OWNED_CHAINS: ReadonlySet<string> = new Set(
  Object.values(CHAIN).filter((name) => name !== CHAIN.user),
);

const OUR_JUMP_TARGETS: ReadonlySet<string> = new Set(Object.values(CHAIN));

const SHAPES: Partial<Record<IptTableName, readonly RegExp[]>> = {
  raw: [
    // Direct-access protection for an endpoint.
    /^-d \S+ ! -i \S+ -j DROP$/,
    // Loopback-bound published port.
    /^-d 127\.0\.0\.1\/32 ! -i lo -p (tcp|udp|sctp) -m \1 --dport \d+ -j DROP$/,
  ],
  nat: [
    // Masquerade or SNAT of a network's outgoing traffic.
    /^-s \S+ ! -o \S+ -j (MASQUERADE|SNAT --to-source \S+)$/,
    // Hairpin and swarm ingress: locally sourced traffic out of a bridge.
    /^-o \S+ -m addrtype --src-type LOCAL -j (MASQUERADE|SNAT --to-source \S+)$/,
    // Hairpin NAT of a published port.
    /^-s (\S+) -d \1 -p (tcp|udp|sctp) -m \2 --dport \d+ -j MASQUERADE$/,
  ],
};

export function isOwnedRule(family: IptFamily, table: IptTableName, rule: IptRule): boolean {
  if (rule.target.name === 'jump' && OUR_JUMP_TARGETS.has(rule.target.chain)) return true;
  const text = ruleText(family, rule);
  return (SHAPES[table] ?? []).some((shape) => shape.test(text));
}
