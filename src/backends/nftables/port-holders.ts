/**
 * Port elements between writers. Several Firewalls (processes) publishing on
 * one namespace share our table, and the kernel is the only state they share:
 * a host port is held by the mapping the DNAT maps hold for it, and an element
 * keyed by a container port (its forward accept, its hairpin masquerade)
 * serves every DNAT element that targets that container port, whoever wrote
 * it. So a change merged onto what the kernel holds (see merge.ts), read back
 * in the same generation it is committed against, is corrected here:
 *
 * - a host port the change publishes anew that the kernel holds for another
 *   target (or on an overlapping address: every address overlaps each one) is
 *   refused with EADDRINUSE;
 * - a host port whose element holds another value than the one we wrote is
 *   someone else's: neither deleted nor overwritten, and neither are the
 *   elements keyed by that host port (loopback drop, bridge skip);
 * - a container-keyed element is deleted only once no DNAT element left
 *   targets its container port.
 *
 * Two writers publishing the identical mapping share its elements: either
 * one's removal removes it.
 */
import { hostPortHeld } from '../held-port.js';
import type { KeyPart } from '../../nft/keys.js';
import { protocolName } from '../../protocol.js';
import type { ElementImage, SetImage, TableImage } from './image.js';
import { rangeSetOf } from './layout.js';
import { SetElements } from './set-elements.js';

type DnatMap = 'dnat-by-address' | 'dnat-any-address';
const DNAT_MAPS: readonly DnatMap[] = ['dnat-by-address', 'dnat-any-address'];
/** Sets keyed by a host port besides the DNAT maps, with the map whose key ends theirs. */
const HOST_KEYED: Readonly<Record<string, DnatMap>> = {
  'loopback-ports': 'dnat-by-address',
  'dnat-skip-by-address': 'dnat-by-address',
  'dnat-skip-any-address': 'dnat-any-address',
};
/** Sets keyed by a container port (address first, protocol and port last). */
const CONTAINER_KEYED = ['forward-ports', 'hairpin-masquerade'];

type Elements = ReadonlyMap<string, ElementImage>;

/** Corrects `merged` (the change from `before` to `after` made on `current`) in place, or throws EADDRINUSE. */
export function keepOtherWritersPorts(current: TableImage, before: TableImage | undefined, after: TableImage, merged: TableImage): void {
  const elementsOf = (table: TableImage | undefined, set: string): Elements => table?.sets.get(set)?.elements.map ?? NONE;
  /** The merged set's elements to correct, copied once (the merge may share them with the plan or the read-back), packed when the diff compares them, after every correction here. */
  const copies = new Map<string, Map<string, ElementImage>>();
  const output = (set: string): Map<string, ElementImage> | undefined => {
    const image = merged.sets.get(set);
    if (image === undefined) return undefined;
    let elements = copies.get(set);
    if (elements === undefined) {
      elements = new Map(image.elements.map);
      copies.set(set, elements);
      merged.sets.set(set, { ...image, elements: SetElements.of(image, elements) } satisfies SetImage);
    }
    return elements;
  };
  /** The kernel's DNAT elements we did not write, by map, protocol and host port, for the overlap check. */
  const foreignByPort = new Map<string, ElementImage>();
  const foreignHosts = new Set<string>();
  for (const map of DNAT_MAPS) {
    const ours = elementsOf(before, map);
    const wanted = elementsOf(after, map);
    for (const [key, element] of elementsOf(current, map)) {
      const was = ours.get(key);
      if (was?.valueText === element.valueText) continue;
      const will = wanted.get(key);
      if (will !== undefined && will.valueText !== element.valueText && will.valueText !== was?.valueText) throw clash(current, element);
      foreignHosts.add(hostId(map, element.key));
      foreignByPort.set(portId(map, element.key), element);
      output(map)?.set(key, element);
    }
  }
  // Every address overlaps each one: a port new on one map is held by the other map's foreign element too.
  for (const map of DNAT_MAPS) {
    const ours = elementsOf(before, map);
    const other = map === 'dnat-by-address' ? 'dnat-any-address' : 'dnat-by-address';
    for (const [key, element] of elementsOf(after, map)) {
      if (ours.get(key)?.valueText === element.valueText) continue;
      const holder = foreignByPort.get(portId(other, element.key));
      if (holder !== undefined) throw clash(current, holder);
    }
  }
  refuseOverlapsWithRanges(current, before, after);
  for (const [set, map] of Object.entries(HOST_KEYED)) {
    if (foreignHosts.size === 0) break;
    const kernel = elementsOf(current, set);
    for (const key of [...elementsOf(before, set).keys(), ...elementsOf(after, set).keys()]) {
      const element = elementsOf(before, set).get(key) ?? elementsOf(after, set).get(key)!;
      if (!foreignHosts.has(hostId(map, element.key.slice(element.key.length - (map === 'dnat-by-address' ? 3 : 2))))) continue;
      const held = kernel.get(key);
      if (held === undefined) output(set)?.delete(key);
      else output(set)?.set(key, held);
    }
  }
  // Container-keyed elements the merge deletes and the kernel holds: kept while a DNAT element left targets them.
  const deleted = CONTAINER_KEYED.flatMap((set) => {
    const kernel = elementsOf(current, set);
    const kept = elementsOf(merged, set);
    return [...elementsOf(before, set).keys()].flatMap((key) => {
      const held = kernel.get(key);
      return held === undefined || kept.has(key) ? [] : [{ set, key, held }];
    });
  });
  if (deleted.length === 0) return;
  const targets = new Set<string>();
  for (const map of DNAT_MAPS) {
    for (const element of elementsOf(merged, map).values()) targets.add(targetId(element.key.at(-2)!, element.value![0]!, element.value![1]!));
  }
  for (const { set, key, held } of deleted) {
    if (targets.has(targetId(held.key.at(-2)!, held.key[0]!, held.key.at(-1)!))) output(set)?.set(key, held);
  }
}

