/**
 * Port rules between writers, the iptables counterpart of the nftables
 * backend's port-holders.ts. Several Firewalls (processes) publishing on one
 * namespace share Docker's chains, and the kernel is the only state they
 * share: a host port is held by the DNAT rule the nat table's DOCKER chain
 * holds for it; a container port's forward ACCEPT (filter DOCKER) and hairpin
 * MASQUERADE (nat POSTROUTING) serve every DNAT rule that targets it, and a
 * loopback-bound host port's DROP (raw PREROUTING) serves its DNAT rules. So a
 * change merged onto the tables read back (merge.ts), committed against their
 * fingerprints, is corrected here:
 *
 * - a DNAT rule the change adds for a host port the kernel's DNAT rules send
 *   to another target (or on an overlapping address: every address overlaps
 *   each one) is refused with EADDRINUSE;
 * - a DNAT rule the change keeps, for a host port someone else's DNAT rule
 *   now holds, is not written again beside it (the first would win);
 * - a rule the change drops stays while a DNAT rule left in the kernel needs it.
 *
 * Removals delete rules by their text, a DNAT rule's target included, so one
 * writer never deletes another's DNAT rule; two writers writing the identical
 * rule share it, and either one's removal removes it.
 */
import { CHAIN } from '../../docker/iptables/rules.js';
import type { TablePlan } from '../../docker/iptables/ruleset.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { Family } from '../../family.js';
import type { IptRule } from '../../iptc/rule.js';
import type { IptChain } from '../../iptc/table.js';
import { hostPortHeld } from '../held-port.js';
import type { PortBindingModel } from '../../docker/model.js';

export interface PortHolders {
  /** Whether a rule the change drops is still needed by a DNAT rule the kernel keeps. */
  needs(rule: IptRule): boolean;
  /** Whether a DNAT rule the change keeps has a host port someone else's DNAT rule holds now. */
  yields(rule: IptRule): boolean;
}

/** A DNAT rule's parts that matter here. */
interface Dnat {
  rule: IptRule;
  proto: string;
  /** undefined: every address. */
  host: string | undefined;
  port: number;
  target: string;
}

/**
 * What the kernel's nat table (`nat`, as read) tells about the change from
 * `before` to `after` (the nat tables planned); throws EADDRINUSE when the
 * change publishes a host port someone else's DNAT rule holds.
 */
export function portHolders(family: Family, nat: readonly IptChain[], before: TablePlan, after: TablePlan): PortHolders {
  const text = (rule: IptRule) => ruleText(family, rule);
  const ours = new Set(dnatRules(before).map(text));
  const wanted = dnatRules(after);
  const kept = new Set(wanted.map(text));
  const kernel = (nat.find((chain) => chain.name === CHAIN.docker)?.rules ?? []).flatMap((entry) => {
    const dnat = entry.rule && dnatOf(entry.rule);
    return dnat ? [dnat] : [];
  });
  /** The kernel's DNAT rules we did not write, by protocol and host port. */
  const foreign = new Map<string, Dnat[]>();
  for (const dnat of kernel) {
    if (ours.has(text(dnat.rule))) continue;
    const port = `${dnat.proto} ${dnat.port}`;
    const same = foreign.get(port);
    if (same) same.push(dnat);
    else foreign.set(port, [dnat]);
  }
  // On the same host address another target holds the port; on an overlapping one (every address overlaps each) any does,
  // as in the nftables backend and in Docker's port allocator.
  const holderOf = (dnat: Dnat) => foreign.get(`${dnat.proto} ${dnat.port}`)?.find((other) =>
    other.host === dnat.host ? other.target !== dnat.target : other.host === undefined || dnat.host === undefined);
  const yielding = new Set<string>();
  for (const rule of wanted) {
    const dnat = dnatOf(rule)!;
    const holder = holderOf(dnat);
    if (holder === undefined) continue;
    if (!ours.has(text(rule))) {
      throw hostPortHeld({ family, proto: holder.proto, hostAddress: holder.host, hostPort: holder.port, ...splitTarget(holder.rule) });
    }
    yielding.add(text(rule));
  }
  // What the kernel keeps after the change: its DNAT rules but those the change drops, and the change's own.
  // Worked out when first asked: a change that drops nothing never asks.
  let left: { targets: Set<string>; hosts: Set<string> } | undefined;
  const leftInKernel = () => {
    const dnats = kernel.filter((dnat) => kept.has(text(dnat.rule)) || !ours.has(text(dnat.rule)));
    return {
      targets: new Set(dnats.map((dnat) => `${dnat.proto} ${dnat.target}`)),
      hosts: new Set(dnats.map((dnat) => `${dnat.proto} ${dnat.host} ${dnat.port}`)),
    };
  };
  return {
    needs(rule) {
      const port = singlePort(rule);
      if (port === undefined || rule.destination === undefined) return false;
      const key = `${rule.protocol} ${bare(rule.destination)}`;
      left ??= leftInKernel();
      if (rule.target.name === 'DROP') return left.hosts.has(`${key} ${port}`);
      return (rule.target.name === 'ACCEPT' || rule.target.name === 'MASQUERADE') && left.targets.has(`${key}:${port}`);
    },
    yields: (rule) => yielding.has(text(rule)),
  };
}

