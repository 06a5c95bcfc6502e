/**
 * Firewall: Docker's bridge-network firewall on one network namespace.
 *
 * `apply(spec)` is declarative: the spec is validated, turned into the model,
 * compared with what the kernel holds, and only the difference is committed,
 * all or nothing. The imperative calls, shaped like Docker's firewaller
 * (networks, endpoints, port bindings, ingress), edit the spec this Firewall
 * last applied and make only that edit's change on top of what the kernel
 * holds, so that several processes editing one namespace add up.
 *
 * Ports are the bulk of a spec, so they have a path of their own: a port call
 * (and an apply whose spec differs from the last one only in ports, while the
 * kernel has not changed since) validates just those ports against the ledger
 * of host ports the held spec keeps, builds just their bindings, and hands
 * the backend that change alone; its cost is that of the ports it changes,
 * however many are published.
 */
import type { ApplyOutcome, Backend, BackendName, BackendState } from './backends/backend.js';
import { IptablesBackend } from './backends/iptables/backend.js';
import { NftablesBackend } from './backends/nftables/backend.js';
import { buildModel, hostSettingsOf, type FirewallModel } from './docker/model.js';
import { portChangeOf, type FamilyPortChange } from './docker/port-change.js';
import { invalid, ValidationError } from './errors.js';
import { checkNetns } from './nft/connection.js';
import { HeldSpec, portEditsBetween, sameEndpoint, type EndpointRef, type PortEdit } from './spec/held.js';
import type { EphemeralPorts, HostPortAllocation } from './spec/host-ports.js';
import type { EndpointSpecInput, IngressPortSpec as IngressPortSpecInput, IngressSpec as IngressSpecInput, NetworkSpecInput, PortInput, SpecInput } from './spec/types.js';
import type { SpecView } from './spec/packed.js';
import { readEphemeralPorts, setHairpinPorts, writeSysctls, type HairpinOutcome, type SysctlOutcome } from './sysctl.js';
import { Warnings, type Warning } from './warnings.js';

export interface FirewallOptions {
  /** The network namespace, e.g. /run/netns/NAME or /proc/PID/ns/net; default: the caller's own. */
  netns?: string;
}

export interface ApplyResult extends ApplyOutcome {
  backend: BackendName;
  /** Everything the user should know although the call succeeded, each once: `{ code, message }`. */
  warnings: Warning[];
  sysctls: SysctlOutcome;
  hairpin: HairpinOutcome;
  /** Changes made to remove what the other backend had programmed in this namespace. */
  otherBackendChanges: number;
  /** Imperative calls that shared this commit (group commit); 1 for apply. */
  coalesced: number;
  /**
   * Host ports this call chose, from the namespace's ephemeral range, for
   * ports published without one on a network with NAT, as Docker does: the
   * port's field in the call (`networks[0].endpoints[0].ports[1]`, or
   * `ports[1]` for addPorts) and its host port. currentSpec() keeps them.
   */
  allocatedHostPorts: HostPortAllocation[];
}

/** A queued imperative call: a port call edits the held spec in place, any other call the spec as input. */
type PendingEdit = {
  resolve: (result: ApplyResult) => void;
  reject: (error: unknown) => void;
} & ({ kind: 'ports'; removes: boolean; edit: (held: HeldSpec) => PortEdit } | { kind: 'spec'; change: (spec: SpecInput) => void });

type BackendOpener = (netns: string | undefined) => Promise<Backend>;

const BACKENDS: Record<BackendName, BackendOpener> = {
  iptables: (netns) => IptablesBackend.open(netns === undefined ? {} : { netns }),
  nftables: (netns) => NftablesBackend.open(netns === undefined ? {} : { netns }),
};

const NOTHING: ApplyOutcome = { commits: 0, changes: 0 };
/** Port calls write no host settings: those depend on networks and ingress only. */
function noHostSettings(): { sysctls: SysctlOutcome; hairpin: HairpinOutcome } {
  return { sysctls: { written: [], missing: [] }, hairpin: { set: [], missing: [] } };
}

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

