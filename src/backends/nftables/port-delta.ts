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
import type { PortBindingModel } from '../../docker/model.js';
import type { FamilyPortChange } from '../../docker/port-change.js';
import { FAMILIES } from '../../family.js';
import type { Tally } from '../change-counts.js';
import { NftBatch } from '../../nft/batch.js';
import { KeyPacker, type KeyPart } from '../../nft/keys.js';
import { FAMILY_TABLES, setsOf, TABLE } from './layout.js';
import { bindingElements, runElements, type ElementSink, type RunSink } from './plan.js';
import { hostKeyedOnly, rangePieces } from './range-pieces.js';
import { ElementsPacker } from './set-elements.js';

interface SetDelta {
  deleted: KeyPacker;
  /** Interval sets: the closing keys of the deleted elements. */
  deletedEnds?: KeyPacker;
  added: ElementsPacker;
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
        const declaration = declarations[name]!;
        delta = { deleted: new KeyPacker(declaration.key), added: new ElementsPacker(declaration, capacity) };
        if (declaration.interval) delta.deletedEnds = new KeyPacker(declaration.key);
        sets.set(name, delta);
      }
      return delta;
    };
    const deleted = new Set<string>();
    const deleteOnce: ElementSink = (set, key, _value, keyEnd) => {
      const id = identity(set, key, keyEnd);
      if (deleted.has(id)) return;
      deleted.add(id);
      const delta = deltaOf(set);
      delta.deleted.add(key);
      delta.deletedEnds?.add(keyEnd ?? key);
    };
    for (const change of ofFamily) {
      if (change.removed.length === 0) continue;
      const needed = new Set<string>();
      const collect: ElementSink = (set, key, _value, keyEnd) => needed.add(identity(set, key, keyEnd));
      for (const binding of change.kept) bindingElements(change.network.bridge, binding, collect);
      const remove: ElementSink = (set, key, value, keyEnd) => {
        if (!needed.has(identity(set, key, keyEnd))) deleteOnce(set, key, value, keyEnd);
      };
      for (const binding of change.removed) bindingElements(change.network.bridge, binding, wholeOrNot(binding, remove));
    }
    const add: ElementSink = (set, key, value, keyEnd) => deltaOf(set).added.add(key, keyEnd, value);
    const addRun: RunSink = (set, ...run) => deltaOf(set).added.addPortRun(...run);
    for (const change of ofFamily) {
      const bridge = change.network.bridge;
      change.forEachAddedRun((run) => {
        if (run.first.lastPort === undefined) runElements(bridge, run, addRun);
        else bindingElements(bridge, run.first, hostKeyedOnly(add));
      });
    }
    // The pieces of the identity ranges' container ports that the change cuts anew.
    for (const { network, wholeRanges } of ofFamily) {
      if (wholeRanges === undefined) continue;
      const [before, after] = [wholeRanges.before, wholeRanges.after].map((bindings) => {
        const pieces = new Map<string, Parameters<ElementSink>>();
        rangePieces(network.bridge, bindings, (...piece) => pieces.set(identity(piece[0], piece[1], piece[3]), piece));
        return pieces;
      });
      for (const [id, piece] of before!) if (!after!.has(id)) deleteOnce(...piece);
      for (const [id, piece] of after!) if (!before!.has(id)) add(...piece);
    }
    const table = { family: FAMILY_TABLES[family], table: TABLE };
    for (const [set, delta] of sets) {
      if (delta.deleted.count === 0) continue;
      batch.deleteElements({
        ...table, set, keyLen: delta.deleted.length, keys: delta.deleted.bytes(),
        ...(delta.deletedEnds ? { keyEnds: delta.deletedEnds.bytes() } : {}),
      });
    }
    for (const [set, delta] of sets) {
      if (delta.added.count === 0) continue;
      const { keyLen, keys, keyEnds, dataLen, data } = delta.added.asAdded();
      batch.addElements({ ...table, set, keyLen, keys, ...(keyEnds ? { keyEnds } : {}), ...(data ? { dataLen, data } : {}) });
    }
    for (const delta of sets.values()) {
      elements.added += delta.added.count;
      elements.deleted += delta.deleted.count;
    }
  }
  return { batch, elements };
}

/** The sink for a binding's elements: a whole range's container-keyed ones are pieces, changed apart. */
function wholeOrNot(binding: PortBindingModel, sink: ElementSink): ElementSink {
  return binding.lastPort === undefined ? sink : hostKeyedOnly(sink);
}

function identity(set: string, key: readonly KeyPart[], keyEnd: readonly KeyPart[] | undefined): string {
  return keyEnd === undefined ? `${set} ${key.join(' ')}` : `${set} ${key.join(' ')}-${keyEnd.join(' ')}`;
}