const NONE: Elements = new Map();
const RANGE_MAPS: ReadonlySet<string> = new Set(DNAT_MAPS.map(rangeSetOf));

/** A DNAT element's host side: its protocol, ports and address (undefined: every address). */
interface HostPorts {
  map: string;
  element: ElementImage;
  proto: KeyPart;
  first: number;
  last: number;
  address: KeyPart | undefined;
}

/**
 * Identity ranges (one interval element, rangeSetOf) live apart from single
 * ports, so the kernel holds a range and a port inside it side by side: a
 * host port the change publishes anew that overlaps another writer's on an
 * overlapping address, where either is a range, is refused (EADDRINUSE).
 * An identical mapping (same key, same target) is shared, as single ports are.
 */
function refuseOverlapsWithRanges(current: TableImage, before: TableImage | undefined, after: TableImage): void {
  const maps = [...DNAT_MAPS, ...RANGE_MAPS];
  const hostPortsOf = (table: TableImage | undefined, ours: TableImage | undefined): HostPorts[] => maps.flatMap((map) => {
    const elements = table?.sets.get(map)?.elements.map ?? NONE;
    const own = ours?.sets.get(map)?.elements.map ?? NONE;
    return [...elements].flatMap(([key, element]) => {
      if (own.get(key)?.valueText === element.valueText) return [];
      const port = element.key.at(-1) as number;
      return [{
        map, element, proto: element.key.at(-2)!, first: port, last: (element.keyEnd?.at(-1) as number | undefined) ?? port,
        address: element.key.length === 3 ? element.key[0] : undefined,
      }];
    });
  });
  const foreign = hostPortsOf(current, before);
  const foreignRanges = foreign.filter((held) => RANGE_MAPS.has(held.map));
  if (foreignRanges.length === 0 && ![...RANGE_MAPS].some((map) => (after.sets.get(map)?.elements.size ?? 0) > 0)) return;
  for (const wanted of hostPortsOf(after, before)) {
    for (const held of RANGE_MAPS.has(wanted.map) ? foreign : foreignRanges) {
      const shared = held.map === wanted.map && held.element.valueText === wanted.element.valueText &&
        held.first === wanted.first && held.last === wanted.last && held.address === wanted.address;
      if (shared || held.proto !== wanted.proto || held.last < wanted.first || wanted.last < held.first) continue;
      if (held.address !== undefined && wanted.address !== undefined && held.address !== wanted.address) continue;
      throw clash(current, held.element, Math.max(held.first, wanted.first));
    }
  }
}


/** A DNAT map's key: [host address,] protocol, host port. */
function hostId(map: DnatMap, key: readonly KeyPart[]): string {
  return `${map} ${key.join(' ')}`;
}

function portId(map: DnatMap, key: readonly KeyPart[]): string {
  return `${map} ${key.at(-2)} ${key.at(-1)}`;
}

function targetId(proto: KeyPart, address: KeyPart, port: KeyPart): string {
  return `${proto} ${address} ${port}`;
}

/** The element's key holds a host address when it has three parts; `port`: the host port held, one of an identity range's, which keeps it as the container port. */
function clash(table: TableImage, element: ElementImage, port = element.key.at(-1) as number): Error {
  const { key, value } = element;
  return hostPortHeld({
    family: table.family === 'ip' ? 'ipv4' : 'ipv6',
    proto: protocolName(key.at(-2) as number),
    hostAddress: key.length === 3 ? String(key[0]) : undefined,
    hostPort: port,
    containerAddress: String(value![0]),
    containerPort: (value![1] as number | undefined) ?? port,
  });
}
