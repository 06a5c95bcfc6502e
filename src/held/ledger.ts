/**
 * The published ports of a spec as a ledger: which host ports are taken, on
 * which host address, and how many ports are published in all. parseSpec
 * fills it while it validates; a Firewall keeps it with the spec it holds, so
 * that publishing more ports checks only the new ones against it instead of
 * validating the whole spec again.
 *
 * A claim is one bit (family, protocol, host port, host address) of a map
 * of runs of 16 host ports, and a count per (family, protocol, host port)
 * says whether any address holds it: 100,000 published ports cost well
 * under a megabyte when their host ports run on, as a bulk's do (a set of
 * one number a claim took 4.8 MB of the JS heap, and copying its growing
 * table made V8 grow its young generation). Host addresses are
 * numbered while they hold claims, so the numbers stay few however many
 * addresses come and go. Which port spec holds a host port is looked up only
 * to name it when a new one clashes.
 */
import { ValidationError } from '../errors.js';
import { FAMILIES, type Family } from '../family.js';
import type { PackedEndpoint, PackedNetwork } from './packed.js';
import type { PortProtocol, PortRange, PortSpec } from '../input/types.js';
import { PORT_PROTOCOLS } from '../protocol.js';

const FAMILY_INDEX: Readonly<Record<Family, number>> = { ipv4: 0, ipv6: 1 };
const PORTS = 65536;
/** The address number of a claim on every address. */
const EVERY_ADDRESS = 0;

/**
 * Whether the port is published on every address of each of its families:
 * no host address (every family), `0.0.0.0` (every IPv4 address) or `::`
 * (every IPv6 address). Which families those are is `familiesOf`'s answer.
 */
export function publishesOnEveryAddress(port: PortSpec): boolean {
  return port.hostIp === undefined || port.hostIp === '0.0.0.0' || port.hostIp === '::';
}

/** A range as callers write it: a port, or `"A-B"`. */
export function rangeInput(range: PortRange): number | string {
  return range.first === range.last ? range.first : `${range.first}-${range.last}`;
}

export function portCount(port: PortSpec): number {
  return port.containerPort.last - port.containerPort.first + 1;
}

/**
 * The families a port is published in, as Docker decides them (moby
 * drivers/bridge/port_mapping_linux.go, configurePortBindingIPv4/IPv6): an
 * IPv4 host address, `0.0.0.0` included, is IPv4 only; an IPv6 one, `::`
 * included, IPv6 only; no host address is every family. In each case only
 * where the endpoint has an address: Docker skips the others without a word.
 */
export function familiesOf(port: PortSpec, endpoint: Pick<PackedEndpoint, 'ipv4' | 'ipv6'>): readonly Family[] {
  // Shared answers, no array built: this runs for every port published (twice when it is validated).
  const ipv4 = endpoint.ipv4 !== undefined && (port.hostIp === undefined || !port.hostIp.includes(':'));
  const ipv6 = endpoint.ipv6 !== undefined && (port.hostIp === undefined || port.hostIp.includes(':'));
  return ipv4 ? (ipv6 ? FAMILIES : ONLY_IPV4) : ipv6 ? ONLY_IPV6 : NO_FAMILY;
}

const ONLY_IPV4: readonly Family[] = ['ipv4'];
const ONLY_IPV6: readonly Family[] = ['ipv6'];
const NO_FAMILY: readonly Family[] = [];

export class PortLedger {
  /** Claimed host ports by `runKey`: bit i of a run is its first port plus i; runs without claims are deleted. */
  private readonly claims = new Map<number, number>();
  /** Per family and protocol, made on first use: how many addresses hold each host port. */
  private readonly holders: (Uint32Array | undefined)[] = [];
  /** The number of each host address holding claims, and how many it holds. */
  private readonly addresses = new Map<string, { number: number; claims: number }>();
  /** Numbers given back by addresses that hold no claims any more. */
  private readonly freeNumbers: number[] = [];
  /** Ports published, ranges expanded. */
  published = 0;

  /**
   * @param networks the spec's networks, searched only to name the field of
   *   a port spec that already holds a host port, when a new one clashes.
   */
  constructor(private readonly networks: readonly PackedNetwork[]) {}