export class Firewall {
  private readonly backends = new Map<BackendName, Backend>();
  /** The spec last applied, as edited since. */
  private held: HeldSpec | undefined;
  /**
   * The model of the held spec, kept for a backend that makes every change
   * from two whole models (iptables); a backend taking port changes plans from
   * the spec when it needs a model, and nothing per binding is kept for it.
   */
  private model: FirewallModel | undefined;
  /** The backend whose apply last removed the other flavour's rules from the namespace. */
  private otherBackendsClearedFor: BackendName | undefined;
  private pendingEdits: PendingEdit[] = [];
  private editing: Promise<void> | undefined;
  private closed = false;
  private ephemeral: Promise<EphemeralPorts> | undefined;

  private constructor(private readonly netns: string | undefined) {}

  /** Whether this build has the backend. */
  static supports(backend: BackendName): boolean {
    return BACKENDS[backend] !== undefined;
  }

  static async open(options: FirewallOptions = {}): Promise<Firewall> {
    if (typeof options !== 'object' || options === null) invalid('options', 'an options object', options);
    return new Firewall(options.netns === undefined ? undefined : checkNetns(options.netns));
  }

  /** Makes the namespace match `spec`: what it no longer lists is removed; daemon-level chains stay. */
  async apply(input: SpecInput): Promise<ApplyResult> {
    const next = HeldSpec.parse(input, await this.ephemeralPorts(), this.held);
    return this.applyHeld(next, next.allocations);
  }

  /**
   * Applies the spec last applied (as edited since) again, repairing what
   * someone else changed; commits nothing, and reads nothing back, while the
   * kernel has not changed since this Firewall's last commit (nftables).
   * Undefined when nothing is applied (none yet, or flushed).
   */
  async reapply(): Promise<ApplyResult | undefined> {
    return this.held === undefined ? undefined : this.applyHeld(this.held, []);
  }

  /** What apply(spec) would commit, in the backend's syntax; nothing is written. */
  async dryRun(input: SpecInput): Promise<string> {
    const { spec } = HeldSpec.parse(input, await this.ephemeralPorts());
    return (await this.backend(spec.backend)).dryRun(buildModel(spec));
  }

  /** What the library owns in the namespace, read back from the kernel. */
  async show(backend: BackendName = 'nftables'): Promise<BackendState> {
    return (await this.backend(backend)).show();
  }

  /** Removes everything the library owns in the namespace for that backend. */
  async flush(backend: BackendName = 'nftables'): Promise<ApplyOutcome> {
    const outcome = await (await this.backend(backend)).flush();
    this.held = undefined;
    this.model = undefined;
    return outcome;
  }

  // ---- Docker's firewaller, imperatively -----------------------------------

