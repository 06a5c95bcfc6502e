/**
 * An endpoint's published ports as a Firewall holds them: 12 bytes a port in
 * one typed array instead of an object a port (about 60 bytes, plus the
 * pointer to it). A spec held with 100,000 ports then costs about a megabyte,
 * outside the JS heap, where the garbage collector neither copies nor scans
 * it. Ports come out as fresh PortSpec objects and are compared by value.
 */
import type { PortRange, PortSpec } from '../input/types.js';
import { PORT_PROTOCOLS } from '../protocol.js';

/** Three 32-bit words a port: protocol, host port flag and host address; host port range; container port range. */
const WORDS = 3;
const HAS_HOST_PORT = 4;
const ADDRESS_SHIFT = 3;

type Words = [head: number, hostPort: number, containerPort: number];

function rangeOf(word: number): PortRange {
  return { first: word >>> 16, last: word & 0xffff };
}

/**
 * Ports whose ranges map host ports to container ports the same way share a
 * key: same protocol, host address and presence of a host port, and the same
 * distance from host to container port.
 */
function mappingKey([head, hostPort, containerPort]: Readonly<Words>): number {
  const offset = (head & HAS_HOST_PORT) === 0 ? 0 : (hostPort >>> 16) - (containerPort >>> 16);
  return head * 2 ** 17 + offset + 65536;
}