  /**
   * Takes the host ports of `port` on `families`; `field` names the new
   * port, or with `index` the list holding it at that index (its `.hostPort`
   * is named in the error), when another port spec already holds one (an
   * address holds a port once, and every address overlaps every address).
   * Nothing is taken when it throws.
   */
  claim(port: PortSpec, families: readonly Family[], field: string, index?: number): void {
    const hostPort = port.hostPort;
    if (hostPort === undefined) return;
    const entry = this.addressEntryOf(port);
    const address = entry === undefined ? EVERY_ADDRESS : entry.number;
    // Indexed loops, and the address's entry kept at hand: this runs once per port a spec publishes.
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      const taken = this.firstTaken(port.proto, family, hostPort, address);
      if (taken !== undefined) {
        this.count(port, 0);
        field = `${index === undefined ? field : `${field}[${index}]`}.hostPort`;
        const where = port.hostIp ?? 'every address';
        throw new ValidationError(field,
          `Expected a host port that is not published yet for ${field} but ${port.proto} port ${taken} on ${where} (${family}) ` +
          `is already published ${this.holderOf(port, family, taken)}`);
      }
    }
    for (let f = 0; f < families.length; f++) {
      const group = groupOf(families[f]!, port.proto);
      const holders = (this.holders[group] ??= new Uint32Array(PORTS));
      for (let number = hostPort.first; number <= hostPort.last; number++) {
        this.take(group, number, address);
        holders[number]!++;
      }
    }
    if (entry !== undefined) entry.claims += families.length * (hostPort.last - hostPort.first + 1);
  }

  /**
   * The lowest of the host ports `hostPort` for which `claim` would refuse
   * `port` on `families`, or undefined: for choosing a host port, without
   * taking anything.
   */
  lowestTaken(port: PortSpec, families: readonly Family[], hostPort: PortRange): number | undefined {
    const address = publishesOnEveryAddress(port) ? EVERY_ADDRESS : this.addresses.get(port.hostIp!)?.number;
    let lowest: number | undefined;
    for (const family of families) {
      const taken = this.firstTaken(port.proto, family, hostPort, address);
      if (taken !== undefined && (lowest === undefined || taken < lowest)) lowest = taken;
    }
    return lowest;
  }

  /**
   * The first of `hostPort` an overlapping address holds in the family, or
   * undefined. `address` undefined: an address that holds nothing yet.
   */
  private firstTaken(proto: PortProtocol, family: Family, hostPort: PortRange, address: number | undefined): number | undefined {
    const group = groupOf(family, proto);
    const holders = this.holders[group];
    if (holders === undefined) return undefined;
    for (let number = hostPort.first; number <= hostPort.last; number++) {
      // No address holds it: nothing to look up (a bulk's new ports).
      if (holders[number] === 0) continue;
      const taken = address === EVERY_ADDRESS || (address !== undefined && this.holds(group, number, address)) || this.holds(group, number, EVERY_ADDRESS);
      if (taken) return number;
    }
    return undefined;
  }

  /** Gives back what `claim(port, families)` took. */
  release(port: PortSpec, families: readonly Family[]): void {
    const hostPort = port.hostPort;
    if (hostPort === undefined) return;
    const address = this.numberOf(port);
    let released = 0;
    for (const family of families) {
      const group = groupOf(family, port.proto);
      const holders = this.holders[group];
      for (let number = hostPort.first; number <= hostPort.last; number++) {
        if (this.give(group, number, address)) {
          holders![number]!--;
          released++;
        }
      }
    }
    this.count(port, -released);
  }

  private holds(group: number, port: number, address: number): boolean {
    return ((this.claims.get(runKey(group, port, address)) ?? 0) & runBit(port)) !== 0;
  }

  private take(group: number, port: number, address: number): void {
    const key = runKey(group, port, address);
    this.claims.set(key, (this.claims.get(key) ?? 0) | runBit(port));
  }

  /** Gives back a claim; false when it was not held. */
  private give(group: number, port: number, address: number): boolean {
    const key = runKey(group, port, address);
    const run = this.claims.get(key) ?? 0;
    if ((run & runBit(port)) === 0) return false;
    const left = run & ~runBit(port);
    if (left === 0) this.claims.delete(key);
    else this.claims.set(key, left);
    return true;
  }

  /** The number of the port's host address in claims: EVERY_ADDRESS, or one numbered while it holds claims. */
  private numberOf(port: PortSpec): number {
    return this.addressEntryOf(port)?.number ?? EVERY_ADDRESS;
  }

  /** The entry of the port's host address, numbered (and counting no claims) if it had none; undefined: every address. */
  private addressEntryOf(port: PortSpec): { number: number; claims: number } | undefined {
    if (publishesOnEveryAddress(port)) return undefined;
    let address = this.addresses.get(port.hostIp!);
    if (address === undefined) {
      address = { number: this.freeNumbers.pop() ?? this.addresses.size + 1, claims: 0 };
      this.addresses.set(port.hostIp!, address);
    }
    return address;
  }

  /** Counts claims the port's host address takes (or gives back); one that holds none gives its number back. */
  private count(port: PortSpec, claims: number): void {
    if (publishesOnEveryAddress(port)) return;
    const address = this.addresses.get(port.hostIp!)!;
    address.claims += claims;
    if (address.claims > 0) return;
    this.addresses.delete(port.hostIp!);
    this.freeNumbers.push(address.number);
  }

  /**
   * Who holds what `port` asks for: the container address and port it
   * forwards to, and the held spec's field (a clash is rare: searching then
   * is cheaper than storing paths).
   */
  private holderOf(port: PortSpec, family: Family, number: number): string {
    for (const [n, network] of this.networks.entries()) {
      for (const [e, endpoint] of network.endpoints.entries()) {
        let p = 0;
        for (const held of endpoint.ports) {
          if (held.proto === port.proto && held.hostPort !== undefined && held.hostPort.first <= number && number <= held.hostPort.last &&
            overlaps(held, port) && familiesOf(held, endpoint).includes(family)) {
            const containerPort = held.containerPort.first + number - held.hostPort.first;
            return `to ${endpoint[family]} port ${containerPort} (networks[${n}].endpoints[${e}].ports[${p}])`;
          }
          p++;
        }
      }
    }
    return 'by another port';
  }
}

function groupOf(family: Family, proto: PortProtocol): number {
  return FAMILY_INDEX[family] * PORT_PROTOCOLS.length + PORT_PROTOCOLS.indexOf(proto);
}

/** Host ports a run holds: 16, so that a run's bits are always a small integer (no heap number). */
const RUN_PORTS = 16;

/** A small integer while fewer than 87,381 host addresses are in use; a larger number (still exact) beyond. */
function runKey(group: number, port: number, address: number): number {
  return (address * 6 + group) * (PORTS / RUN_PORTS) + Math.floor(port / RUN_PORTS);
}

function runBit(port: number): number {
  return 1 << (port % RUN_PORTS);
}

/** Whether two ports' host addresses overlap, in a family both are published in. */
export function overlaps(a: PortSpec, b: PortSpec): boolean {
  return publishesOnEveryAddress(a) || publishesOnEveryAddress(b) || a.hostIp === b.hostIp;
}
