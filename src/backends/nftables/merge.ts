/**
 * An imperative change applied on top of what the kernel holds, the nftables
 * counterpart of the iptables merge: the elements the change drops are
 * deleted, the elements it needs are added (or get their new value), and every
 * other element, whoever wrote it, stays. Port mappings are elements, so a
 * change of ports is an element delta only; what another writer's mappings
 * hold or need stays theirs (port-holders.ts). Chains the change releases go;
 * our chains it does not mention stay as the kernel holds them.
 */
import type { ElementImage, SetImage, TableImage } from './image.js';
import { keepOtherWritersPorts } from './port-holders.js';
import { SetElements } from './set-elements.js';

/**
 * The table `current` (null: none) becomes when the change from `before` to
 * `after` (undefined: the family is not planned) is made on it; undefined when
 * the change leaves nothing of ours planned there. Throws EADDRINUSE when the
 * change publishes a host port another writer holds.
 */
export function mergeImage(current: TableImage | null, before: TableImage | undefined, after: TableImage | undefined): TableImage | undefined {
  if (after === undefined) return before === undefined ? current ?? undefined : undefined;
  if (current === null) return after;
  const merged: TableImage = { family: after.family, name: after.name, chains: new Map(current.chains), sets: new Map() };
  for (const name of before?.chains.keys() ?? []) if (!after.chains.has(name)) merged.chains.delete(name);
  for (const chain of after.chains.values()) if (!chain.userOwned || !merged.chains.has(chain.name)) merged.chains.set(chain.name, chain);
  for (const set of after.sets.values()) merged.sets.set(set.name, mergeSet(current.sets.get(set.name), before?.sets.get(set.name), set));
  for (const set of current.sets.values()) if (!merged.sets.has(set.name) && !before?.sets.has(set.name)) merged.sets.set(set.name, set);
  keepOtherWritersPorts(current, before, after, merged);
  return merged;
}

function mergeSet(current: SetImage | undefined, before: SetImage | undefined, after: SetImage): SetImage {
  if (current === undefined) return after;
  const wanted = after.elements.map;
  const elements = new Map<string, ElementImage>(current.elements.map);
  for (const key of before?.elements.map.keys() ?? []) if (!wanted.has(key)) elements.delete(key);
  for (const [key, element] of wanted) elements.set(key, element);
  return { ...after, elements: SetElements.of(after, elements) };
}
