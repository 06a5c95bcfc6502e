/**
 * Port changes as element operations, packed straight into one batch: for
 * each set of each family, one deletion message and one addition message,
 * whatever the number of calls that were merged. Deletions come first, so an
 * element deleted and added again (a port published anew with another
 * target) ends added; an element another binding still needs (a container
 * port forwarded for two host ports) is not deleted; an element deleted by two
 * changes is deleted once. Built only while the kernel holds exactly what this
 * Firewall last committed, so the bindings of its own spec are all there is.
 */
import type { FamilyPortChange } from '../../docker/port-change.js';
import { FAMILIES } from '../../family.js';
import type { Tally } from '../change-counts.js';
import { NftBatch } from '../../nft/batch.js';
import { KeyPacker, type KeyPart } from '../../nft/keys.js';
import { FAMILY_TABLES, setsOf, TABLE } from './layout.js';
import { bindingElements, type ElementSink } from './plan.js';

interface SetDelta {
  deleted: KeyPacker;
  added: KeyPacker;
  values?: KeyPacker;
}

export interface PortDeltaBatch {
  batch: NftBatch;
  /** Elements added and deleted. */
  elements: Tally;
}

export function portDeltaBatch(changes: readonly FamilyPortChange[]): PortDeltaBatch {
  const batch = new NftBatch();
  const elements: Tally = { added: 0, deleted: 0 };
  for (const family of FAMILIES) {
    const ofFamily = changes.filter((change) => change.network.family === family);
    if (ofFamily.length === 0) continue;
    const sets = new Map<string, SetDelta>();
    const declarations = setsOf(family);
    // A binding adds at most one element to each set: buffers sized once.
    const capacity = ofFamily.reduce((count, change) => count + change.addedCount, 0);
    const deltaOf = (name: string): SetDelta => {
      let delta = sets.get(name);
      if (delta === undefined) {
        const { key, data } = declarations[name]!;
        delta = { deleted: new KeyPacker(key), added: new KeyPacker(key, capacity) };
        if (Array.isArray(data)) delta.values = new KeyPacker(data, capacity);
        sets.set(name, delta);
      }
      return delta;
    };
    const deleted = new Set<string>();
    for (const change of ofFamily) {
      if (change.removed.length === 0) continue;
      const needed = new Set<string>();
      const collect: ElementSink = (set, key) => needed.add(identity(set, key));
      for (const binding of change.kept) bindingElements(change.network.bridge, binding, collect);
      const remove: ElementSink = (set, key) => {
        const id = identity(set, key);
        if (needed.has(id) || deleted.has(id)) return;
        deleted.add(id);
        deltaOf(set).deleted.add(key);
      };
      for (const binding of change.removed) bindingElements(change.network.bridge, binding, remove);
    }
    const add: ElementSink = (set, key, value) => {
      const delta = deltaOf(set);
      delta.added.add(key);
      if (value) delta.values!.add(value);
    };
    for (const change of ofFamily) {
      for (const binding of change.added) bindingElements(change.network.bridge, binding, add);
    }
    const table = { family: FAMILY_TABLES[family], table: TABLE };
    for (const [set, delta] of sets) {
      if (delta.deleted.count > 0) batch.deleteElements({ ...table, set, keyLen: delta.deleted.length, keys: delta.deleted.bytes() });
    }
    for (const [set, delta] of sets) {
      if (delta.added.count === 0) continue;
      batch.addElements({
        ...table, set, keyLen: delta.added.length, keys: delta.added.bytes(),
        ...(delta.values ? { dataLen: delta.values.length, data: delta.values.bytes() } : {}),
      });
    }
    for (const delta of sets.values()) {
      elements.added += delta.added.count;
      elements.deleted += delta.deleted.count;
    }
  }
  return { batch, elements };
}

function identity(set: string, key: readonly KeyPart[]): string {
  return `${set} ${key.join(' ')}`;
}
