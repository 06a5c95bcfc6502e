/**
 * Per-binding counters of the nftables layout: the counters of the elements
 * each binding puts in the DNAT maps and the forward-ports set (sets declared
 * with a counter, see layout.ts), read back with the table.
 */
import type { FirewallModel } from '../../docker/model.js';
import type { Family } from '../../family.js';
import type { KeyPart } from '../../nft/keys.js';
import { countBindings, type BindingCounters, type CountedBinding, type PacketCounter } from '../counters.js';
import { partsText } from './elements.js';
import type { TableImage } from './image.js';
import { bindingElements } from './plan.js';

const DNAT_MAPS = new Set(['dnat-by-address', 'dnat-any-address']);
const FORWARD_SET = 'forward-ports';

/** Every binding of the model, with the counters of its elements in `tables` (null: the family's table is missing). */
export function bindingCounters(model: FirewallModel, tables: Readonly<Record<Family, TableImage | null>>): BindingCounters[] {
  return countBindings(model, (family, network, binding) => {
    const table = tables[family];
    const counted: CountedBinding = {};
    bindingElements(network.bridge, binding, (set, key, value) => {
      if (table === null || (!DNAT_MAPS.has(set) && set !== FORWARD_SET)) return;
      const counter = counterOf(table, set, key, value);
      if (counter === undefined) return;
      if (set === FORWARD_SET) counted.forwarded = counter;
      else counted.dnat = counter;
    });
    return counted;
  });
}

/** The counter of the element `key` of `set`, if the kernel holds it with this value (else it is someone else's). */
function counterOf(table: TableImage, name: string, key: readonly KeyPart[], value: readonly KeyPart[] | undefined): PacketCounter | undefined {
  const set = table.sets.get(name);
  const element = set?.elements.get(partsText(set.key, key));
  if (!set || !element) return undefined;
  if (value !== undefined && Array.isArray(set.data) && element.valueText !== partsText(set.data, value)) return undefined;
  return element.counter;
}
