/**
 * The elements of one set or map in the two forms their uses need: packed as
 * the kernel stores them (what the plan builds, what the read-back gives, what
 * a commit sends, what the diff compares), and as element images by their nft
 * text, made from the packed form only when something is shown, printed or
 * merged element by element. So a set that already holds exactly its
 * elements is found so without a string or an object per element.
 */
import type { NativeVerdict } from '../../native/nft.js';
import { matchElements, otherValue, type PackedElements as PackedBytes } from '../../nft/elements.js';
import { KeyPacker, type KeyPart } from '../../nft/keys.js';
import type { NftDatatype } from '../../nft/constants.js';
import { decodeElements } from './elements.js';
import type { ElementImage, SetData } from './image.js';

/** What the packed form of a set's elements depends on: its key, its map data, whether its elements are ranges. */
export interface ElementsLayout {
  readonly key: readonly NftDatatype[];
  readonly data?: SetData | undefined;
  readonly interval?: boolean | undefined;
}

/**
 * `count` elements packed: keys (and, in a set of ranges, closing keys) of
 * keyLen bytes each, data of dataLen bytes each (maps) or a verdict each
 * (verdict maps), and what each counted when read back from a set with a
 * counter (packets and bytes, u64 big endian). The read-back's NativeSet is one.
 */
export interface PackedElements extends PackedBytes {
  readonly verdicts?: readonly NativeVerdict[] | undefined;
  readonly counters?: Buffer | undefined;
}

export class SetElements {
  private constructor(
    private readonly layout: ElementsLayout,
    private packedForm: PackedElements | undefined,
    private mapForm: ReadonlyMap<string, ElementImage> | undefined,
  ) {}

  static empty(layout: ElementsLayout): SetElements {
    return new SetElements(layout, undefined, new Map());
  }

  /** Elements packed; in a set of ranges, an element the kernel gave no closing key closes with its key. */
  static packed(layout: ElementsLayout, packed: PackedElements): SetElements {
    return new SetElements(layout, layout.interval && packed.keyEnds === undefined ? { ...packed, keyEnds: packed.keys } : packed, undefined);
  }

  /** Elements by their nft text (a merge's): packed when first compared or committed. */
  static of(layout: ElementsLayout, elements: ReadonlyMap<string, ElementImage>): SetElements {
    return new SetElements(layout, undefined, elements);
  }

  get size(): number {
    return this.packedForm?.count ?? this.mapForm!.size;
  }

  /** By their nft text, in the packed form's order. */
  get map(): ReadonlyMap<string, ElementImage> {
    return (this.mapForm ??= decodeElements(this.packedForm!, this.layout.key, this.layout.data));
  }

  get packed(): PackedElements {
    return (this.packedForm ??= pack(this.layout, this.mapForm!));
  }

  /** For each of these elements, the one of `have` (of this layout) with its key, or null when both hold the same: as matchElements tells. */
  matchesIn(have: SetElements): Int32Array | null {
    if (this.layout.data !== 'verdict') return matchElements(have.packed, this.packed);
    const chains = new Map<string, number>();
    return matchElements(verdictsAsData(have.packed, chains), verdictsAsData(this.packed, chains));
  }

  /**
   * The elements numbered `indices` in the packed form, in that order,
   * without what they counted; `values[n]`: the element whose value the
   * n-th takes (default: its own).
   */
  select(indices: ArrayLike<number>, values: ArrayLike<number> = indices): SetElements {
    const { keyLen, keys, keyEnds, dataLen = 0, data, verdicts } = this.packed;
    const count = indices.length;
    const selected = {
      count, keyLen, keys: new Uint8Array(count * keyLen),
      keyEnds: keyEnds && new Uint8Array(count * keyLen),
      dataLen: data && dataLen, data: data && new Uint8Array(count * dataLen),
      verdicts: verdicts && Array.from(values, (i) => verdicts[i]!),
    };
    for (let n = 0; n < count; n++) {
      const [i, v] = [indices[n]!, values[n]!];
      selected.keys.set(keys.subarray(i * keyLen, (i + 1) * keyLen), n * keyLen);
      selected.keyEnds?.set(keyEnds!.subarray(i * keyLen, (i + 1) * keyLen), n * keyLen);
      selected.data?.set(data!.subarray(v * dataLen, (v + 1) * dataLen), n * dataLen);
    }
    return new SetElements(this.layout, selected, undefined);
  }
}