/** `port` narrowed to the container ports `first` to `last`, with the host ports they map from. */
function shifted(port: PortSpec, first: number, last: number): PortSpec {
  const narrowed: PortSpec = { proto: port.proto, containerPort: { first, last } };
  if (port.hostIp !== undefined) narrowed.hostIp = port.hostIp;
  if (port.hostPort !== undefined) {
    const offset = port.hostPort.first - port.containerPort.first;
    narrowed.hostPort = { first: first + offset, last: last + offset };
  }
  return narrowed;
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

  /** A list of its own with `ports`: a copy of a list, or the ports of any other iterable. */
  static copyOf(ports: Iterable<PortSpec>): PortList {
    return ports instanceof PortList ? ports.slice(0) : PortList.of(ports);
  }

  get length(): number {
    return this.count;
  }

  get(index: number): PortSpec {
    const at = index * WORDS;
    const head = this.words[at]!;
    const proto = PORT_PROTOCOLS[head & 3]!;
    const address = head >>> ADDRESS_SHIFT;
    const containerPort = rangeOf(this.words[at + 2]!);
    // Each shape made whole at once, not grown property by property: ports come out by the ten thousand.
    if ((head & HAS_HOST_PORT) === 0) return address === 0 ? { proto, containerPort } : { proto, hostIp: this.addresses[address - 1]!, containerPort };
    const hostPort = rangeOf(this.words[at + 1]!);
    return address === 0 ? { proto, hostPort, containerPort } : { proto, hostIp: this.addresses[address - 1]!, hostPort, containerPort };
  }

  push(port: PortSpec): void {
    const words = this.wordsOf(port, true)!;
    this.reserve();
    // Stored word by word: a typed array's set() from a plain array takes its slow path, once per port validated.
    const at = this.count++ * WORDS;
    this.words[at] = words[0];
    this.words[at + 1] = words[1];
    this.words[at + 2] = words[2];
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

  /**
   * Takes the mappings of `ports` (host port to container port, per
   * protocol and host address) out of the list, whatever shape they were
   * published in: a port of a published range, a range over ports published
   * one by one. Returns the entries taken out with their positions before,
   * ascending; what is left of them (the rest of a range, split where
   * mappings were taken out), which the caller publishes again; and the
   * mappings no longer published. Mappings not in the list are ignored.
   */
  unpublish(ports: Iterable<PortSpec>): { removed: { port: PortSpec; index: number }[]; left: PortSpec[]; unpublished: PortSpec[] } {
    const wanted = new Map<number, PortRange[]>();
    for (const port of ports) {
      const words = this.wordsOf(port, false);
      if (words === undefined) continue;
      const key = mappingKey(words);
      const ranges = wanted.get(key);
      if (ranges) ranges.push(port.containerPort);
      else wanted.set(key, [port.containerPort]);
    }
    const result = { removed: [] as { port: PortSpec; index: number }[], left: [] as PortSpec[], unpublished: [] as PortSpec[] };
    if (wanted.size === 0) return result;
    for (const ranges of wanted.values()) ranges.sort((a, b) => a.first - b.first);
    let kept = 0;
    for (let index = 0; index < this.count; index++) {
      const at = index * WORDS;
      const container = rangeOf(this.words[at + 2]!);
      const taken = wanted.get(this.mappingKeyAt(at))
        ?.filter((range) => range.first <= container.last && container.first <= range.last);
      if (taken === undefined || taken.length === 0) {
        this.words.copyWithin(kept++ * WORDS, at, at + WORDS);
        continue;
      }
      const port = this.get(index);
      result.removed.push({ port, index });
      let next = container.first;
      for (const range of taken) {
        const first = Math.max(range.first, container.first);
        const last = Math.min(range.last, container.last);
        if (first > next) result.left.push(shifted(port, next, first - 1));
        if (last >= next) result.unpublished.push(shifted(port, Math.max(first, next), last));
        next = Math.max(next, last + 1);
      }
      if (next <= container.last) result.left.push(shifted(port, next, container.last));
    }
    this.count = kept;
    return result;
  }

  /** Whether every mapping of `port` is published by the list, in one entry or several. */
  publishes(port: PortSpec): boolean {
    const words = this.wordsOf(port, false);
    if (words === undefined) return false;
    const key = mappingKey(words);
    const { first, last } = port.containerPort;
    const ranges: PortRange[] = [];
    for (let index = 0; index < this.count; index++) {
      const at = index * WORDS;
      const range = rangeOf(this.words[at + 2]!);
      if (range.first <= last && first <= range.last && this.mappingKeyAt(at) === key) ranges.push(range);
    }
    let next = first;
    for (const range of ranges.sort((a, b) => a.first - b.first)) {
      if (range.first > next) return false;
      next = Math.max(next, range.last + 1);
    }
    return next > last;
  }

  /** The ports sharing a container port with one of `ports` (same protocol, overlapping range), each once, built only when they do. */
  sharingContainerPorts(ports: readonly PortSpec[]): PortSpec[] {
    const sharing: PortSpec[] = [];
    for (let index = 0; index < this.count; index++) {
      const at = index * WORDS;
      const code = this.words[at]! & 3;
      const first = this.words[at + 2]! >>> 16;
      const last = this.words[at + 2]! & 0xffff;
      if (ports.some((port) => PORT_PROTOCOLS.indexOf(port.proto) === code && port.containerPort.first <= last && first <= port.containerPort.last)) {
        sharing.push(this.get(index));
      }
    }
    return sharing;
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

  /**
   * Where the run of ports from `start` ends: before the first port after it
   * with another protocol or host address, or that has a host port where
   * the first has none or the other way round; with `wholeRanges`, before
   * an identity range, and right after `start` if it is one (each is a run
   * of its own). The ports of a run bind alike but for their ports
   * (BindingRun). The model walks ports by the ten thousand this way: a
   * loop over the words alone, with no object and no call a port, is all
   * the JIT compiles.
   */
  runEnd(start: number, wholeRanges: boolean): number {
    const head = this.words[start * WORDS]!;
    if (wholeRanges && this.identityRangeAt(start)) return start + 1;
    let end = start + 1;
    while (end < this.count && this.words[end * WORDS] === head && !(wholeRanges && this.identityRangeAt(end))) end++;
    return end;
  }

  /**
   * Appends the ports from `start` to `end`, ranges expanded: each
   * container port to `containerPorts`, and each host port to `hostPorts`
   * when given (the ports then have host ports).
   */
  appendPorts(start: number, end: number, containerPorts: number[], hostPorts: number[] | undefined): void {
    for (let index = start; index < end; index++) {
      const containerPort = this.words[index * WORDS + 2]!;
      const [first, last] = [containerPort >>> 16, containerPort & 0xffff];
      for (let number = first; number <= last; number++) containerPorts.push(number);
      if (hostPorts === undefined) continue;
      const hostFirst = this.words[index * WORDS + 1]! >>> 16;
      for (let number = hostFirst; number <= hostFirst + last - first; number++) hostPorts.push(number);
    }
  }

  /** Whether the port at `index` is an identity range (isIdentityRange in the model). */
  private identityRangeAt(index: number): boolean {
    const at = index * WORDS;
    return (this.words[at]! & HAS_HOST_PORT) !== 0 && this.words[at + 1] === this.words[at + 2] && (this.words[at + 2]! >>> 16) < (this.words[at + 2]! & 0xffff);
  }

  *[Symbol.iterator](): Generator<PortSpec> {
    for (let index = 0; index < this.count; index++) yield this.get(index);
  }

  private mappingKeyAt(at: number): number {
    return mappingKey([this.words[at]!, this.words[at + 1]!, this.words[at + 2]!]);
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
      (PORT_PROTOCOLS.indexOf(port.proto) | (hostPort ? HAS_HOST_PORT : 0) | (address << ADDRESS_SHIFT)) >>> 0,
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
