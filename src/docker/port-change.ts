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
import { eachBinding, networkModelOf, type NetworkModel, type PortBindingModel } from './model.js';

/** In no particular order; a binding may come twice (see eachBinding). */
export interface FamilyPortChange {
  /** The network's model without endpoints. */
  network: NetworkModel;
  /** Built as they are iterated: a bulk call never holds all its bindings at once. */
  added: Iterable<PortBindingModel>;
  /** How many `added` yields at most, to size buffers once. */
  addedCount: number;
  removed: PortBindingModel[];
  /**
   * The endpoint's bindings left on the removed bindings' container ports:
   * what they share with a removed one (the forward accept of the container
   * port, its hairpin masquerade) must stay.
   */
  kept: PortBindingModel[];
}

export function portChangeOf(spec: PackedSpec, edit: PortEdit): FamilyPortChange[] {
  const hairpin = !spec.userlandProxy;
  let addedCount = 0;
  for (const port of edit.added) addedCount += portCount(port);
  const changes: FamilyPortChange[] = [];
  for (const family of FAMILIES) {
    const address = edit.endpoint[family];
    const network = spec[family] && address !== undefined ? networkModelOf(edit.network, family, hairpin) : undefined;
    if (!network || address === undefined) continue;
    const added = { [Symbol.iterator]: () => eachBinding(edit.added, address, network, hairpin) };
    const { removed, kept } = edit.unpublished.length === 0 ? NOTHING_REMOVED : removal(edit, address, network, hairpin);
    if (addedCount > 0 || removed.length > 0) changes.push({ network, added, addedCount, removed, kept });
  }
  return changes;
}

const NOTHING_REMOVED: Pick<FamilyPortChange, 'removed' | 'kept'> = { removed: [], kept: [] };

function removal(edit: PortEdit, address: string, network: NetworkModel, hairpin: boolean): Pick<FamilyPortChange, 'removed' | 'kept'> {
  const removedPorts = edit.unpublished;
  const kept = [...eachBinding(edit.endpoint.ports.sharingContainerPorts(removedPorts), address, network, hairpin)];
  // A port listed twice leaves its binding bound while one listing is left.
  const keptKeys = new Set(kept.map((binding) => binding.key));
  const removed = [...eachBinding(removedPorts, address, network, hairpin)].filter((binding) => !keptKeys.has(binding.key));
  return { removed, kept };
}
