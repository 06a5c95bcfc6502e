/**
 * Per-binding counters of the nftables layout: the counters of the elements
 * each binding puts in the DNAT maps and the forward-ports set (sets declared
 * with a counter, see layout.ts), read back with the table.
 */
import type { Family } from '../../family.js';
import type { FirewallModel } from '../../docker/model.js';
import type { KeyPart } from '../../nft/keys.js';
import { countBindings, type BindingCounters, type CountedBinding, type PacketCounter } from '../counters.js';
import { partsText } from './elements.js';
import type { TableImage } from './image.js';
import { rangeSetOf } from './layout.js';
import { bindingElements } from './plan.js';

/** The DNAT maps and the forward-ports set, and their identity ranges' counterparts. */
const DNAT_MAPS = new Set(['dnat-by-address', 'dnat-any-address'].flatMap((name) => [name, rangeSetOf(name)]));
const FORWARD_SETS = new Set(['forward-ports', rangeSetOf('forward-ports')]);

/** Every binding of the model, with the counters of its elements in `tables` (null: the family's table is missing). */
export function bindingCounters(model: FirewallModel, tables: Readonly<Record<Family, TableImage | null>>): BindingCounters[] {
  return countBindings(model, (family, network, binding) => {
    const table = tables[family];
    const counted: CountedBinding = {};
    bindingElements(network.bridge, binding, (set, key, value, keyEnd) => {
      if (table === null || (!DNAT_MAPS.has(set) && !FORWARD_SETS.has(set))) return;
      const counter = counterOf(table, set, key, value, keyEnd);
      if (counter === undefined) return;
      if (FORWARD_SETS.has(set)) counted.forwarded = counter;
      else counted.dnat = counter;
    });
    return counted;
  });
}

/**
 * The counter of the element `key` (an identity range's: to `keyEnd`) of
 * `set`, if the kernel holds it with this value (else it is someone else's).
 */
function counterOf(
  table: TableImage, name: string, key: readonly KeyPart[], value: readonly KeyPart[] | undefined, keyEnd: readonly KeyPart[] | undefined,
): PacketCounter | undefined {
  const set = table.sets.get(name);
  const element = set?.elements.map.get(partsText(set.key, key, keyEnd));
  if (!set || !element) return undefined;
  if (value !== undefined && Array.isArray(set.data) && element.valueText !== partsText(set.data, value)) return undefined;
  return element.counter;
}
