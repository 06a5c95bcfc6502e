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
 *
 * Every call takes its turn in one queue, in call order (see `enqueue`), so
 * calls issued together take effect as if each had been awaited before the
 * next; consecutive port calls (and consecutive other edits) still share one
 * commit.
 */
import {
  inCallerTerms, readBridge, readEndpoint, readIngress, readIngressPorts, readNetwork, readPorts, type ArgumentPlace,
} from './arguments.js';
import type { ApplyOutcome, Backend, BackendName, BackendState, DryRun, ReadAhead } from './backends/backend.js';
import { addCounts, noChanges, type ChangeCounts } from './backends/change-counts.js';
import type { BindingCounters } from './backends/counters.js';
import { IptablesBackend } from './backends/iptables/backend.js';
import { NftablesBackend } from './backends/nftables/backend.js';
import { MappingFollower, type ConntrackOutcome } from './conntrack.js';
import { buildModel, hostSettingsOf, type FirewallModel } from './docker/model.js';
import { portChangeOf, type FamilyPortChange } from './docker/port-change.js';
import { invalid, ValidationError } from './errors.js';
import { NamespacePath } from './netns.js';
import { HeldSpec, portEditsBetween, sameEndpoint, type EndpointRef, type PortEdit } from './held/held-spec.js';
import type { EphemeralPorts, HostPortAllocation } from './input/host-ports.js';
import type { EndpointSpecInput, IngressPortSpec as IngressPortSpecInput, IngressSpec as IngressSpecInput, NetworkSpecInput, PortInput, SpecInput } from './input/types.js';
import { DEFAULT_BACKEND } from './input/validate.js';
import type { SpecView } from './held/packed.js';
import { setUpForwarding } from './forwarding.js';
import { readEphemeralPorts, setHairpinPorts, writeSysctls, type HairpinOutcome, type SysctlOutcome } from './sysctl.js';
import { Warnings, type Warning } from './warnings.js';

export interface FirewallOptions {
  /**
   * The network namespace, by absolute path, e.g. /run/netns/NAME or
   * /proc/PID/ns/net; default (and the only way to ask for it): the caller's own.
   */
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
  /** What removing it deleted: rules, chains, sets and set elements. */
  otherBackendCounts: ChangeCounts;
  /** Imperative calls that shared this commit (group commit); 1 for apply. */
  coalesced: number;
  /** Connection tracking entries of the port mappings this commit changed, deleted after it (see conntrack.ts). */
  conntrack: ConntrackOutcome;
  /**
   * Host ports this call chose, from the namespace's ephemeral range, for
   * ports published without one on a network with NAT, as Docker does: the
   * port's field in the call (`networks[0].endpoints[0].ports[1]`, or
   * `ports[1]` for addPorts) and its host port. currentSpec() keeps them.
   */
  allocatedHostPorts: HostPortAllocation[];
}

export interface DryRunOptions {
  /** Print the ruleset the apply would leave instead of the change. */
  full?: boolean;
}

export interface DryRunResult extends DryRun {
  backend: BackendName;
}

/**
 * A call waiting for its turn: a port call edits the held spec in place, any
 * other imperative call the spec as input; apply, reapply, flush, show and
 * dryRun run alone.
 */
type QueuedCall = { reject: (error: unknown) => void } & (
  | { kind: 'ports'; removes: boolean; edit: (held: HeldSpec) => PortEdit; resolve: (result: ApplyResult) => void }
  | { kind: 'spec'; change: (spec: SpecInput) => ArgumentPlace | void; resolve: (result: ApplyResult) => void }
  | { kind: 'alone'; run: () => Promise<unknown>; resolve: (result: unknown) => void }
);

type BackendOpener = (netns: string | undefined) => Promise<Backend>;

const BACKENDS: Record<BackendName, BackendOpener> = {
  iptables: (netns) => IptablesBackend.open('iptables', netns === undefined ? {} : { netns }),
  'iptables-nft': (netns) => IptablesBackend.open('iptables-nft', netns === undefined ? {} : { netns }),
  nftables: (netns) => NftablesBackend.open(netns === undefined ? {} : { netns }),
};