/** A verdict map's elements with each verdict as data (its code, and its chain's number in `chains`), for matchElements. */
function verdictsAsData(packed: PackedElements, chains: Map<string, number>): PackedBytes {
  const data = new DataView(new ArrayBuffer(packed.count * 8));
  packed.verdicts!.forEach(({ code, chain }, i) => {
    let number = chain === undefined ? 0 : chains.get(chain);
    if (number === undefined) chains.set(chain!, (number = chains.size + 1));
    data.setInt32(i * 8, code);
    data.setUint32(i * 8 + 4, number);
  });
  return { count: packed.count, keyLen: packed.keyLen, keys: packed.keys, keyEnds: packed.keyEnds, dataLen: 8, data: new Uint8Array(data.buffer) };
}

/**
 * The plan's elements of one set, packed as they are planned. An element
 * planned again (same key) keeps the first one's place with the last one's
 * value, as a map keyed by the element's text would.
 */
export class ElementsPacker {
  private readonly keys: KeyPacker;
  private readonly ends: KeyPacker | undefined;
  private readonly values: KeyPacker | undefined;
  private readonly verdicts: NativeVerdict[] | undefined;

  /** `capacity`: the elements the buffers are sized for at first. */
  constructor(private readonly layout: ElementsLayout, capacity?: number) {
    this.keys = new KeyPacker(layout.key, capacity);
    this.ends = layout.interval ? new KeyPacker(layout.key, capacity) : undefined;
    this.values = Array.isArray(layout.data) ? new KeyPacker(layout.data, capacity) : undefined;
    this.verdicts = layout.data === 'verdict' ? [] : undefined;
  }

  get count(): number {
    return this.keys.count;
  }

  /** `keyEnd`: a set of ranges' closing key (default: the key); `value`: a map's data; `verdict`: a verdict map's. */
  add(key: readonly KeyPart[], keyEnd?: readonly KeyPart[], value?: readonly KeyPart[], verdict?: NativeVerdict): void {
    this.keys.add(key);
    this.ends?.add(keyEnd ?? key);
    this.values?.add(value!);
    this.verdicts?.push(verdict!);
  }

  /**
   * Adds one element a port: each key is `keyPrefix` and the port, each
   * value (a map's) `valuePrefix` and the value port of the same place.
   */
  addPortRun(keyPrefix: readonly KeyPart[], ports: readonly number[], valuePrefix?: readonly KeyPart[], valuePorts?: readonly number[]): void {
    this.keys.addPortRun(keyPrefix, ports);
    this.ends?.addPortRun(keyPrefix, ports);
    if (this.values) this.values.addPortRun(valuePrefix!, valuePorts!);
  }

  /** The elements as added, an element added twice twice (views of the buffers, not copies). */
  asAdded(): PackedElements {
    return {
      count: this.keys.count, keyLen: this.keys.length, keys: this.keys.bytes(), keyEnds: this.ends?.bytes(),
      dataLen: this.values?.length, data: this.values?.bytes(), verdicts: this.verdicts,
    };
  }

  /** The elements as planned: an element added again keeps its first place and takes its last value. */
  finish(): SetElements {
    const planned = SetElements.packed(this.layout, this.asAdded());
    // Matched with themselves, elements find the first of their key: planned again where that is another.
    const matches = planned.matchesIn(planned);
    if (matches === null) return planned;
    const kept: number[] = [];
    const last = new Map<number, number>();
    matches.forEach((match, j) => {
      const first = match >= 0 ? match : otherValue(match);
      if (first === j) kept.push(j);
      last.set(first, j);
    });
    return planned.select(kept, kept.map((first) => last.get(first)!));
  }
}

function pack(layout: ElementsLayout, elements: ReadonlyMap<string, ElementImage>): PackedElements {
  const keys = new KeyPacker(layout.key, elements.size);
  const ends = layout.interval ? new KeyPacker(layout.key, elements.size) : undefined;
  const values = Array.isArray(layout.data) ? new KeyPacker(layout.data, elements.size) : undefined;
  const verdicts = layout.data === 'verdict' ? [] as NativeVerdict[] : undefined;
  for (const element of elements.values()) {
    keys.add(element.key);
    ends?.add(element.keyEnd ?? element.key);
    values?.add(element.value!);
    verdicts?.push(element.verdict!);
  }
  return {
    count: keys.count, keyLen: keys.length, keys: keys.bytes(), keyEnds: ends?.bytes(),
    dataLen: values?.length, data: values?.bytes(), verdicts,
  };
}
