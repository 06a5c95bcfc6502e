/**
 * The published ports of a spec as a ledger: which port spec holds each host
 * port, and how many ports are published in all. parseSpec fills it while it
 * validates; a Firewall keeps it with the spec it holds, so that publishing
 * more ports checks only the new ones against it instead of validating the
 * whole spec again.
 *
 * One map entry per host port, keyed by a small integer and holding the port
 * spec itself, so that 100,000 published ports cost a few megabytes.
 */
import { ValidationError } from '../errors.js';
import type { IptFamily } from '../iptc/rule.js';
import type { NetworkSpec, PortProtocol, PortRange, PortSpec } from './types.js';

const PROTOCOL_INDEX: Readonly<Record<PortProtocol, number>> = { tcp: 0, udp: 1, sctp: 2 };
const FAMILY_INDEX: Readonly<Record<IptFamily, number>> = { ipv4: 0, ipv6: 1 };

/** `0.0.0.0` and `::` (canonical) publish on every address, like no host address at all. */
export function publishesOnEveryAddress(port: PortSpec): boolean {
  return port.hostIp === undefined || port.hostIp === '0.0.0.0' || port.hostIp === '::';
}

export function portCount(port: PortSpec): number {
  return port.containerPort.last - port.containerPort.first + 1;
}

export class PortLedger {
  /** By `(family, protocol, host port)`: the port spec (or specs, on distinct host addresses) publishing there. */
  private readonly holders = new Map<number, PortSpec | PortSpec[]>();
  /** Ports published, ranges expanded. */
  published = 0;

  /**
   * @param networks the spec's networks, searched only to name the field of
   *   a port spec that already holds a host port, when a new one clashes.
   */
  constructor(private readonly networks: readonly NetworkSpec[]) {}

  /**
   * Takes the host ports of `port` on `families`; `field` names the new
   * port (its `.hostPort` is named in the error) when another port spec already holds one
   * (an address holds a port once, and every address overlaps every address).
   * Nothing is taken when it throws.
   */
  claim(port: PortSpec, families: readonly IptFamily[], field: string): void {
    const hostPort = port.hostPort;
    if (hostPort === undefined) return;
    for (const family of families) {
      for (let number = hostPort.first; number <= hostPort.last; number++) {
        const holder = this.holderOverlapping(keyOf(family, port.proto, number), port);
        if (holder) {
          field = `${field}.hostPort`;
          const address = publishesOnEveryAddress(port) ? 'every address' : port.hostIp;
          throw new ValidationError(field,
            `Expected a host port not already published by ${this.fieldOf(holder)} for ${field} but ${port.proto} port ${number} ` +
            `on ${address} (${family}) is`);
        }
      }
    }
    for (const family of families) this.forEachKey(family, port.proto, hostPort, (key) => this.add(key, port));
  }

  /** Gives back what `claim(port, families)` took. */
  release(port: PortSpec, families: readonly IptFamily[]): void {
    if (port.hostPort === undefined) return;
    for (const family of families) this.forEachKey(family, port.proto, port.hostPort, (key) => this.remove(key, port));
  }

  private holderOverlapping(key: number, port: PortSpec): PortSpec | undefined {
    const held = this.holders.get(key);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return overlaps(held, port) ? held : undefined;
    return held.find((other) => overlaps(other, port));
  }

  private forEachKey(family: IptFamily, proto: PortProtocol, range: PortRange, visit: (key: number) => void): void {
    for (let number = range.first; number <= range.last; number++) visit(keyOf(family, proto, number));
  }

  private add(key: number, port: PortSpec): void {
    const held = this.holders.get(key);
    if (held === undefined) this.holders.set(key, port);
    else if (Array.isArray(held)) held.push(port);
    else this.holders.set(key, [held, port]);
  }

  private remove(key: number, port: PortSpec): void {
    const held = this.holders.get(key);
    if (held === port) this.holders.delete(key);
    else if (Array.isArray(held)) {
      const rest = held.filter((other) => other !== port);
      if (rest.length === 1) this.holders.set(key, rest[0]!);
      else this.holders.set(key, rest);
    }
  }

  /** The field path of a port spec of the spec (a clash is rare: searching then is cheaper than storing paths). */
  private fieldOf(port: PortSpec): string {
    for (const [n, network] of this.networks.entries()) {
      for (const [e, endpoint] of network.endpoints.entries()) {
        const p = endpoint.ports.indexOf(port);
        if (p >= 0) return `networks[${n}].endpoints[${e}].ports[${p}].hostPort`;
      }
    }
    return 'another port';
  }
}

function keyOf(family: IptFamily, proto: PortProtocol, number: number): number {
  return ((FAMILY_INDEX[family] * 3 + PROTOCOL_INDEX[proto]) << 16) | number;
}

function overlaps(a: PortSpec, b: PortSpec): boolean {
  return publishesOnEveryAddress(a) || publishesOnEveryAddress(b) || a.hostIp === b.hostIp;
}