const NOTHING: ApplyOutcome = { commits: 0, changes: 0, counts: noChanges() };
/** Port calls write no host settings: those depend on networks and ingress only. */
function noHostSettings(): { sysctls: SysctlOutcome; hairpin: HairpinOutcome } {
  return { sysctls: { written: [], missing: [] }, hairpin: { set: [], missing: [] } };
}

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

export class Firewall {
  private readonly backends = new Map<BackendName, Backend>();
  /** The spec last applied, as edited since. */
  private held: HeldSpec | undefined;
  /** The backend whose apply last removed the other flavour's rules from the namespace. */
  private otherBackendsClearedFor: BackendName | undefined;
  /** Calls waiting for their turn, oldest first. */
  private queue: QueuedCall[] = [];
  /** The loop taking the queued calls in turn, while there are any. */
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Clears the connection tracking entries of the mappings each commit changes. */
  private readonly conntrack: MappingFollower;
  /** The namespace's ephemeral ports, read on first need. */
  private ephemeral: Promise<EphemeralPorts> | undefined;

  private constructor(private readonly namespace: NamespacePath | undefined) {
    this.conntrack = new MappingFollower(namespace?.path ?? '');
  }

  private get netns(): string | undefined {
    return this.namespace?.path;
  }

  /**
   * Opens a Firewall on the caller's own namespace, or on `netns`, which must
   * exist, be a network namespace the caller may enter, and not be the
   * caller's own (NetfilterError ENOENT, EINVAL, EPERM; ValidationError
   * `netns`). Nothing is written yet.
   */
  static async open(options: FirewallOptions = {}): Promise<Firewall> {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an options object', options);
    return new Firewall(options.netns === undefined ? undefined : await NamespacePath.open(options.netns));
  }

  /** Makes the namespace match `spec`: what it no longer lists is removed; daemon-level chains stay. */
  async apply(input: SpecInput): Promise<ApplyResult> {
    const adopt = adoptOf(input);
    return this.runAlone(async () => {
      const [ephemeral, readAhead] = await Promise.all([this.ephemeralPorts(), this.readAhead(input, adopt)]);
      // Parsed in its turn: the host ports it keeps are those the spec held then.
      const next = HeldSpec.parse(input, ephemeral, this.held);
      return this.applyHeld(next, next.allocations, adopt, readAhead);
    });
  }

  /**
   * Where this apply will read the kernel whole (no spec of the backend the
   * input names is held, or adopting): that backend's reads begun, so the
   * kernel works while the spec is validated (a fresh process's first apply
   * spends about as long on each). Undefined otherwise, or when the input
   * names no backend we know or it fails to open: the apply then reads, or
   * fails, in its turn.
   */
  private async readAhead(input: SpecInput, adopt: boolean): Promise<ReadAhead | undefined> {
    const name = typeof input === 'object' && input !== null ? (input as { backend?: unknown }).backend ?? DEFAULT_BACKEND : undefined;
    if (!isBackendName(name) || (this.held?.spec.backend === name && !adopt)) return undefined;
    try {
      return (await this.backend(name)).readAhead();
    } catch {
      return undefined;
    }
  }

  /**
   * Applies the spec last applied (as edited since) again, repairing what
   * someone else changed; commits nothing, and reads nothing back, while the
   * kernel has not changed since this Firewall's last commit (nftables).
   * Undefined when nothing is applied (none yet, or flushed).
   */
  async reapply(): Promise<ApplyResult | undefined> {
    return this.runAlone(async () => (this.held === undefined ? undefined : this.applyHeld(this.held, [])));
  }

  /**
   * What apply(spec) would commit, in the backend's syntax, and what that
   * adds and deletes; with `full`, the ruleset it would leave. Nothing is written.
   */
  async dryRun(input: SpecInput, options: DryRunOptions = {}): Promise<DryRunResult> {
    const adopt = adoptOf(input);
    const full = fullOf(options);
    return this.runAlone(async () => {
      const { spec } = HeldSpec.parse(input, await this.ephemeralPorts(), this.held);
      return { backend: spec.backend, ...await (await this.backend(spec.backend)).dryRun(buildModel(spec), { adopt, full }) };
    });
  }

  /** What the backend reads back from the namespace's kernel, each chain, rule and set marked whose it is (see BackendState). */
  async show(backend: BackendName = 'nftables'): Promise<BackendState> {
    const name = readBackendName(backend);
    return this.runAlone(async () => (await this.backend(name)).show());
  }

