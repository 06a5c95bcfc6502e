/**
 * Set and map elements between three forms: the parts the plan writes
 * (`['198.18.1.2', 6, 80]`), the nft text they are compared and printed by
 * (`198.18.1.2 . tcp . 80`), and the packed bytes the kernel reads back.
 */
import { formatAddress } from '../../address.js';
import type { NativeSet, NativeVerdict } from '../../native/nft.js';
import { DATA_VERDICT, DATATYPE, DATATYPE_LEN, VERDICT, type NftDatatype } from '../../nft/constants.js';
import type { KeyPart } from '../../nft/keys.js';
import type { ElementImage, SetData } from './image.js';
import { protocolName } from '../../protocol.js';

const TYPE_NAMES = new Map<number, NftDatatype>(Object.entries(DATATYPE).map(([name, n]) => [n, name as NftDatatype]));
const VERDICT_NAMES = new Map<number, string>(Object.entries(VERDICT).map(([name, code]) => [code, name]));


function partText(type: NftDatatype, part: KeyPart): string {
  if (type === 'ifname' || type === 'string') return JSON.stringify(part);
  if (type === 'inet_proto') return protocolName(part as number);
  return String(part);
}

export function partsText(types: readonly NftDatatype[], parts: readonly KeyPart[]): string {
  return parts.map((part, i) => partText(types[i]!, part)).join(' . ');
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

function decodePart(type: NftDatatype, bytes: Uint8Array): KeyPart {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return formatAddress(bytes.subarray(0, DATATYPE_LEN[type]));
    case 'inet_service':
      return (bytes[0]! << 8) | bytes[1]!;
    case 'inet_proto':
      return bytes[0]!;
    case 'ifname':
    case 'string': {
      const end = bytes.indexOf(0);
      return Buffer.from(bytes.subarray(0, end === -1 ? bytes.length : end)).toString();
    }
    default:
      return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  }
}

function decodeParts(types: readonly NftDatatype[], bytes: Uint8Array): KeyPart[] {
  const parts: KeyPart[] = [];
  let offset = 0;
  for (const type of types) {
    parts.push(decodePart(type, bytes.subarray(offset)));
    offset += types.length === 1 ? DATATYPE_LEN[type] : (DATATYPE_LEN[type] + 3) & ~3;
  }
  return parts;
}

/** The declaration of a set read back (types, counter), or undefined when its types are not ones we write. */
export function declarationOf(set: NativeSet): { key: NftDatatype[]; data?: SetData; counter?: boolean } | undefined {
  const key = datatypesOf(set.keyType);
  if (key === undefined) return undefined;
  const counter = set.counter ? { counter: true } : {};
  if (set.dataType === undefined) return { key, ...counter };
  if (set.dataType === DATA_VERDICT) return { key, data: 'verdict', ...counter };
  const data = datatypesOf(set.dataType);
  return data === undefined ? undefined : { key, data, ...counter };
}

/** The elements of a set read back, keyed by their text. */
export function decodeElements(set: NativeSet, key: readonly NftDatatype[], data: SetData | undefined): Map<string, ElementImage> {
  const elements = new Map<string, ElementImage>();
  for (let i = 0; i < set.count; i++) {
    const parts = decodeParts(key, set.keys.subarray(i * set.keyLen, (i + 1) * set.keyLen));
    const element: ElementImage = { key: parts };
    if (data === 'verdict') element.verdict = set.verdicts![i]!;
    else if (data !== undefined) element.value = decodeParts(data, set.data!.subarray(i * set.dataLen!, (i + 1) * set.dataLen!));
    const valueText = valueTextOf(data, element);
    if (valueText !== undefined) element.valueText = valueText;
    if (set.counters) element.counter = { packets: set.counters.readBigUInt64BE(i * 16), bytes: set.counters.readBigUInt64BE(i * 16 + 8) };
    elements.set(partsText(key, parts), element);
  }
  return elements;
}
