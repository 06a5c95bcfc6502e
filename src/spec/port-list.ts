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

type Words = [head: number, hostPort: number, containerPort: number];

function rangeOf(word: number): PortRange {
  return { first: word >>> 16, last: word & 0xffff };
}

export class PortList implements Iterable<PortSpec> {
  private words: Uint32Array;
  private count = 0;
  /**
   * The host addresses the ports name, by their number in a port's first
   * word less one (0: no host address). An endpoint publishes on few, so the
   * list keeps its own, and forgets those no port names any more when it
   * holds many more than its ports could name.
   */
  private addresses: string[] = [];

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
    const address = head >>> ADDRESS_SHIFT;
    const containerPort = rangeOf(this.words[at + 2]!);
    const port: PortSpec = { proto, containerPort };
    if (address > 0) port.hostIp = this.addresses[address - 1]!;
    if ((head & HAS_HOST_PORT) !== 0) port.hostPort = rangeOf(this.words[at + 1]!);
    return port;
  }

  push(port: PortSpec): void {
    const words = this.wordsOf(port, true)!;
    this.reserve();
    this.words.set(words, this.count++ * WORDS);
  }

  insert(index: number, port: PortSpec): void {
    const words = this.wordsOf(port, true)!;
    this.reserve();
    this.words.copyWithin((index + 1) * WORDS, index * WORDS, this.count * WORDS);
    this.count++;
    this.words.set(words, index * WORDS);
  }

  removeAt(index: number): void {
    this.words.copyWithin(index * WORDS, (index + 1) * WORDS, this.count * WORDS);
    this.count--;
  }

  /** Drops the ports from `length` on and returns them. */
  truncate(length: number): PortSpec[] {
    const dropped = Array.from({ length: Math.max(this.count - length, 0) }, (_, i) => this.get(length + i));
    this.count = Math.min(this.count, length);
    return dropped;
  }

  /**
   * Removes every port equal to one of `ports`; returns them with their
   * positions before, ascending. Compared as packed words: no port is
   * built but those removed.
   */
  removeEqual(ports: Iterable<PortSpec>): { port: PortSpec; index: number }[] {
    // Keyed by the container port range, which tells most ports apart.
    const wanted = new Map<number, Words[]>();
    for (const port of ports) {
      const words = this.wordsOf(port, false);
      if (words === undefined) continue;
      const same = wanted.get(words[2]);
      if (same) same.push(words);
      else wanted.set(words[2], [words]);
    }
    const removed: { port: PortSpec; index: number }[] = [];
    if (wanted.size === 0) return removed;
    let kept = 0;
    for (let index = 0; index < this.count; index++) {
      const at = index * WORDS;
      const candidates = wanted.get(this.words[at + 2]!);
      if (candidates?.some(([head, hostPort]) => this.words[at] === head && this.words[at + 1] === hostPort)) {
        removed.push({ port: this.get(index), index });
      } else {
        this.words.copyWithin(kept++ * WORDS, at, at + WORDS);
      }
    }
    this.count = kept;
    return removed;
  }

  /** The ports sharing a container port with one of `ports` (same protocol, overlapping range), each once, built only when they do. */
  *sharingContainerPorts(ports: readonly PortSpec[]): Generator<PortSpec> {
    for (let index = 0; index < this.count; index++) {
      const at = index * WORDS;
      const code = this.words[at]! & 3;
      const first = this.words[at + 2]! >>> 16;
      const last = this.words[at + 2]! & 0xffff;
      if (ports.some((port) => PROTOCOL_CODE[port.proto] === code && port.containerPort.first <= last && first <= port.containerPort.last)) {
        yield this.get(index);
      }
    }
  }

  /** The position of the last port equal to `port`, or -1. */
  lastIndexOf(port: PortSpec): number {
    const words = this.wordsOf(port, false);
    if (words === undefined) return -1;
    const [head, hostPort, containerPort] = words;
    for (let index = this.count - 1; index >= 0; index--) {
      const at = index * WORDS;
      if (this.words[at] === head && this.words[at + 1] === hostPort && this.words[at + 2] === containerPort) return index;
    }
    return -1;
  }

  /** A copy of the ports from `start` on. */
  slice(start: number): PortList {
    const length = Math.max(this.count - start, 0);
    const copy = new PortList(length);
    copy.words.set(this.words.subarray(start * WORDS, (start + length) * WORDS));
    copy.count = length;
    copy.addresses = [...this.addresses];
    return copy;
  }

  toArray(): PortSpec[] {
    return Array.from(this);
  }

  *[Symbol.iterator](): Generator<PortSpec> {
    for (let index = 0; index < this.count; index++) yield this.get(index);
  }

  /**
   * The words of `port`. A host address the list does not hold yet is added
   * when `adding` (before anything is written: adding may renumber the
   * list's addresses); otherwise no port can equal it: undefined.
   */
  private wordsOf(port: PortSpec, adding: boolean): Words | undefined {
    const { hostPort, containerPort } = port;
    let address = 0;
    if (port.hostIp !== undefined) {
      address = this.addresses.indexOf(port.hostIp) + 1;
      if (address === 0) {
        if (!adding) return undefined;
        address = this.addressNumber(port.hostIp);
      }
    }
    return [
      (PROTOCOL_CODE[port.proto] | (hostPort ? HAS_HOST_PORT : 0) | (address << ADDRESS_SHIFT)) >>> 0,
      hostPort ? ((hostPort.first << 16) | hostPort.last) >>> 0 : 0,
      ((containerPort.first << 16) | containerPort.last) >>> 0,
    ];
  }

  /** Adds a host address; first forgets those no port names when there are more than ports to name them. */
  private addressNumber(address: string): number {
    if (this.addresses.length >= this.count + 1) this.forgetUnusedAddresses();
    return this.addresses.push(address);
  }

  private forgetUnusedAddresses(): void {
    const ports = this.toArray();
    this.addresses = [];
    this.count = 0;
    for (const port of ports) this.push(port);
  }

  private reserve(): void {
    if ((this.count + 1) * WORDS <= this.words.length) return;
    const words = new Uint32Array(Math.max(this.words.length * 2, 4 * WORDS));
    words.set(this.words);
    this.words = words;
  }
}