  /**
   * Each port binding of `spec` (default: the spec this Firewall holds; none:
   * []) with the packets and bytes its DNAT and forwarding rules or elements
   * counted, read back from the kernel through the spec's backend. A binding
   * the kernel does not hold (or holds for someone else) has no counters.
   */
  async counters(input?: SpecInput): Promise<BindingCounters[]> {
    return this.runAlone(async () => {
      const held = input === undefined ? this.held?.spec : undefined;
      const spec = held ?? (input === undefined ? undefined : HeldSpec.parse(input, await this.ephemeralPorts(), this.held).spec);
      if (spec === undefined) return [];
      return (await this.backend(spec.backend)).counters(buildModel(spec));
    });
  }

  /** Removes everything the library owns in the namespace for that backend. */
  async flush(backend: BackendName = 'nftables'): Promise<ApplyOutcome> {
    const name = readBackendName(backend);
    return this.runAlone(async () => {
      const outcome = await (await this.backend(name)).flush();
      this.held = undefined;
      return outcome;
    });
  }

  // ---- Docker's firewaller, imperatively -----------------------------------

  /** Adds the network with this bridge name, or replaces it where it is. */
  async addNetwork(network: NetworkSpecInput): Promise<ApplyResult> {
    const { bridge } = readNetwork(network);
    return this.editSpec((spec) => {
      spec.networks = replaceOrAppend(spec.networks ?? [], (n) => n.bridge === bridge, network);
      return { name: 'network', path: `networks[${spec.networks.indexOf(network)}]` };
    });
  }

  async removeNetwork(bridge: string): Promise<ApplyResult> {
    readBridge(bridge);
    return this.editSpec((spec) => {
      spec.networks = (spec.networks ?? []).filter((network) => network.bridge !== bridge);
    });
  }

  /** Adds an endpoint (a container's addresses and published ports) to a network, or replaces it where it is. */
  async addEndpoint(bridge: string, endpoint: EndpointSpecInput): Promise<ApplyResult> {
    readBridge(bridge);
    readEndpoint(endpoint);
    return this.editSpec((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = replaceOrAppend(network.endpoints ?? [], (e) => sameEndpoint(e, endpoint), endpoint);
      return { name: 'endpoint', path: `networks[${spec.networks!.indexOf(network)}].endpoints[${network.endpoints.indexOf(endpoint)}]` };
    });
  }

  async removeEndpoint(bridge: string, endpoint: EndpointRef): Promise<ApplyResult> {
    readBridge(bridge);
    readEndpoint(endpoint);
    return this.editSpec((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = (network.endpoints ?? []).filter((e) => !sameEndpoint(e, endpoint));
    });
  }

  /**
   * Publishes ports of an endpoint; a bulk call is one commit, however many
   * ports. A port already published exactly so is left as it is (`changes: 0`).
   */
  async addPorts(bridge: string, endpoint: EndpointRef, ports: readonly PortInput[]): Promise<ApplyResult> {
    readBridge(bridge);
    readEndpoint(endpoint);
    readPorts(ports);
    return this.editPorts(false, (held) => held.addPorts(bridge, endpoint, ports));
  }

  /**
   * Unpublishes these ports of the endpoint, whatever shape they were
   * published in (one port of a range, a range over ports published one by
   * one); what is not published is left alone (`changes: 0`).
   */
  async removePorts(bridge: string, endpoint: EndpointRef, ports: readonly PortInput[]): Promise<ApplyResult> {
    readBridge(bridge);
    readEndpoint(endpoint);
    readPorts(ports);
    return this.editPorts(true, (held) => held.removePorts(bridge, endpoint, ports));
  }

  /** Sets (or with undefined removes) the swarm ingress. */
  async setIngress(ingress: IngressSpecInput | undefined): Promise<ApplyResult> {
    readIngress(ingress);
    return this.editSpec((spec) => {
      if (ingress === undefined) delete spec.ingress;
      else spec.ingress = ingress;
    });
  }

