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
 * - published (added or moved here), UDP: the entries of its host port (on
 *   its host address, or any destination when it binds every address) whose
 *   answers do not come from its container port, i.e. that the new rules
 *   would not have made: datagrams the host answered before the port was
 *   published, as Docker clears a UDP host port.
 * - published, TCP and SCTP, only when what was published before is unknown
 *   (a Firewall's first apply): the entries of its host port translated to
 *   somewhere else (an older process's mapping). Otherwise a TCP mapping
 *   moved here has had its old target's entries cleared as unpublished, and
 *   a connection the host refused left nothing to clear; the host's own
 *   connections to that port elsewhere must stay, so untranslated entries
 *   are never cleared.
 * - unpublished (removed or moved away): the entries of its host port whose
 *   answers come from its old container port; for a port opened without a
 *   host port (routed), the entries addressed straight to it.
 * Entries of a kept mapping answer from the port it still points to, so no
 * filter matches them. The C++ (native/conntrack.cc) only matches these
 * filters against a dump of the table and deletes what matches.
 */
import type { ApplyOutcome } from './backends/backend.js';
import { eachOfRun, hostAddressIn, networkModelOf, type NetworkModel, type PortBindingModel } from './docker/model.js';
import type { FamilyPortChange } from './docker/port-change.js';
import { callNative, NetfilterError } from './errors.js';
import { FAMILIES, type Family } from './family.js';
import { binding } from './native/binding.js';
import type { NativeNftConnection } from './native/nft.js';
import { packConntrackFilters, type ConntrackFilter } from './native/conntrack.js';
import type { SpecView } from './held/packed.js';
import type { PortProtocol, PortRange, PortSpec } from './input/types.js';
import { readSysctls } from './sysctl.js';
import { Warnings } from './warnings.js';

export interface ConntrackOutcome {
  /** Connection tracking entries deleted because the mappings they followed changed. */
  cleared: number;
}

/**
 * What a commit changed: a port call's bindings, or two whole specs (absent
 * before: nothing known, so every binding counts as published), compared
 * endpoint by endpoint: only the ports of endpoints that differ are looked at.
 */
export type MappingChange =
  | { ports: readonly FamilyPortChange[] }
  | { before: SpecView | undefined; after: SpecView };

/**
 * Failures that mean the kernel has no connection tracking netlink: no
 * nfnetlink at all, or no ctnetlink subsystem behind it.
 */
const UNSUPPORTED = new Set(['EPROTONOSUPPORT', 'EOPNOTSUPP', 'EAFNOSUPPORT', 'ENOENT', 'EINVAL']);

/** The namespace's count of tracked connections. */
const CONNTRACK_COUNT = ['net', 'netfilter', 'nf_conntrack_count'];

/**
 * One namespace's conntrack clearing, on a netfilter netlink connection of
 * its own, opened at the first change that has entries to look for and kept
 * until close(): closing a netfilter netlink socket right after a commit
 * that removed nftables elements waits for their release (10 to 45 ms
 * measured), so a socket per call would cost that on every removal.
 */
export class MappingFollower {
  private connection: Promise<NativeNftConnection> | undefined;
  private closed = false;

  constructor(private readonly netns: string) {}

  /**
   * Runs after a commit succeeded: deletes the entries of the bindings it
   * changed and adds the count (and a WCONNTRACK warning, never a failure:
   * the commit is made) to its outcome.
   */
  async follow(change: MappingChange, outcome: ApplyOutcome): Promise<ApplyOutcome & { conntrack: ConntrackOutcome }> {
    const filters = outcome.commits === 0 || this.closed || ('after' in change && await this.tracksNothing()) ? [] : filtersOf(change);
    if (filters.length === 0) return { ...outcome, conntrack: { cleared: 0 } };
    try {
      const packed = packConntrackFilters(filters, 'conntrack.filters');
      const connection = await this.open();
      const cleared = await callNative(() => connection.clearConntrack(packed));
      return { ...outcome, conntrack: { cleared } };
    } catch (error) {
      if (!(error instanceof NetfilterError)) throw error;
      const warnings = new Warnings();
      warnings.addAll(outcome.warnings);
      warnings.add('WCONNTRACK', unclearedMessage(error));
      return { ...outcome, warnings: warnings.list(), conntrack: { cleared: 0 } };
    }
  }

  /**
   * Whether the namespace tracks no connection at all, as the kernel counts
   * them (a fresh namespace's first apply): then no filter could match, and
   * a whole spec's are not made (a filter a port: a tenth of a first apply
   * of 10,000 ports). Counted after the commit: what was tracked since went
   * through its rules. False when the kernel does not say (no conntrack).
   */
  private async tracksNothing(): Promise<boolean> {
    const [count] = await readSysctls(this.netns, [CONNTRACK_COUNT]).catch(() => [undefined]);
    return count === '0';
  }

  /** Closes the connection, if open. Safe to call twice. */
  close(): void {
    this.closed = true;
    void this.connection?.then((connection) => connection.close(), () => {});
    this.connection = undefined;
  }

  private open(): Promise<NativeNftConnection> {
    const opening = this.connection ?? callNative(() => binding.openNftConnection(this.netns));
    // A namespace without nfnetlink is asked again at the next change, not remembered as failed.
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    this.connection = opening;
    return opening;
  }
}

function unclearedMessage(error: NetfilterError): string {
  const unsupported = UNSUPPORTED.has(error.code) && (error.operation === 'nft.open' || error.operation === 'conntrack.dump');
  const why = unsupported
    ? `the kernel has no connection tracking netlink (${error.code} from ${error.operation}; load nf_conntrack_netlink)`
    : `clearing failed (${error.code} from ${error.operation}: ${error.message})`;
  return `${why}: connections that began before this change keep the NAT of the port mappings they began with`;
}

/** The filters for the bindings a change added and removed. */
export function filtersOf(change: MappingChange): ConntrackFilter[] {
  return joinRuns('ports' in change ? portChangeFilters(change.ports) : specChangeFilters(change.before, change.after));
}

/**
 * Filters of consecutive ports joined into one, as a range's is: a filter's
 * reply port advances with its destination port, so one whose ports and
 * reply port continue the previous filter's, all else equal, matches what
 * the joined range matches. Thousands of single ports published one after
 * another are then a few filters to pack and match, not thousands.
 */
function joinRuns(filters: readonly ConntrackFilter[]): ConntrackFilter[] {
  const joined: ConntrackFilter[] = [];
  for (const filter of filters) {
    const previous = joined[joined.length - 1];
    if (previous !== undefined && continues(previous, filter)) {
      // Extended in place: every filter here was made for this list, and a copy per port joined cost a first apply of 10,000 ports 10,000 copies.
      previous.origDstPorts = { first: previous.origDstPorts.first, last: filter.origDstPorts.last };
    } else {
      joined.push(filter);
    }
  }
  return joined;
}

function continues(a: ConntrackFilter, b: ConntrackFilter): boolean {
  const step = b.origDstPorts.first - a.origDstPorts.first;
  if (b.origDstPorts.first !== a.origDstPorts.last + 1 || a.family !== b.family || a.proto !== b.proto || a.origDst !== b.origDst ||
    a.dstTranslated !== b.dstTranslated) return false;
  if (a.replySrc === undefined || b.replySrc === undefined) return a.replySrc === b.replySrc;
  return a.replySrc.address === b.replySrc.address && a.replySrc.negated === b.replySrc.negated && b.replySrc.port === a.replySrc.port + step;
}

function portChangeFilters(changes: readonly FamilyPortChange[]): ConntrackFilter[] {
  const filters: ConntrackFilter[] = [];
  // A port change may list a binding twice (see forEachBindingRun).
  const seen = new Set<string>();
  const once = (key: string): boolean => !seen.has(key) && seen.add(key) !== undefined;
  for (const { network, forEachAddedRun, removed, kept } of changes) {
    // An identity range held whole is replaced as a whole when part of it goes (see portChangeOf): what stays mapped is not new, nor gone.
    // Bindings of single ports never map a port another does (removal() leaves out those still listed): only ranges need subtracting.
    const removedRanges = removed.filter((binding) => binding.lastPort !== undefined);
    const mapped = kept.filter((binding) => binding.lastPort !== undefined);
    forEachAddedRun((run) => eachOfRun(run, (binding) => {
      if (binding.lastPort !== undefined || removedRanges.length > 0) mapped.push(binding);
      if (binding.hostPort === undefined || binding.proto !== 'udp' || !once(`+${binding.key}`)) return;
      for (const ports of portsBeyond(binding, removedRanges)) {
        filters.push(published(network.family, binding.proto, binding.hostAddress, shifted(ports, binding), binding.containerAddress, ports.first));
      }
    }));
    for (const binding of removed) {
      if (!once(`-${binding.key}`)) continue;
      for (const ports of portsBeyond(binding, mapped)) {
        filters.push(unpublished(network.family, binding.proto, binding.hostAddress,
          binding.hostPort === undefined ? undefined : shifted(ports, binding), binding.containerAddress, ports));
      }
    }
  }
  return filters;
}

/** The binding's container ports that none of `others` maps the same way (protocol, host address and port offset). */
function portsBeyond(binding: PortBindingModel, others: readonly PortBindingModel[]): PortRange[] {
  let left: PortRange[] = [{ first: binding.containerPort, last: binding.lastPort ?? binding.containerPort }];
  const offset = (b: PortBindingModel) => (b.hostPort === undefined ? undefined : b.hostPort - b.containerPort);
  for (const other of others) {
    if (other === binding || other.proto !== binding.proto || other.containerAddress !== binding.containerAddress ||
      other.hostAddress !== binding.hostAddress || offset(other) !== offset(binding)) continue;
    const [first, last] = [other.containerPort, other.lastPort ?? other.containerPort];
    left = left.flatMap((range) => [
      ...(range.first < first ? [{ first: range.first, last: Math.min(range.last, first - 1) }] : []),
      ...(range.last > last ? [{ first: Math.max(range.first, last + 1), last: range.last }] : []),
    ]);
  }
  return left;
}

/** The host ports of the binding's container ports `ports`. */
function shifted(ports: PortRange, binding: PortBindingModel): PortRange {
  const offset = binding.hostPort! - binding.containerPort;
  return { first: ports.first + offset, last: ports.last + offset };
}

/** One family's side of an endpoint: its address, and its network's model when the family has bindings there. */
interface EndpointSide {
  network: NetworkModel | undefined;
  address: string | undefined;
  ports: Iterable<PortSpec>;
}

function specChangeFilters(before: SpecView | undefined, after: SpecView): ConntrackFilter[] {
  const filters: ConntrackFilter[] = [];
  if (before === after) return filters;
  for (const family of FAMILIES) {
    const was = endpointSides(before, family);
    for (const [key, side] of endpointSides(after, family)) {
      endpointFilters(family, was.get(key), side, before === undefined, filters);
      was.delete(key);
    }
    for (const side of was.values()) endpointFilters(family, side, undefined, false, filters);
  }
  return filters;
}

/** The endpoints of a spec in one family, by bridge and address. */
function endpointSides(spec: SpecView | undefined, family: Family): Map<string, EndpointSide> {
  const sides = new Map<string, EndpointSide>();
  if (!spec?.[family]) return sides;
  for (const network of spec.networks) {
    const model = networkModelOf(network, family, !spec.userlandProxy);
    for (const endpoint of network.endpoints) {
      const address = endpoint[family];
      if (address !== undefined) sides.set(`${network.bridge} ${address}`, { network: model, address, ports: endpoint.ports });
    }
  }
  return sides;
}

/**
 * The filters of one endpoint's change in one family: nothing when its
 * network and ports are as they were (the common case, checked port by port
 * without building anything), else those of the ports only one side lists.
 */
function endpointFilters(
  family: Family, before: EndpointSide | undefined, after: EndpointSide | undefined, beforeUnknown: boolean, filters: ConntrackFilter[],
): void {
  const publish = (port: PortSpec): void => {
    if (port.proto === 'udp' || beforeUnknown) portFilter(family, after!, port, true, filters);
  };
  const sameNetwork = before !== undefined && after !== undefined && JSON.stringify(before.network) === JSON.stringify(after.network);
  if (sameNetwork && samePorts(before.ports, after.ports)) return;
  const counts = new Map<string, { port: PortSpec; count: number }>();
  if (sameNetwork) {
    for (const port of before.ports) {
      const key = portKey(port);
      const entry = counts.get(key) ?? { port, count: 0 };
      entry.count--;
      counts.set(key, entry);
    }
    for (const port of after.ports) {
      const key = portKey(port);
      const entry = counts.get(key) ?? { port, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    for (const { port, count } of counts.values()) {
      if (count > 0) publish(port);
      if (count < 0) portFilter(family, before, port, false, filters);
    }
    return;
  }
  if (before) for (const port of before.ports) portFilter(family, before, port, false, filters);
  if (after) for (const port of after.ports) publish(port);
}

function samePorts(a: Iterable<PortSpec>, b: Iterable<PortSpec>): boolean {
  if (a === b) return true;
  const right = b[Symbol.iterator]();
  for (const port of a) {
    const other = right.next();
    if (other.done || !samePort(port, other.value)) return false;
  }
  return right.next().done === true;
}

function samePort(a: PortSpec, b: PortSpec): boolean {
  return a.proto === b.proto && a.hostIp === b.hostIp && a.hostPort?.first === b.hostPort?.first && a.hostPort?.last === b.hostPort?.last &&
    a.containerPort.first === b.containerPort.first && a.containerPort.last === b.containerPort.last;
}

function portKey(port: PortSpec): string {
  return `${port.proto} ${port.hostIp ?? ''} ${port.hostPort?.first ?? ''}-${port.hostPort?.last ?? ''} ${port.containerPort.first}-${port.containerPort.last}`;
}

/** The filter of a port (a range of bindings) published or unpublished on an endpoint, if it has bindings there. */
function portFilter(family: Family, side: EndpointSide, port: PortSpec, isPublished: boolean, filters: ConntrackFilter[]): void {
  // Internal networks have no bindings (see forEachBindingRun); a port on another family's host address has none here.
  if (!side.network || side.network.internal || side.address === undefined) return;
  const hostAddress = hostAddressIn(port, family);
  if (hostAddress === null) return;
  const span = port.containerPort.last - port.containerPort.first;
  const hostPorts = port.hostPort && { first: port.hostPort.first, last: port.hostPort.first + span };
  if (isPublished) {
    if (hostPorts) filters.push(published(family, port.proto, hostAddress, hostPorts, side.address, port.containerPort.first));
  } else {
    filters.push(unpublished(family, port.proto, hostAddress, hostPorts, side.address, port.containerPort));
  }
}

/** Entries of the host ports that the bindings' DNAT would not have made. */
function published(
  family: Family, proto: PortProtocol, hostAddress: string | undefined, hostPorts: PortRange, containerAddress: string, containerPort: number,
): ConntrackFilter {
  const replySrc = { address: containerAddress, port: containerPort, negated: true };
  const dstTranslated = proto !== 'udp';
  // Two literals, not a spread: this runs once per port published by a first apply.
  return hostAddress === undefined
    ? { family, proto, origDstPorts: hostPorts, replySrc, dstTranslated }
    : { family, proto, origDstPorts: hostPorts, origDst: hostAddress, replySrc, dstTranslated };
}

/** Entries the bindings' rules made: answered by their container ports; without host ports, addressed straight to them. */
function unpublished(
  family: Family, proto: PortProtocol, hostAddress: string | undefined, hostPorts: PortRange | undefined,
  containerAddress: string, containerPorts: PortRange,
): ConntrackFilter {
  const target = { address: containerAddress, port: containerPorts.first, negated: false };
  if (hostPorts === undefined) return { family, proto, origDstPorts: containerPorts, origDst: containerAddress, replySrc: target };
  return { family, proto, origDstPorts: hostPorts, ...(hostAddress === undefined ? {} : { origDst: hostAddress }), replySrc: target };
}
