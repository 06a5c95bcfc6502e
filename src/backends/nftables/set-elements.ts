/**
 * The elements of one set or map in the two forms their uses need: packed as
 * the kernel stores them (what the plan builds, what the read-back gives, what
 * a commit sends, what the diff compares), and as element images by their nft
 * text, made from the packed form only when something is shown, printed or
 * merged element by element. So a set that already holds exactly its
 * elements is found so without a string or an object per element.
 */
import type { NativeVerdict } from '../../native/nft.js';
import { KeyPacker, lengthOf, type KeyPart } from '../../nft/keys.js';
import type { NftDatatype } from '../../nft/constants.js';
import { ElementIndex, sameBytes, type PackedKeys } from './element-index.js';
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
export interface PackedElements extends PackedKeys {
  readonly count: number;
  readonly dataLen?: number | undefined;
  readonly data?: Uint8Array | undefined;
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

  /** The elements numbered `indices` in the packed form, in that order, without what they counted. */
  select(indices: readonly number[]): SetElements {
    const { keyLen, keys, keyEnds, dataLen = 0, data, verdicts } = this.packed;
    const count = indices.length;
    const selected = {
      count, keyLen, keys: new Uint8Array(count * keyLen),
      keyEnds: keyEnds && new Uint8Array(count * keyLen),
      dataLen: data && dataLen, data: data && new Uint8Array(count * dataLen),
      verdicts: verdicts && indices.map((i) => verdicts[i]!),
    };
    indices.forEach((i, n) => {
      selected.keys.set(keys.subarray(i * keyLen, (i + 1) * keyLen), n * keyLen);
      selected.keyEnds?.set(keyEnds!.subarray(i * keyLen, (i + 1) * keyLen), n * keyLen);
      selected.data?.set(data!.subarray(i * dataLen, (i + 1) * dataLen), n * dataLen);
    });
    return new SetElements(this.layout, selected, undefined);
  }
}

/** Whether element `i` of `a` and element `j` of `b`, of one layout, have the same value (data or verdict). */
export function sameValue(a: PackedElements, i: number, b: PackedElements, j: number): boolean {
  if (a.verdicts !== undefined) return a.verdicts[i]!.code === b.verdicts![j]!.code && a.verdicts[i]!.chain === b.verdicts![j]!.chain;
  const length = a.dataLen ?? 0;
  return a.data === undefined || sameBytes(a.data, i * length, b.data!, j * length, length);
}

/**
 * The plan's elements of one set, packed as they are planned. An element
 * planned again (same key) takes the place of the first, with its value, as
 * a map keyed by the element's text would keep it.
 */
export class ElementsPacker implements PackedKeys {
  readonly keyLen: number;
  private readonly packedKeys: KeyPacker;
  private readonly packedEnds: KeyPacker | undefined;
  private readonly values: KeyPacker | undefined;
  private readonly verdicts: NativeVerdict[] | undefined;
  private readonly index = new ElementIndex();

  constructor(private readonly layout: ElementsLayout) {
    this.keyLen = lengthOf(layout.key);
    this.packedKeys = new KeyPacker(layout.key);
    this.packedEnds = layout.interval ? new KeyPacker(layout.key) : undefined;
    this.values = Array.isArray(layout.data) ? new KeyPacker(layout.data) : undefined;
    this.verdicts = layout.data === 'verdict' ? [] : undefined;
  }

  get keys(): Uint8Array {
    return this.packedKeys.buffer;
  }

  get keyEnds(): Uint8Array | undefined {
    return this.packedEnds?.buffer;
  }

  /** `keyEnd`: a set of ranges' closing key (default: the key); `value`: a map's data; `verdict`: a verdict map's. */
  add(key: readonly KeyPart[], keyEnd?: readonly KeyPart[], value?: readonly KeyPart[], verdict?: NativeVerdict): void {
    const added = this.packedKeys.count;
    this.packedKeys.add(key);
    this.packedEnds?.add(keyEnd ?? key);
    const held = this.index.insert(this, added);
    if (held === added) {
      this.values?.add(value!);
      this.verdicts?.push(verdict!);
      return;
    }
    this.packedKeys.pop();
    this.packedEnds?.pop();
    this.values?.set(held, value!);
    if (this.verdicts) this.verdicts[held] = verdict!;
  }

  finish(): SetElements {
    return SetElements.packed(this.layout, {
      count: this.packedKeys.count, keyLen: this.keyLen, keys: this.packedKeys.bytes(), keyEnds: this.packedEnds?.bytes(),
      dataLen: this.values?.length, data: this.values?.bytes(), verdicts: this.verdicts,
    });
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
