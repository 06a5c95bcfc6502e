/**
 * The packed filters of the addon's ctnetlink conntrack clearing
 * (NativeNftConnection.clearConntrack, read on the worker thread by
 * native/conntrack.cc).
 */
import { FAMILIES, type Family } from '../family.js';
import { parseAddress } from '../address.js';
import { invalid } from '../errors.js';
import { PackedWriter } from './packed-writer.js';
import { PORT_PROTOCOLS, PROTOCOL_NUMBERS } from '../protocol.js';

/** The filter flags of the packed layout (native/conntrack.cc). */
export const CONNTRACK_FLAG = { origDst: 1, replySrc: 2, replySrcNegated: 4, dstTranslated: 8 } as const;

const AF: Record<Family, number> = { ipv4: 2, ipv6: 10 };

/**
 * Which entries to delete: every condition given must hold. An entry has an
 * original direction (what the first packet carried) and a reply direction
 * (what the answers carry: after a DNAT, the reply source is the container).
 */
export interface ConntrackFilter {
  family: Family;
  proto: (typeof PORT_PROTOCOLS)[number];
  /** The original destination ports, first to last. */
  origDstPorts: { first: number; last: number };
  /** The original destination address; absent: any. */
  origDst?: string;
  /**
   * The reply source, address and port (for the first destination port; the
   * next ports answer from the next ones): the entry's answers come from
   * there (or, negated, not from there).
   */
  replySrc?: { address: string; port: number; negated: boolean };
  /** Only entries whose destination was translated (the reply source is not the original destination). */
  dstTranslated?: boolean;
}

/** Packs filters for clearConntrack, validating every field (`field` names the list). */
export function packConntrackFilters(filters: readonly ConntrackFilter[], field: string): Buffer {
  const out = new PackedWriter(4 + filters.length * 48);
  out.u32(filters.length);
  filters.forEach((filter, i) => {
    const at = `${field}[${i}]`;
    if (!FAMILIES.includes(filter.family)) invalid(`${at}.family`, 'ipv4 or ipv6', filter.family);
    if (!PORT_PROTOCOLS.includes(filter.proto)) invalid(`${at}.proto`, 'tcp, udp or sctp', filter.proto);
    const ports = filter.origDstPorts;
    if (typeof ports !== 'object' || ports === null) invalid(`${at}.origDstPorts`, 'a port range', ports);
    checkPort(ports.first, `${at}.origDstPorts.first`);
    checkPort(ports.last, `${at}.origDstPorts.last`);
    if (ports.last < ports.first) invalid(`${at}.origDstPorts.last`, `a port from ${ports.first} to 65535`, ports.last);
    const origDst = filter.origDst === undefined ? undefined : parseAddress(filter.origDst, `${at}.origDst`, filter.family).bytes;
    const replySrc = filter.replySrc;
    const replySrcBytes = replySrc === undefined ? undefined : parseAddress(replySrc.address, `${at}.replySrc.address`, filter.family).bytes;
    if (replySrc !== undefined) {
      const span = ports.last - ports.first;
      checkPort(replySrc.port, `${at}.replySrc.port`);
      if (replySrc.port + span > 65535) invalid(`${at}.replySrc.port`, `a port up to ${65535 - span} (the range has ${span + 1})`, replySrc.port);
    }
    let flags = 0;
    if (origDst) flags |= CONNTRACK_FLAG.origDst;
    if (replySrc) flags |= CONNTRACK_FLAG.replySrc | (replySrc.negated ? CONNTRACK_FLAG.replySrcNegated : 0);
    if (filter.dstTranslated) flags |= CONNTRACK_FLAG.dstTranslated;
    out.u8(AF[filter.family]);
    out.u8(PROTOCOL_NUMBERS[filter.proto]);
    out.u16(ports.first);
    out.u16(ports.last);
    out.u8(flags);
    if (origDst) out.bytes(origDst);
    if (replySrc && replySrcBytes) {
      out.bytes(replySrcBytes);
      out.u16(replySrc.port);
    }
  });
  return out.finish();
}

function checkPort(port: unknown, field: string): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) invalid(field, 'a port from 1 to 65535', port);
}
