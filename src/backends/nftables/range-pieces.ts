/**
 * The container-keyed elements of identity ranges (their forward accept and
 * hairpin masquerade, keyed by container address, protocol and port). Host
 * ports never overlap (the spec's ledger refuses it), so each range's
 * host-keyed elements are its own; but two identity ranges of one container
 * on two host addresses may overlap in container ports, and an interval set
 * refuses an element that overlaps another (EEXIST). So these elements are
 * the ranges' container ports cut wherever one of them begins or ends: one
 * element per piece some range covers, shared by the ranges that cover it.
 * A range that overlaps no other is one piece, itself.
 */
import type { PortBindingModel } from '../../docker/model.js';
import type { KeyPart } from '../../nft/keys.js';
import { rangeSetOf } from './layout.js';
import { bindingElements, type ElementSink } from './plan.js';

const PIECED: ReadonlySet<string> = new Set([rangeSetOf('forward-ports'), rangeSetOf('hairpin-masquerade')]);

/** `emit` but for the pieced elements: a whole range's host-keyed elements. */
export function hostKeyedOnly(emit: ElementSink): ElementSink {
  return (set, key, value, keyEnd) => {
    if (!PIECED.has(set)) emit(set, key, value, keyEnd);
  };
}

/** The pieced elements of the identity ranges among `bindings` (those of one container). */
export function rangePieces(bridge: string, bindings: Iterable<PortBindingModel>, emit: ElementSink): void {
  const groups = new Map<string, { set: string; prefix: readonly KeyPart[]; ranges: [number, number][] }>();
  const collect: ElementSink = (set, key, _value, keyEnd) => {
    if (!PIECED.has(set)) return;
    // Every key ends with the port.
    const prefix = key.slice(0, -1);
    const id = `${set} ${prefix.join(' ')}`;
    let group = groups.get(id);
    if (group === undefined) groups.set(id, group = { set, prefix, ranges: [] });
    group.ranges.push([key.at(-1) as number, keyEnd!.at(-1) as number]);
  };
  for (const binding of bindings) if (binding.lastPort !== undefined) bindingElements(bridge, binding, collect);
  for (const { set, prefix, ranges } of groups.values()) {
    for (const [first, last] of pieces(ranges)) emit(set, [...prefix, first], undefined, [...prefix, last]);
  }
}

/** The ranges cut where any of them begins or ends after another's end: the pieces some range covers. */
function pieces(ranges: readonly [number, number][]): [number, number][] {
  const bounds = [...new Set(ranges.flatMap(([first, last]) => [first, last + 1]))].sort((a, b) => a - b);
  const covered: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!;
    if (ranges.some(([first, last]) => first <= start && start <= last)) covered.push([start, bounds[i + 1]! - 1]);
  }
  return covered;
}