  /** Adds the network with this bridge name, or replaces it where it is. */
  addNetwork(network: NetworkSpecInput): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      spec.networks = replaceOrAppend(spec.networks ?? [], (n) => n.bridge === network.bridge, network);
    });
  }

  removeNetwork(bridge: string): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      spec.networks = (spec.networks ?? []).filter((network) => network.bridge !== bridge);
    });
  }

  /** Adds an endpoint (a container's addresses and published ports) to a network, or replaces it where it is. */
  addEndpoint(bridge: string, endpoint: EndpointSpecInput): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = replaceOrAppend(network.endpoints ?? [], (e) => sameEndpoint(e, endpoint), endpoint);
    });
  }

  removeEndpoint(bridge: string, endpoint: EndpointRef): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = (network.endpoints ?? []).filter((e) => !sameEndpoint(e, endpoint));
    });
  }

  /** Publishes ports of an endpoint; a bulk call is one commit, however many ports. */
  addPorts(bridge: string, endpoint: EndpointRef, ports: readonly PortInput[]): Promise<ApplyResult> {
    return this.editPorts(false, (held) => held.addPorts(bridge, endpoint, ports));
  }

  /** Unpublishes the endpoint's ports equal to these (`8080` and `"8080"` are equal). */
  removePorts(bridge: string, endpoint: EndpointRef, ports: readonly PortInput[]): Promise<ApplyResult> {
    return this.editPorts(true, (held) => held.removePorts(bridge, endpoint, ports));
  }

  /** Sets (or with undefined removes) the swarm ingress. */
  setIngress(ingress: IngressSpecInput | undefined): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      if (ingress === undefined) delete spec.ingress;
      else spec.ingress = ingress;
    });
  }

  addIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    return this.editSpec((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = [...(spec.ingress.ports ?? []), ...ports];
    });
  }

  removeIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    const keys = new Set(ports.map((port) => `${port.proto}/${port.port}`));
    return this.editSpec((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = (spec.ingress.ports ?? []).filter((port) => !keys.has(`${port.proto}/${port.port}`));
    });
  }

  /** The spec this Firewall last applied, as edited since (validated: defaults filled, addresses canonical), or undefined. */
  currentSpec(): SpecInput | undefined {
    return this.held?.toInput();
  }

  /** Closes every kernel handle. Safe to call twice. */
  close(): void {
    this.closed = true;
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
  }

  private async applyHeld(next: HeldSpec, allocatedHostPorts: HostPortAllocation[]): Promise<ApplyResult> {
    const { spec } = next;
    const backend = await this.backend(spec.backend);
    const edits = this.held === undefined || !backend.applyPortChange ? undefined : portEditsBetween(this.held.spec, spec);
    // Independent kernel round trips, made at once; all end before any rule is committed.
    const [{ sysctls, hairpin }, inSync] = await Promise.all([
      this.writeHostSettings(spec),
      edits !== undefined && backend.inSync(),
    ]);
    let outcome: ApplyOutcome | undefined;
    if (edits !== undefined && backend.applyPortChange && inSync) {
      const changes = edits.flatMap((edit) => portChangeOf(spec, edit));
      outcome = changes.length === 0 ? NOTHING : await backend.applyPortChange(changes);
    }
    if (outcome === undefined) {
      const model = buildModel(spec);
      outcome = await backend.apply(model);
      this.keepModel(backend, model);
    }
    let otherBackendChanges = 0;
    // Once per switch, not on every apply: reading back the other flavour's
    // tables each time would double the kernel round-trips of every apply
    // (and of every watcher check).
    if (this.otherBackendsClearedFor !== spec.backend) {
      for (const other of BACKEND_NAMES) {
        if (other !== spec.backend) otherBackendChanges += (await (await this.backend(other)).flush()).changes;
      }
      this.otherBackendsClearedFor = spec.backend;
    }
    this.held = next;
    return { backend: spec.backend, ...outcome, warnings: warningsOf(outcome), sysctls, hairpin, otherBackendChanges, coalesced: 1, allocatedHostPorts };
  }

  private async writeHostSettings(spec: SpecView): Promise<{ sysctls: SysctlOutcome; hairpin: HairpinOutcome }> {
    const settings = hostSettingsOf(spec);
    const [sysctls, hairpin] = await Promise.all([
      writeSysctls(this.netns ?? '', settings.sysctls),
      setHairpinPorts(this.netns ?? '', settings.hairpinBridges),
    ]);
    return { sysctls, hairpin };
  }

  private editPorts(removes: boolean, edit: (held: HeldSpec) => PortEdit): Promise<ApplyResult> {
    return this.enqueue((resolve, reject) => ({ kind: 'ports', removes, edit, resolve, reject }));
  }

  private editSpec(change: (spec: SpecInput) => void): Promise<ApplyResult> {
    return this.enqueue((resolve, reject) => ({ kind: 'spec', change, resolve, reject }));
  }

  /**
   * Queues an edit. Edits issued while a commit is in flight (or in the same
   * tick) are merged into the next commit, each still resolved or rejected on
   * its own (group commit).
   */
  private enqueue(pending: (resolve: PendingEdit['resolve'], reject: PendingEdit['reject']) => PendingEdit): Promise<ApplyResult> {
    if (this.held === undefined) return Promise.reject(nothingApplied());
    return new Promise((resolve, reject) => {
      this.pendingEdits.push(pending(resolve, reject));
      this.editing ??= this.commitPendingEdits();
    });
  }

  private async commitPendingEdits(): Promise<void> {
    try {
      // One microtask: calls issued in the same tick share the first commit too.
      await null;
      while (this.pendingEdits.length > 0) {
        const group = takeGroup(this.pendingEdits);
        if (group[0]!.kind === 'ports') await this.commitPortEdits(group as PortPendingEdit[]);
        else await this.commitSpecEdits(group as SpecPendingEdit[]);
      }
    } finally {
      this.editing = undefined;
    }
  }

  /**
   * Commits a group of port calls as one change. Each call is validated on
   * its own against the held spec, which it edits in place; when the commit
   * fails, the edits are undone and, if the group holds more than one call,
   * each half is committed on its own, recursively, so a call the kernel
   * refuses fails alone at the cost of about log2 of the group extra commits.
   */
  private async commitPortEdits(group: PortPendingEdit[]): Promise<void> {
    const held = this.held;
    if (held === undefined) {
      for (const pending of group) pending.reject(nothingApplied());
      return;
    }
    const backend = await this.backend(held.spec.backend);
    const accepted: PortPendingEdit[] = [];
    const edits: PortEdit[] = [];
    const changes: FamilyPortChange[] = [];
    for (const pending of group) {
      try {
        const edit = pending.edit(held);
        edits.push(edit);
        accepted.push(pending);
        // Right after its edit: what a removal must keep depends on the ports left then.
        if (backend.applyPortChange) changes.push(...portChangeOf(held.spec, edit));
      } catch (error) {
        pending.reject(error);
      }
    }
    if (accepted.length === 0) return;
    try {
      let outcome = !backend.applyPortChange ? undefined : changes.length === 0 ? NOTHING : await backend.applyPortChange(changes);
      outcome ??= await this.commitModels(backend, this.modelBefore(held, edits), buildModel(held.spec));
      const warnings = warningsOf(outcome);
      for (const [index, pending] of accepted.entries()) {
        pending.resolve({
          backend: backend.name, ...outcome, warnings, ...noHostSettings(), otherBackendChanges: 0, coalesced: accepted.length,
          allocatedHostPorts: edits[index]!.allocations,
        });
      }
    } catch (error) {
      for (const edit of edits.reverse()) held.undo(edit);
      if (accepted.length === 1) accepted[0]!.reject(error);
      else {
        const half = Math.ceil(accepted.length / 2);
        await this.commitPortEdits(accepted.slice(0, half));
        await this.commitPortEdits(accepted.slice(half));
      }
    }
  }

  /** The model of the held spec as it was before `edits` (made on it, oldest first). */
  private modelBefore(held: HeldSpec, edits: readonly PortEdit[]): FirewallModel {
    if (this.model) return this.model;
    for (const edit of [...edits].reverse()) held.undo(edit);
    const before = buildModel(held.spec);
    for (const edit of edits) held.redo(edit);
    return before;
  }

  /** Makes the change from the held spec's model `before` to `after` on top of what the kernel holds. */
  private async commitModels(backend: Backend, before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    const outcome = await backend.applyChange(before, after);
    this.keepModel(backend, after);
    return outcome;
  }

  /** The held spec's model is kept only for a backend that plans every change from whole models. */
  private keepModel(backend: Backend, model: FirewallModel): void {
    this.model = backend.applyPortChange ? undefined : model;
  }

  /**
   * Commits a group of other calls as one change to the spec as input,
   * validated as a whole; bisected on failure like port calls.
   */
  private async commitSpecEdits(group: SpecPendingEdit[]): Promise<void> {
    if (this.held === undefined) {
      for (const pending of group) pending.reject(nothingApplied());
      return;
    }
    const input = this.held.toInput();
    const accepted: SpecPendingEdit[] = [];
    for (const pending of group) {
      // A change throws before it touches the spec (unknown network or endpoint).
      try {
        pending.change(input);
        accepted.push(pending);
      } catch (error) {
        pending.reject(error);
      }
    }
    if (accepted.length === 0) return;
    try {
      const next = HeldSpec.parse(input, await this.ephemeralPorts(), this.held);
      const backend = await this.backend(next.spec.backend);
      const hostSettings = await this.writeHostSettings(next.spec);
      const outcome = await this.commitModels(backend, this.model ?? buildModel(this.held.spec), buildModel(next.spec));
      this.held = next;
      const warnings = warningsOf(outcome);
      for (const pending of accepted) {
        pending.resolve({
          backend: next.spec.backend, ...outcome, warnings, ...hostSettings, otherBackendChanges: 0, coalesced: accepted.length,
          allocatedHostPorts: next.allocations,
        });
      }
    } catch (error) {
      if (accepted.length === 1) accepted[0]!.reject(error);
      else {
        const half = Math.ceil(accepted.length / 2);
        await this.commitSpecEdits(accepted.slice(0, half));
        await this.commitSpecEdits(accepted.slice(half));
      }
    }
  }

  /** The namespace's ephemeral ports, read once, as Docker's port allocator reads them once. */
  private ephemeralPorts(): Promise<EphemeralPorts> {
    // A failed read is tried again by the next call.
    this.ephemeral ??= readEphemeralPorts(this.netns ?? '').catch((error: unknown) => {
      this.ephemeral = undefined;
      throw error;
    });
    return this.ephemeral;
  }

  private async backend(name: BackendName): Promise<Backend> {
    if (this.closed) throw new ValidationError('firewall', 'the firewall is closed');
    const existing = this.backends.get(name);
    if (existing) return existing;
    const open = BACKENDS[name];
    if (!open) invalid('backend', `one of ${BACKEND_NAMES.join(', ')}`, name);
    const backend = await open(this.netns);
    this.backends.set(name, backend);
    return backend;
  }
}

