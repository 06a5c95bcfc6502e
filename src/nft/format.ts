/**
 * Expressions back to nft syntax, for the phrases this library writes
 * (interface, address, protocol and port matches, fib and ct state, set and
 * map lookups of concatenations, NAT, verdicts). What it does not know is
 * printed as `[expr ...]` rather than guessed.
 */
import { formatAddress, formatPrefix } from '../address';
import { CT_KEY, CT_STATE, FIB_FLAGS, META, NAT_TYPE, PAYLOAD_BASE, RTN, VERDICT } from './constants';
import type { NftExpr } from './expr';
import { protocolName } from '../protocol';

const META_NAMES: Record<number, string> = {
  [META.iifname]: 'iifname', [META.oifname]: 'oifname', [META.l4proto]: 'meta l4proto', [META.nfproto]: 'meta nfproto',
};
const RTN_NAMES = new Map<number, string>(Object.entries(RTN).map(([name, n]) => [n, name]));
const VERDICT_NAMES = new Map<number, string>(Object.entries(VERDICT).map(([name, n]) => [n, name]));
const CMP_TEXT = ['', '!= ', '< ', '<= ', '> ', '>= '];

type Loaded = {
  field: string;
  kind: 'ifname' | 'address' | 'proto' | 'port' | 'fib' | 'ct state' | 'other';
  mask?: Uint8Array;
  /** Addresses: the full length, when only a prefix of it is loaded. */
  fullLength?: number;
};

function payloadField(family: 'ip' | 'ip6', e: NftExpr): Loaded {
  const base = e.base as number;
  const offset = e.offset as number;
  if (base === PAYLOAD_BASE.transport && e.len === 2) return { field: offset === 0 ? 'th sport' : 'th dport', kind: 'port' };
  const v4 = { 12: 'saddr', 16: 'daddr' } as Record<number, string>;
  const v6 = { 8: 'saddr', 24: 'daddr' } as Record<number, string>;
  const name = base === PAYLOAD_BASE.network ? (family === 'ip' ? v4 : v6)[offset] : undefined;
  return name ? { field: `${family} ${name}`, kind: 'address', fullLength: family === 'ip' ? 4 : 16 } : { field: `@${base},${offset * 8},${(e.len as number) * 8}`, kind: 'other' };
}

function valueText(loaded: Loaded, data: Uint8Array): string {
  switch (loaded.kind) {
    case 'ifname': {
      const end = data.indexOf(0);
      const name = Buffer.from(data.subarray(0, end === -1 ? data.length : end)).toString();
      return JSON.stringify(end === -1 ? `${name}*` : name);
    }
    case 'address': {
      if (loaded.mask) return formatPrefix(data, loaded.mask) ?? formatAddress(data);
      if (data.length === loaded.fullLength) return formatAddress(data);
      // A prefix on a byte boundary: only its leading bytes were compared.
      const padded = new Uint8Array(loaded.fullLength!);
      padded.set(data);
      return `${formatAddress(padded)}/${data.length * 8}`;
    }
    case 'proto': return protocolName(data[0]!);
    case 'port': return String((data[0]! << 8) | data[1]!);
    case 'fib': return RTN_NAMES.get(new DataView(data.buffer, data.byteOffset).getUint32(0, true)) ?? 'unknown';
    default: return `0x${Buffer.from(data).toString('hex')}`;
  }
}

function ctStates(mask: Uint8Array): string {
  const bits = new DataView(mask.buffer, mask.byteOffset).getUint32(0, true);
  return Object.entries(CT_STATE).filter(([, bit]) => bits & bit).map(([name]) => name).join(',');
}

/** One rule's expressions in nft syntax (`family` is the table's, ip or ip6). */
export function formatExprs(family: 'ip' | 'ip6', exprs: readonly NftExpr[]): string {
  const words: string[] = [];
  let pending: Loaded[] = [];
  let immediate: Uint8Array[] = [];
  let mapFields = '';
  let mapName = '';
  for (const e of exprs) {
    switch (e.type) {
      case 'meta': {
        const field = META_NAMES[e.key as number] ?? `meta ${e.key}`;
        pending.push({ field, kind: field.endsWith('ifname') ? 'ifname' : field === 'meta l4proto' ? 'proto' : 'other' });
        break;
      }
      case 'payload': pending.push(payloadField(family, e)); break;
      case 'fib': pending.push({ field: `fib ${(e.flags as number) & FIB_FLAGS.saddr ? 'saddr' : 'daddr'} type`, kind: 'fib' }); break;
      case 'ct': pending.push({ field: e.key === CT_KEY.state ? 'ct state' : `ct ${e.key}`, kind: e.key === CT_KEY.state ? 'ct state' : 'other' }); break;
      case 'bitwise': pending[pending.length - 1]!.mask = e.mask as Uint8Array; break;
      case 'cmp': {
        const loaded = pending.pop()!;
        pending = [];
        if (loaded.kind === 'ct state') words.push(`ct state ${ctStates(loaded.mask!)}`);
        else words.push(`${loaded.field} ${CMP_TEXT[e.op as number] ?? ''}${valueText(loaded, e.data as Uint8Array)}`);
        break;
      }
      case 'lookup': {
        const fields = pending.map((p) => p.field).join(' . ');
        pending = [];
        if (e.dreg === 0) words.push(`${fields} vmap @${e.set}`);
        else if (e.dreg !== undefined) [mapFields, mapName] = [fields, e.set as string];
        else words.push(`${fields} ${(e.flags as number) & 1 ? '!= ' : ''}@${e.set}`);
        break;
      }
      case 'immediate':
        if (e.verdict !== undefined) {
          words.push(`${VERDICT_NAMES.get(e.verdict as number) ?? e.verdict}${e.chain !== undefined ? ` ${e.chain}` : ''}`);
        } else {
          immediate.push(e.data as Uint8Array);
        }
        break;
      case 'nat': {
        const kind = e.natType === NAT_TYPE.dnat ? 'dnat' : 'snat';
        if (mapName) {
          words.push(`${kind} ${family} to ${mapFields} map @${mapName}`);
        } else {
          const [address, port] = immediate;
          const host = address ? formatAddress(address) : '';
          const shown = port ? (family === 'ip6' ? `[${host}]` : host) + `:${(port[0]! << 8) | port[1]!}` : host;
          words.push(`${kind} to ${shown}`);
        }
        immediate = [];
        mapName = '';
        break;
      }
      case 'masq': words.push('masquerade'); break;
      case 'counter': words.push(`counter packets ${e.packets ?? 0} bytes ${e.bytes ?? 0}`); break;
      default: words.push(`[${e.type}]`);
    }
  }
  return words.join(' ');
}