/**
 * The DNAT rules of a nat table's DOCKER chain by host port and by target
 * (container address and port), kept with the port chains' texts
 * (port-path.ts) and changed with each commit of the port path: what a change
 * of a few bindings asks of portHolders is told by the DNAT rules on one of
 * their host ports or to one of their targets, looked up here instead of read
 * from every mapping's rule.
 */
export class DnatRules {
  private readonly byKey = new Map<string, IptRule[]>();

  constructor(private readonly family: Family, docker: readonly IptRule[]) {
    for (const rule of docker) this.add(rule);
  }

  add(rule: IptRule): void {
    for (const key of keysOf(rule)) {
      const rules = this.byKey.get(key);
      if (rules) rules.push(rule);
      else this.byKey.set(key, [rule]);
    }
  }

  /** Takes out one rule of the same text as `rule`: the one a deletion by text takes. */
  remove(rule: IptRule): void {
    const text = ruleText(this.family, rule);
    for (const key of keysOf(rule)) {
      const rules = this.byKey.get(key) ?? [];
      const index = rules.findIndex((candidate) => ruleText(this.family, candidate) === text);
      if (index !== -1) rules.splice(index, 1);
      if (rules.length === 0) this.byKey.delete(key);
    }
  }

  /** A nat table as portHolders reads it for a change of `bindings`: DOCKER with only the DNAT rules that concern them. */
  concerning(bindings: readonly PortBindingModel[]): IptChain[] {
    const rules = new Set(bindings.flatMap((binding) => [
      ...this.byKey.get(`port ${binding.hostPort}`) ?? [], ...this.byKey.get(`target ${binding.containerAddress}:${binding.containerPort}`) ?? [],
    ]));
    return [{ name: CHAIN.docker, builtin: false, packets: 0n, bytes: 0n, rules: [...rules].map((rule) => ({ rule, packets: 0n, bytes: 0n })) }];
  }
}

/** A DNAT rule's keys in DnatRules: its host port and its target; none for any other rule. */
function keysOf(rule: IptRule): string[] {
  if (rule.target.name !== 'DNAT') return [];
  const port = singlePort(rule);
  const { containerAddress, containerPort } = splitTarget(rule);
  const target = `target ${containerAddress}:${containerPort}`;
  return port === undefined ? [target] : [`port ${port}`, target];
}

function dnatRules(nat: TablePlan): IptRule[] {
  const chain = nat.chains.find((candidate) => candidate.name === CHAIN.docker);
  return chain ? [...chain.head, ...chain.tail].filter((rule) => dnatOf(rule) !== undefined) : [];
}

function dnatOf(rule: IptRule): Dnat | undefined {
  if (rule.target.name !== 'DNAT') return undefined;
  const port = singlePort(rule);
  if (port === undefined || rule.protocol === undefined) return undefined;
  const { containerAddress, containerPort } = splitTarget(rule);
  return {
    rule, proto: rule.protocol, port,
    host: rule.destination === undefined ? undefined : bare(rule.destination),
    target: `${containerAddress}:${containerPort}`,
  };
}

function splitTarget(rule: IptRule): { containerAddress: string; containerPort: number } {
  const target = rule.target as Extract<IptRule['target'], { toAddress: string }>;
  return { containerAddress: bare(target.toAddress), containerPort: typeof target.toPort === 'number' ? target.toPort : target.toPort?.[0] ?? 0 };
}

/** The one destination port the rule matches, if it matches one. */
function singlePort(rule: IptRule): number | undefined {
  for (const match of rule.matches ?? []) {
    if ((match.name === 'tcp' || match.name === 'udp' || match.name === 'sctp') && typeof match.destinationPort === 'number' && !match.destinationPortNegated) {
      return match.destinationPort;
    }
  }
  return undefined;
}

/** An address without the /32 or /128 a rule read back may carry. */
function bare(address: string): string {
  if (address.endsWith('/32')) return address.slice(0, -3);
  return address.endsWith('/128') ? address.slice(0, -4) : address;
}
