/**
 * A port call's change as bindings, per family, built with the model's own
 * functions from the ports the call added or removed: the cost is that of the
 * call's ports, however many the spec holds. A backend that keeps port
 * mappings apart from the rest (nftables: map elements) commits just this.
 */
import { FAMILIES } from '../family.js';
import type { PortEdit } from '../held/held-spec.js';
import { portCount } from '../held/ledger.js';
import type { PackedSpec } from '../held/packed.js';
import { PortList } from '../held/port-list.js';
import type { PortSpec } from '../input/types.js';
import {
  bindingsIn, forEachBindingRun, holdsRangesWhole, isIdentityRange, networkModelOf, type BindingRun, type NetworkModel, type PortBindingModel,
} from './model.js';

/** In no particular order; a binding may come twice (see forEachBindingRun). */
export interface FamilyPortChange {
  /** The network's model without endpoints. */
  network: NetworkModel;
  /** Visits the added bindings as runs (see BindingRun), built as they are visited: a bulk call never holds all its bindings at once. */
  forEachAddedRun(visit: (run: BindingRun) => void): void;
  /** How many `added` yields at most, to size buffers once. */
  addedCount: number;
  removed: PortBindingModel[];
  /**
   * The endpoint's bindings left on the removed bindings' container ports:
   * what they share with a removed one (the forward accept of the container
   * port, its hairpin masquerade) must stay.
   */
  kept: PortBindingModel[];
  /**
   * When the change publishes or unpublishes an identity range held whole:
   * the endpoint's whole ranges before and after it, whose container-keyed
   * elements are cut where they overlap (nftables: range-pieces.ts).
   */
  wholeRanges?: { before: PortBindingModel[]; after: PortBindingModel[] };
}

export function portChangeOf(spec: PackedSpec, edit: PortEdit): FamilyPortChange[] {
  const hairpin = !spec.userlandProxy;
  const wholeRanges = holdsRangesWhole(spec);
  const { published, unpublished } = wholeRanges ? replacingWholeRanges(edit) : { published: edit.added, unpublished: edit.unpublished };
  let addedCount = 0;
  let touchesWholeRanges = wholeRanges && unpublished.some(isIdentityRange);
  for (const port of published) {
    const whole = wholeRanges && isIdentityRange(port);
    addedCount += whole ? 1 : portCount(port);
    touchesWholeRanges ||= whole;
  }
  const around = touchesWholeRanges ? identityRangesAround(edit) : undefined;
  const changes: FamilyPortChange[] = [];
  for (const family of FAMILIES) {
    const address = edit.endpoint[family];
    const network = spec[family] && address !== undefined ? networkModelOf(edit.network, family, hairpin) : undefined;
    if (!network || address === undefined) continue;
    const forEachAddedRun = (visit: (run: BindingRun) => void) => forEachBindingRun(published, address, network, hairpin, wholeRanges, visit);
    const { removed, kept } = unpublished.length === 0 ? NOTHING_REMOVED : removal(edit, unpublished, address, network, hairpin, wholeRanges);
    if (addedCount === 0 && removed.length === 0) continue;
    const change: FamilyPortChange = { network, forEachAddedRun, addedCount, removed, kept };
    if (around) {
      const bindings = (ports: readonly PortSpec[]) => bindingsIn(ports, address, network, hairpin, true);
      change.wholeRanges = { before: bindings(around.before), after: bindings(around.after) };
    }
    changes.push(change);
  }
  return changes;
}

const NOTHING_REMOVED: Pick<FamilyPortChange, 'removed' | 'kept'> = { removed: [], kept: [] };

function removal(
  edit: PortEdit, removedPorts: readonly PortSpec[], address: string, network: NetworkModel, hairpin: boolean, wholeRanges: boolean,
): Pick<FamilyPortChange, 'removed' | 'kept'> {
  const kept = bindingsIn(edit.endpoint.ports.sharingContainerPorts(removedPorts), address, network, hairpin, wholeRanges);
  // A port listed twice leaves its binding bound while one listing is left.
  const keptKeys = new Set(kept.map((binding) => binding.key));
  const removed = bindingsIn(removedPorts, address, network, hairpin, wholeRanges).filter((binding) => !keptKeys.has(binding.key));
  return { removed, kept };
}

/**
 * The ports an edit publishes and unpublishes where identity ranges are
 * whole bindings: a range partly unpublished is one binding no longer held,
 * so it goes whole and what is left of it is published anew (its own
 * ranges, or single ports), instead of unpublishing the ports asked for.
 */
function replacingWholeRanges(edit: PortEdit): { published: PortList; unpublished: readonly PortSpec[] } {
  const replaced = edit.removed.map(({ port }) => port).filter(isIdentityRange);
  if (replaced.length === 0) return { published: edit.added, unpublished: edit.unpublished };
  const ofReplaced = (piece: PortSpec): boolean => replaced.some((whole) => within(piece, whole));
  return {
    published: PortList.of([...edit.left].filter(ofReplaced).concat([...edit.added])),
    unpublished: [...edit.unpublished.filter((piece) => !ofReplaced(piece)), ...replaced],
  };
}

/** Whether `piece` is part of the identity range `whole`: an address-less range's pieces may be its families' halves. */
function within(piece: PortSpec, whole: PortSpec): boolean {
  return piece.proto === whole.proto && (piece.hostIp === whole.hostIp || whole.hostIp === undefined) &&
    whole.containerPort.first <= piece.containerPort.first && piece.containerPort.last <= whole.containerPort.last &&
    piece.hostPort?.first === piece.containerPort.first && piece.hostPort.last === piece.containerPort.last;
}

/** The endpoint's identity ranges after the edit, and before it: without what the edit appended, with what it took out. */
function identityRangesAround(edit: PortEdit): { before: PortSpec[]; after: PortSpec[] } {
  const key = (port: PortSpec) => `${port.proto} ${port.hostIp ?? ''} ${port.containerPort.first}-${port.containerPort.last}`;
  const after = [...edit.endpoint.ports].filter(isIdentityRange);
  const appended = new Map<string, number>();
  for (const port of [...edit.left, ...edit.added]) if (isIdentityRange(port)) appended.set(key(port), (appended.get(key(port)) ?? 0) + 1);
  const before = after.filter((port) => {
    const count = appended.get(key(port)) ?? 0;
    if (count > 0) appended.set(key(port), count - 1);
    return count === 0;
  });
  for (const { port } of edit.removed) if (isIdentityRange(port)) before.push(port);
  return { before, after };
}