type PortPendingEdit = Extract<PendingEdit, { kind: 'ports' }>;
type SpecPendingEdit = Extract<PendingEdit, { kind: 'spec' }>;

/**
 * The next group of queued edits committed together: consecutive edits of
 * one kind. A port group ends before a removal that follows an addition,
 * because a port commit deletes before it adds (see port-delta.ts).
 */
function takeGroup(queue: PendingEdit[]): PendingEdit[] {
  const first = queue[0]!;
  let adding = first.kind === 'ports' && !first.removes;
  let end = 1;
  for (; end < queue.length; end++) {
    const next = queue[end]!;
    if (next.kind !== first.kind) break;
    if (next.kind === 'ports') {
      if (next.removes && adding) break;
      adding ||= !next.removes;
    }
  }
  return queue.splice(0, end);
}

/** The warnings of the outcomes that make up one result, each once. */
function warningsOf(...outcomes: ApplyOutcome[]): Warning[] {
  const warnings = new Warnings();
  for (const outcome of outcomes) warnings.addAll(outcome.warnings);
  return warnings.list();
}

function nothingApplied(): ValidationError {
  return new ValidationError('spec', 'nothing applied yet: call apply(spec) first (e.g. with { networks: [] })');
}

/**
 * `list` with `item` in place of the first entry `replaces` picks (others it
 * picks go), or at the end: kept in place, what a replacement leaves unchanged
 * stays where the kernel holds it, and a declarative apply of the result
 * finds it there.
 */
function replaceOrAppend<T>(list: readonly T[], replaces: (entry: T) => boolean, item: T): T[] {
  const index = list.findIndex(replaces);
  if (index === -1) return [...list, item];
  return list.flatMap((entry, i) => (i === index ? [item] : replaces(entry) ? [] : [entry]));
}

function networkOf(spec: SpecInput, bridge: string): NetworkSpecInput {
  const network = (spec.networks ?? []).find((n) => n.bridge === bridge);
  if (!network) throw new ValidationError('bridge', `no network with bridge ${JSON.stringify(bridge)} has been added`);
  return network;
}
