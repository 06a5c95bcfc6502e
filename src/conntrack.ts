/**
 * Conntrack follows the mapping. NAT is decided on a connection's first
 * packet and kept in its connection tracking entry, so after a commit that
 * adds, moves or removes port bindings, flows that began before it would keep
 * going where the old rules sent them (or to the host, which answered them
 * while the port was not published). Docker clears entries when it programs
 * an endpoint's bindings (moby daemon/libnetwork/drivers/bridge/bridge_linux.go
 * clearConntrackEntries, issues #8795, #44688, #44742); we clear after every
 * commit that changes bindings, added, moved or removed, and never the
 * entries of a mapping the change keeps.
 *
 * Per changed binding (family, protocol, host address and port, container
 * address and port):
 * - published (added or moved here): the entries of its host port (on its
 *   host address, or any destination when it binds every address) whose
 *   answers do not come from its container port, i.e. that the new rules
 *   would not have made. For TCP and SCTP only entries whose destination was
 *   translated (by a DNAT that is no longer ours): connections the host
 *   itself makes to that port elsewhere look the same otherwise. For UDP
 *   every such entry, as Docker clears a UDP host port: datagrams the host
 *   answered before the port was published.
 * - unpublished (removed or moved away): the entries of its host port whose
 *   answers come from its old container port; for a port opened without a
 *   host port (routed), the entries addressed straight to it.
 * Entries of a kept mapping answer from the port it still points to, so no
 * filter matches them. The C++ (native/conntrack.cc) only matches these
 * filters against a dump of the table and deletes what matches.
 */
import type { ApplyOutcome } from './backends/backend.js';
import type { FirewallModel, PortBindingModel } from './docker/model.js';
import type { FamilyPortChange } from './docker/port-change.js';
import { callNative, NetfilterError } from './errors.js';
import type { IptFamily } from './iptc/rule.js';
import { binding } from './native/binding.js';
import { packConntrackFilters, type ConntrackFilter } from './native/conntrack.js';
import { Warnings } from './warnings.js';

export interface ConntrackOutcome {
  /** Connection tracking entries deleted because the mappings they followed changed. */
  cleared: number;
}

/** What a commit changed: a port call's bindings, or two whole models (absent before: nothing known). */
export type MappingChange =
  | { ports: readonly FamilyPortChange[] }
  | { before: FirewallModel | undefined; after: FirewallModel };

/**
 * Failures that mean the kernel has no connection tracking netlink: no
 * nfnetlink at all, or no ctnetlink subsystem behind it.
 */
const UNSUPPORTED = new Set(['EPROTONOSUPPORT', 'EOPNOTSUPP', 'EAFNOSUPPORT', 'ENOENT', 'EINVAL']);

/**
 * Runs after a commit succeeded: deletes the entries of the bindings it
 * changed and adds the count (and a WCONNTRACK warning, never a failure: the
 * commit is made) to its outcome.
 */
export async function followMappings(
  netns: string, change: MappingChange, outcome: ApplyOutcome,
): Promise<ApplyOutcome & { conntrack: ConntrackOutcome }> {
  const filters = outcome.commits === 0 ? [] : filtersOf(change);
  if (filters.length === 0) return { ...outcome, conntrack: { cleared: 0 } };
  try {
    const packed = packConntrackFilters(filters, 'conntrack.filters');
    const cleared = await callNative(() => binding.clearConntrack(netns, packed));
    return { ...outcome, conntrack: { cleared } };
  } catch (error) {
    if (!(error instanceof NetfilterError)) throw error;
    const warnings = new Warnings();
    warnings.addAll(outcome.warnings);
    warnings.add('WCONNTRACK', unclearedMessage(error));
    return { ...outcome, warnings: warnings.list(), conntrack: { cleared: 0 } };
  }
}

function unclearedMessage(error: NetfilterError): string {
  const unsupported = UNSUPPORTED.has(error.code) && (error.operation === 'nft.open' || error.operation === 'conntrack.dump');
  const why = unsupported
    ? `the kernel has no connection tracking netlink (${error.code} from ${error.operation}; load nf_conntrack_netlink)`
    : `clearing failed (${error.code} from ${error.operation}: ${error.message})`;
  return `${why}: connections that began before this change keep the NAT of the port mappings they began with`;
}

/** The filters for the bindings a change added and removed, each once. */
export function filtersOf(change: MappingChange): ConntrackFilter[] {
  const filters = new Map<string, ConntrackFilter>();
  const add = (filter: ConntrackFilter | undefined): void => {
    if (filter) filters.set(JSON.stringify(filter), filter);
  };
  if ('ports' in change) {
    for (const { network, added, removed } of change.ports) {
      for (const binding of added) add(publishedFilter(network.family, binding));
      for (const binding of removed) add(unpublishedFilter(network.family, binding));
    }
  } else {
    const before = bindingsByKey(change.before);
    const after = bindingsByKey(change.after);
    for (const [key, { family, binding }] of after) if (!before.has(key)) add(publishedFilter(family, binding));
    for (const [key, { family, binding }] of before) if (!after.has(key)) add(unpublishedFilter(family, binding));
  }
  return [...filters.values()];
}

function bindingsByKey(model: FirewallModel | undefined): Map<string, { family: IptFamily; binding: PortBindingModel }> {
  const bindings = new Map<string, { family: IptFamily; binding: PortBindingModel }>();
  for (const { family, networks } of model?.families ?? []) {
    for (const network of networks) {
      for (const endpoint of network.endpoints) {
        for (const binding of endpoint.bindings) bindings.set(`${family} ${binding.key}`, { family, binding });
      }
    }
  }
  return bindings;
}

/** Entries of the host port that the binding's DNAT would not have made. */
function publishedFilter(family: IptFamily, binding: PortBindingModel): ConntrackFilter | undefined {
  if (binding.hostPort === undefined) return undefined;
  return {
    family,
    proto: binding.proto,
    origDstPort: binding.hostPort,
    ...(binding.hostAddress === undefined ? {} : { origDst: binding.hostAddress }),
    replySrc: { address: binding.containerAddress, port: binding.containerPort, negated: true },
    dstTranslated: binding.proto !== 'udp',
  };
}

/** Entries the binding's rules made: answered by its container port. */
function unpublishedFilter(family: IptFamily, binding: PortBindingModel): ConntrackFilter {
  const target = { address: binding.containerAddress, port: binding.containerPort, negated: false };
  if (binding.hostPort === undefined) {
    return { family, proto: binding.proto, origDstPort: binding.containerPort, origDst: binding.containerAddress, replySrc: target };
  }
  return {
    family,
    proto: binding.proto,
    origDstPort: binding.hostPort,
    ...(binding.hostAddress === undefined ? {} : { origDst: binding.hostAddress }),
    replySrc: target,
  };
}
