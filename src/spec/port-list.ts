/**
 * An endpoint's published ports as a Firewall holds them: 12 bytes a port in
 * one typed array instead of an object a port (about 60 bytes, plus the
 * pointer to it). A spec held with 100,000 ports then costs about a megabyte,
 * outside the JS heap, where the garbage collector neither copies nor scans
 * it. Ports come out as fresh PortSpec objects and are compared by value.
 */
import type { PortProtocol, PortRange, PortSpec } from './types.js';

/** Three 32-bit words a port: protocol, host port flag and host address; host port range; container port range. */
const WORDS = 3;
const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];
const PROTOCOL_CODE: Readonly<Record<PortProtocol, number>> = { tcp: 0, udp: 1, sctp: 2 };
const HAS_HOST_PORT = 4;
const ADDRESS_SHIFT = 3;

/**
 * Host addresses by number, 0 for none: a process publishes on few distinct
 * host addresses, so each is kept once, for the life of the process.
 */
const addressNumbers = new Map<string, number>();
const addresses: (string | undefined)[] = [undefined];

export function addressNumber(address: string | undefined): number {
  if (address === undefined) return 0;
  let number = addressNumbers.get(address);
  if (number === undefined) {
    number = addresses.push(address) - 1;
    addressNumbers.set(address, number);
  }
  return number;
}

function rangeOf(word: number): PortRange {
  return { first: word >>> 16, last: word & 0xffff };
}

/** Scratch words for comparing a port with the held ones. */
const PROBE = new Uint32Array(WORDS);

function encodeInto(words: Uint32Array, at: number, port: PortSpec): void {
  const { hostPort, containerPort } = port;
  words[at] = (PROTOCOL_CODE[port.proto] | (hostPort ? HAS_HOST_PORT : 0) | (addressNumber(port.hostIp) << ADDRESS_SHIFT)) >>> 0;
  words[at + 1] = hostPort ? ((hostPort.first << 16) | hostPort.last) >>> 0 : 0;
  words[at + 2] = ((containerPort.first << 16) | containerPort.last) >>> 0;
}

export class PortList implements Iterable<PortSpec> {
  private words: Uint32Array;
  private count = 0;

  constructor(capacity = 4) {
    this.words = new Uint32Array(capacity * WORDS);
  }

  static of(ports: Iterable<PortSpec>): PortList {
    const list = new PortList();
    for (const port of ports) list.push(port);
    return list;
  }

  get length(): number {
    return this.count;
  }

  get(index: number): PortSpec {
    const at = index * WORDS;
    const head = this.words[at]!;
    const proto = PROTOCOLS[head & 3]!;
    const hostIp = addresses[head >>> ADDRESS_SHIFT];
    const containerPort = rangeOf(this.words[at + 2]!);
    if ((head & HAS_HOST_PORT) === 0) return hostIp === undefined ? { proto, containerPort } : { proto, hostIp, containerPort };
    const hostPort = this.words[at + 1] === this.words[at + 2] ? containerPort : rangeOf(this.words[at + 1]!);
    return hostIp === undefined ? { proto, hostPort, containerPort } : { proto, hostIp, hostPort, containerPort };
  }

  push(port: PortSpec): void {
    if ((this.count + 1) * WORDS > this.words.length) this.grow();
    encodeInto(this.words, this.count++ * WORDS, port);
  }

  insert(index: number, port: PortSpec): void {
    if ((this.count + 1) * WORDS > this.words.length) this.grow();
    this.words.copyWithin((index + 1) * WORDS, index * WORDS, this.count * WORDS);
    this.count++;
    encodeInto(this.words, index * WORDS, port);
  }

  removeAt(index: number): void {
    this.words.copyWithin(index * WORDS, (index + 1) * WORDS, this.count * WORDS);
    this.count--;
  }

  /** Drops the ports from `length` on and returns them. */
  truncate(length: number): PortSpec[] {
    const dropped = this.slice(length).toArray();
    this.count = Math.min(this.count, length);
    return dropped;
  }

  /** Removes every port `unwanted` says so of; returns them with their positions before, ascending. */
  removeWhere(unwanted: (port: PortSpec) => boolean): { port: PortSpec; index: number }[] {
    const removed: { port: PortSpec; index: number }[] = [];
    let kept = 0;
    for (let index = 0; index < this.count; index++) {
      const port = this.get(index);
      if (unwanted(port)) removed.push({ port, index });
      else this.words.copyWithin(kept++ * WORDS, index * WORDS, (index + 1) * WORDS);
    }
    this.count = kept;
    return removed;
  }

  /** The position of the last port equal to `port`, or -1. */
  lastIndexOf(port: PortSpec): number {
    encodeInto(PROBE, 0, port);
    for (let index = this.count - 1; index >= 0; index--) {
      const at = index * WORDS;
      if (this.words[at] === PROBE[0] && this.words[at + 1] === PROBE[1] && this.words[at + 2] === PROBE[2]) {
        return index;
      }
    }
    return -1;
  }

  /** A copy of the ports from `start` on. */
  slice(start: number): PortList {
    const length = Math.max(this.count - start, 0);
    const copy = new PortList(length);
    copy.words.set(this.words.subarray(start * WORDS, (start + length) * WORDS));
    copy.count = length;
    return copy;
  }

  toArray(): PortSpec[] {
    return Array.from(this);
  }

  *[Symbol.iterator](): Generator<PortSpec> {
    for (let index = 0; index < this.count; index++) yield this.get(index);
  }

  private grow(): void {
    const words = new Uint32Array(Math.max(this.words.length * 2, 4 * WORDS));
    words.set(this.words);
    this.words = words;
  }
}
