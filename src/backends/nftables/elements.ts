/**
 * Set and map elements between three forms: the parts the plan writes
 * (`['198.18.1.2', 6, 80]`), the nft text they are shown, printed and
 * merged by (`198.18.1.2 . tcp . 80`), and the packed bytes they are
 * planned, read back and compared as (set-elements.ts).
 */
import { formatAddressAt } from '../../address.js';
import type { NativeSet, NativeVerdict } from '../../native/nft.js';
import { DATA_VERDICT, DATATYPE, DATATYPE_LEN, SET_FLAG, VERDICT, type NftDatatype } from '../../nft/constants.js';
import { lengthOf, type KeyPart } from '../../nft/keys.js';
import type { ElementImage, SetData } from './image.js';
import type { PackedElements } from './set-elements.js';
import { protocolName } from '../../protocol.js';

const TYPE_NAMES = new Map<number, NftDatatype>(Object.entries(DATATYPE).map(([name, n]) => [n, name as NftDatatype]));
const VERDICT_NAMES = new Map<number, string>(Object.entries(VERDICT).map(([name, code]) => [code, name]));


function partText(type: NftDatatype, part: KeyPart): string {
  if (type === 'ifname' || type === 'string') return JSON.stringify(part);
  if (type === 'inet_proto') return protocolName(part as number);
  return String(part);
}

/** `198.18.1.2 . tcp . 80`; with the closing key of a range, `198.18.1.2 . tcp . 10000-20000`, as nft prints it. */
export function partsText(types: readonly NftDatatype[], parts: readonly KeyPart[], ends?: readonly KeyPart[]): string {
  return parts.map((part, i) => {
    const text = partText(types[i]!, part);
    return ends === undefined || ends[i] === part ? text : `${text}-${partText(types[i]!, ends[i]!)}`;
  }).join(' . ');
}

export function verdictText(verdict: NativeVerdict): string {
  const name = VERDICT_NAMES.get(verdict.code) ?? String(verdict.code);
  return verdict.chain === undefined ? name : `${name} ${verdict.chain}`;
}

/** The element's value text for a map with `data`, or undefined for a plain set. */
export function valueTextOf(data: SetData | undefined, element: Omit<ElementImage, 'valueText'>): string | undefined {
  if (data === undefined) return undefined;
  if (data === 'verdict') return verdictText(element.verdict!);
  return partsText(data, element.value!);
}

/** `ipv4_addr . inet_service` from nft's datatype number, 6 bits per component. */
export function datatypesOf(combined: number): NftDatatype[] | undefined {
  const types: NftDatatype[] = [];
  for (let rest = combined; rest > 0; rest = Math.floor(rest / 64)) {
    const type = TYPE_NAMES.get(rest % 64);
    if (type === undefined) return undefined;
    types.unshift(type);
  }
  return types;
}

/** The part of `type` at `offset` in `bytes`, whose element ends at `end`: read in place (a set holds thousands). */
function decodePart(type: NftDatatype, bytes: Buffer, offset: number, end: number): KeyPart {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return formatAddressAt(bytes, offset, DATATYPE_LEN[type]);
    case 'inet_service':
      return (bytes[offset]! << 8) | bytes[offset + 1]!;
    case 'inet_proto':
      return bytes[offset]!;
    case 'ifname':
    case 'string': {
      const nul = bytes.indexOf(0, offset);
      return bytes.toString('utf8', offset, nul === -1 || nul > end ? end : nul);
    }
    default:
      return bytes.readUInt32LE(offset);
  }
}

/** The parts of the element from `start` to `end` in `bytes`. */
function decodeParts(types: readonly NftDatatype[], bytes: Buffer, start: number, end: number): KeyPart[] {
  const parts: KeyPart[] = [];
  let offset = start;
  for (const type of types) {
    parts.push(decodePart(type, bytes, offset, end));
    offset += types.length === 1 ? DATATYPE_LEN[type] : (DATATYPE_LEN[type] + 3) & ~3;
  }
  return parts;
}

/**
 * The declaration of a set read back (types, interval, counter), or
 * undefined when its types are not ones we write, or are packed in other
 * lengths than ours (then its elements could not be compared with ours).
 */
export function declarationOf(set: NativeSet): { key: NftDatatype[]; data?: SetData; interval?: boolean; counter?: boolean } | undefined {
  const key = datatypesOf(set.keyType);
  if (key === undefined || set.keyLen !== lengthOf(key)) return undefined;
  const declared = { key, ...((set.flags & SET_FLAG.interval) !== 0 ? { interval: true } : {}), ...(set.counter ? { counter: true } : {}) };
  if (set.dataType === undefined) return declared;
  if (set.dataType === DATA_VERDICT) return { ...declared, data: 'verdict' };
  const data = datatypesOf(set.dataType);
  return data === undefined || set.dataLen !== lengthOf(data) ? undefined : { ...declared, data };
}

/** Packed elements by their text, each with its parts, its value and what it counted. */
export function decodeElements(packed: PackedElements, key: readonly NftDatatype[], data: SetData | undefined): Map<string, ElementImage> {
  const { count, keyLen, dataLen = 0, counters } = packed;
  const [keys, keyEnds, values] = [packed.keys, packed.keyEnds, packed.data].map((bytes) => bytes && asBuffer(bytes));
  const elements = new Map<string, ElementImage>();
  for (let i = 0; i < count; i++) {
    const parts = decodeParts(key, keys!, i * keyLen, (i + 1) * keyLen);
    const element: ElementImage = { key: parts };
    if (keyEnds) element.keyEnd = decodeParts(key, keyEnds, i * keyLen, (i + 1) * keyLen);
    if (data === 'verdict') element.verdict = packed.verdicts![i]!;
    else if (data !== undefined) element.value = decodeParts(data, values!, i * dataLen, (i + 1) * dataLen);
    const valueText = valueTextOf(data, element);
    if (valueText !== undefined) element.valueText = valueText;
    if (counters) element.counter = { packets: counters.readBigUInt64BE(i * 16), bytes: counters.readBigUInt64BE(i * 16 + 8) };
    elements.set(partsText(key, parts, element.keyEnd), element);
  }
  return elements;
}

/** The bytes as a Buffer, not copied. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