  async addIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    readIngressPorts(ports);
    return this.editSpec((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = [...(spec.ingress.ports ?? []), ...ports];
    });
  }

  async removeIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    const keys = new Set(readIngressPorts(ports).map((port) => `${port.proto}/${port.port}`));
    return this.editSpec((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = (spec.ingress.ports ?? []).filter((port) => !keys.has(`${port.proto}/${port.port}`));
    });
  }

  /** The spec this Firewall last applied, as edited since (validated: defaults filled, addresses canonical), or undefined. */
  currentSpec(): SpecInput | undefined {
    return this.held?.toInput();
  }

  /**
   * Closes the Firewall: calls still waiting for their turn reject, and so
   * does every later call (ValidationError, field `firewall`); a call already
   * taking its turn completes. The kernel handles are closed once it has:
   * the promise resolves then. Safe to call twice.
   */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const call of this.queue.splice(0)) call.reject(closedError());
      if (this.draining === undefined) this.closeBackends();
    }
    return this.draining ?? Promise.resolve();
  }

  private closeBackends(): void {
    this.conntrack.close();
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
  }

  private async applyHeld(next: HeldSpec, allocatedHostPorts: HostPortAllocation[], adopt = false, readAhead?: ReadAhead): Promise<ApplyResult> {
    const { spec } = next;
    const backend = await this.backend(spec.backend);
    const edits = this.held === undefined || adopt ? undefined : portEditsBetween(this.held.spec, spec);
    // Independent kernel round trips, made at once; all end before any rule is committed.
    const [{ sysctls, hairpin, warnings: hostWarnings }, inSync] = await Promise.all([
      this.writeHostSettings(spec, backend),
      edits !== undefined && backend.inSync(),
    ]);
    let outcome: ApplyOutcome | undefined;
    let changes: FamilyPortChange[] | undefined;
    if (edits !== undefined && inSync) {
      changes = edits.flatMap((edit) => portChangeOf(spec, edit));
      outcome = changes.length === 0 ? NOTHING : await backend.applyPortChange(changes, () => buildModel(spec));
    }
    outcome ??= await backend.apply(() => buildModel(spec), { adopt, readAhead });
    // Held as soon as the kernel has it: what follows may fail, and the next call must start from what was committed.
    const before = this.held?.spec;
    this.held = next;
    const followed = await this.conntrack.follow(changes ? { ports: changes } : { before, after: spec }, outcome);
    let otherBackendChanges = 0;
    const otherBackendCounts = noChanges();
    const otherBackendWarnings: Warning[] = [];
    // Once per switch, not on every apply: reading back the other flavour's
    // tables each time would double the kernel round-trips of every apply
    // (and of every watcher check).
    if (this.otherBackendsClearedFor !== spec.backend) {
      // At once: each backend's tables are its own (legacy x_tables, nf_tables tables of its own).
      const others = BACKEND_NAMES.filter((other) => other !== spec.backend);
      for (const flushed of await Promise.all(others.map(async (other) => (await this.backend(other)).flush()))) {
        otherBackendChanges += flushed.changes;
        addCounts(otherBackendCounts, flushed.counts);
        otherBackendWarnings.push(...flushed.warnings ?? []);
      }
      this.otherBackendsClearedFor = spec.backend;
    }
    return {
      backend: spec.backend, ...followed, warnings: warningsOf(hostWarnings, followed.warnings, otherBackendWarnings), sysctls, hairpin, otherBackendChanges, otherBackendCounts,
      coalesced: 1, allocatedHostPorts,
    };
  }

  /**
   * Forwarding first (the nftables backend refuses while it is off, before
   * anything is written), then the model's sysctls and hairpin mode.
   */
  private async writeHostSettings(spec: SpecView, backend: Backend): Promise<{ sysctls: SysctlOutcome; hairpin: HairpinOutcome; warnings: Warning[] }> {
    const forwarding = await setUpForwarding(this.netns ?? '', spec, backend);
    const settings = hostSettingsOf(spec);
    const [sysctls, hairpin] = await Promise.all([
      writeSysctls(this.netns ?? '', settings.sysctls),
      setHairpinPorts(this.netns ?? '', settings.hairpinBridges),
    ]);
    return { sysctls: { ...sysctls, written: [...forwarding.written, ...sysctls.written] }, hairpin, warnings: forwarding.warnings };
  }

  private editPorts(removes: boolean, edit: (held: HeldSpec) => PortEdit): Promise<ApplyResult> {
    return this.enqueue((resolve, reject) => ({ kind: 'ports', removes, edit, resolve, reject }));
  }

  /** `change` edits the spec as input, and returns where the caller's argument went, if it went in whole. */
  private editSpec(change: (spec: SpecInput) => ArgumentPlace | void): Promise<ApplyResult> {
    return this.enqueue((resolve, reject) => ({ kind: 'spec', change, resolve, reject }));
  }

  private runAlone<T>(run: () => Promise<T>): Promise<T> {
    return this.enqueue<T>((resolve, reject) => ({ kind: 'alone', run, resolve: resolve as (result: unknown) => void, reject }));
  }

  /**
   * Queues a call; it takes effect after every call made before it. Calls
   * that arrive while another is under way (or in the same tick) wait, and
   * consecutive edits of one kind are then committed together, each still
   * resolved or rejected on its own (group commit).
   */
  private enqueue<T>(call: (resolve: (result: T) => void, reject: (error: unknown) => void) => QueuedCall): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push(call(resolve, reject));
      this.draining ??= this.drain();
    });
  }

  /**
   * Takes the queued calls in turn, a group at a time; settles every call,
   * and never rejects itself. Before each turn the namespace must still be
   * the one opened. Once closed, the handles are closed after the last turn.
   */
  private async drain(): Promise<void> {
    // One microtask: calls issued in the same tick share the first commit too.
    await null;
    while (this.queue.length > 0) {
      const group = takeGroup(this.queue);
      try {
        this.namespace?.check();
        await this.take(group);
      } catch (error) {
        // A call that failed as its namespace went away fails as every later call will: the namespace is gone
        // (deleted during the call, its path may read for a moment as a file that is no namespace at all).
        const reported = this.namespaceGone() ?? error;
        // Calls already settled (a group is settled call by call) ignore this.
        for (const call of group) call.reject(reported);
      }
    }
    this.draining = undefined;
    if (this.closed) this.closeBackends();
  }

  /** The error every call now meets when the path no longer names the namespace this Firewall opened. */
  private namespaceGone(): unknown {
    try {
      this.namespace?.check();
      return undefined;
    } catch (gone) {
      return gone;
    }
  }

  private async take(group: QueuedCall[]): Promise<void> {
    const first = group[0]!;
    if (first.kind === 'alone') first.resolve(await first.run());
    else if (first.kind === 'ports') await this.commitPortEdits(group as PortPendingEdit[]);
    else await this.commitSpecEdits(group as SpecPendingEdit[]);
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
        changes.push(...portChangeOf(held.spec, edit));
      } catch (error) {
        pending.reject(error);
      }
    }
    if (accepted.length === 0) return;
    let outcome: ApplyOutcome;
    try {
      // Nothing to publish or unpublish (all published already, or none of it): no kernel round trip, whatever the backend.
      const changesNothing = edits.every((edit) => edit.added.length === 0 && edit.removed.length === 0);
      outcome = (changesNothing || changes.length === 0 ? NOTHING : await backend.applyPortChange(changes, () => buildModel(held.spec))) ??
        await backend.applyChange(() => this.modelBefore(held, edits), buildModel(held.spec));
    } catch (error) {
      for (const edit of edits.reverse()) held.undo(edit);
      if (accepted.length === 1) accepted[0]!.reject(error);
      else {
        const half = Math.ceil(accepted.length / 2);
        await this.commitPortEdits(accepted.slice(0, half));
        await this.commitPortEdits(accepted.slice(half));
      }
      return;
    }
    // After the commit, never undone by what follows it.
    const followed = await this.conntrack.follow({ ports: changes }, outcome);
    const warnings = warningsOf(followed.warnings);
    for (const [index, pending] of accepted.entries()) {
      pending.resolve({
        backend: backend.name, ...followed, warnings, ...noHostSettings(), otherBackendChanges: 0, otherBackendCounts: noChanges(), coalesced: accepted.length,
        allocatedHostPorts: edits[index]!.allocations,
      });
    }
  }

  /** The model of the held spec as it was before `edits` (made on it, oldest first). */
  private modelBefore(held: HeldSpec, edits: readonly PortEdit[]): FirewallModel {
    for (const edit of [...edits].reverse()) held.undo(edit);
    const before = buildModel(held.spec);
    for (const edit of edits) held.redo(edit);
    return before;
  }


  /**
   * Commits a group of other calls as one change to the spec as input,
   * validated as a whole; bisected on failure like port calls. A call
   * failing alone on its own argument is told so in its own terms
   * (`network.ipv4.subnet`, not `networks[3].ipv4.subnet`).
   */
  private async commitSpecEdits(group: SpecPendingEdit[]): Promise<void> {
    if (this.held === undefined) {
      for (const pending of group) pending.reject(nothingApplied());
      return;
    }
    const input = this.held.toInput();
    const accepted: SpecPendingEdit[] = [];
    let place: ArgumentPlace | void = undefined;
    for (const pending of group) {
      // A change throws before it touches the spec (unknown network or endpoint).
      try {
        place = pending.change(input);
        accepted.push(pending);
      } catch (error) {
        pending.reject(error);
      }
    }
    if (accepted.length === 0) return;
    try {
      const next = HeldSpec.parse(input, await this.ephemeralPorts(), this.held);
      const backend = await this.backend(next.spec.backend);
      const { warnings: hostWarnings, ...hostSettings } = await this.writeHostSettings(next.spec, backend);
      const held = this.held;
      const outcome = await backend.applyChange(() => buildModel(held.spec), buildModel(next.spec));
      const before = this.held.spec;
      this.held = next;
      const followed = await this.conntrack.follow({ before, after: next.spec }, outcome);
      const warnings = warningsOf(hostWarnings, followed.warnings);
      for (const pending of accepted) {
        pending.resolve({
          backend: next.spec.backend, ...followed, warnings, ...hostSettings, otherBackendChanges: 0, otherBackendCounts: noChanges(), coalesced: accepted.length,
          allocatedHostPorts: next.allocations,
        });
      }
    } catch (error) {
      if (accepted.length === 1) accepted[0]!.reject(inCallerTerms(error, place));
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

  /** The backend's handle, opened on first use (calls made before close() may still open one: close() closes it after them). */
  private async backend(name: BackendName): Promise<Backend> {
    const existing = this.backends.get(name);
    if (existing) return existing;
    const backend = await BACKENDS[readBackendName(name)](this.netns);
    this.backends.set(name, backend);
    return backend;
  }
}

type PortPendingEdit = Extract<QueuedCall, { kind: 'ports' }>;
type SpecPendingEdit = Extract<QueuedCall, { kind: 'spec' }>;

/**
 * The next group of queued calls taken together: consecutive edits of one
 * kind, or one call that runs alone. A port group ends before a removal that
 * follows an addition, because a port commit deletes before it adds (see
 * port-delta.ts).
 */
function takeGroup(queue: QueuedCall[]): QueuedCall[] {
  const first = queue[0]!;
  let adding = first.kind === 'ports' && !first.removes;
  let end = 1;
  for (; end < queue.length && first.kind !== 'alone'; end++) {
    const next = queue[end]!;
    if (next.kind !== first.kind) break;
    if (next.kind === 'ports') {
      if (next.removes && adding) break;
      adding ||= !next.removes;
    }
  }
  return queue.splice(0, end);
}

/** The warnings of the steps that make up one result, each once. */
function warningsOf(...lists: (readonly Warning[] | undefined)[]): Warning[] {
  const warnings = new Warnings();
  for (const list of lists) warnings.addAll(list);
  return warnings.list();
}

function closedError(): ValidationError {
  return new ValidationError('firewall', 'the firewall is closed: open a new one');
}

function readBackendName(name: unknown): BackendName {
  if (!isBackendName(name)) invalid('backend', `one of ${BACKEND_NAMES.join(', ')}`, name);
  return name;
}

function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && Object.hasOwn(BACKENDS, name);
}

/** The spec's `adopt`: a one-off instruction to the apply, not part of the spec held. */
function adoptOf(input: SpecInput): boolean {
  // Anything but an object is refused by the spec's own validation.
  const adopt = typeof input === 'object' && input !== null ? (input as { adopt?: unknown }).adopt : undefined;
  if (adopt !== undefined && typeof adopt !== 'boolean') invalid('adopt', 'true or false', adopt);
  return adopt === true;
}

function fullOf(options: DryRunOptions): boolean {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an options object', options);
  if (options.full !== undefined && typeof options.full !== 'boolean') invalid('options.full', 'true or false', options.full);
  return options.full === true;
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
