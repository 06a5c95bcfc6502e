/**
 * Firewall: Docker's bridge-network firewall on one network namespace.
 *
 * `apply(spec)` is declarative: the spec is validated, turned into the model,
 * compared with what the kernel holds, and only the difference is committed,
 * all or nothing. The imperative calls, shaped like Docker's firewaller
 * (networks, endpoints, port bindings, ingress), edit the spec this Firewall
 * last applied and make only that edit's change on top of what the kernel
 * holds, so that several processes editing one namespace add up.
 */
import type { ApplyOutcome, Backend, BackendName, BackendState } from './backends/backend.js';
import { IptablesBackend } from './backends/iptables/backend.js';
import { NftablesBackend } from './backends/nftables/backend.js';
import { buildModel, type FirewallModel } from './docker/model.js';
import { invalid, ValidationError } from './errors.js';
import { checkNetns } from './nft/connection.js';
import type { EndpointSpecInput, IngressPortSpec as IngressPortSpecInput, IngressSpec as IngressSpecInput, NetworkSpecInput, PortSpecInput, SpecInput } from './spec/types.js';
import { parseSpec } from './spec/validate.js';
import { setHairpinPorts, writeSysctls, type HairpinOutcome, type SysctlOutcome } from './sysctl.js';

export interface FirewallOptions {
  /** The network namespace, e.g. /run/netns/NAME or /proc/PID/ns/net; default: the caller's own. */
  netns?: string;
}

export interface ApplyResult extends ApplyOutcome {
  backend: BackendName;
  sysctls: SysctlOutcome;
  hairpin: HairpinOutcome;
  /** Changes made to remove what the other backend had programmed in this namespace. */
  otherBackendChanges: number;
  /** Imperative calls that shared this commit (group commit); 1 for apply. */
  coalesced: number;
}

interface PendingEdit {
  change: (spec: SpecInput) => void;
  resolve: (result: ApplyResult) => void;
  reject: (error: unknown) => void;
}

type BackendOpener = (netns: string | undefined) => Promise<Backend>;

const BACKENDS: Record<BackendName, BackendOpener> = {
  iptables: (netns) => IptablesBackend.open(netns === undefined ? {} : { netns }),
  nftables: (netns) => NftablesBackend.open(netns === undefined ? {} : { netns }),
};

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

export class Firewall {
  private readonly backends = new Map<BackendName, Backend>();
  private spec: SpecInput | undefined;
  /** The backend whose apply last removed the other flavour's rules from the namespace. */
  private otherBackendsClearedFor: BackendName | undefined;
  /** The model of `spec`, the starting point of the next edit. */
  private model: FirewallModel | undefined;
  private pendingEdits: PendingEdit[] = [];
  private editing: Promise<void> | undefined;
  private closed = false;

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
    const spec = parseSpec(input);
    const model = buildModel(spec);
    const backend = await this.backend(spec.backend);
    const sysctls = await writeSysctls(this.netns ?? '', model.sysctls);
    const hairpin = await setHairpinPorts(this.netns ?? '', model.hairpinBridges);
    const outcome = await backend.apply(model);
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
    this.spec = structuredClone(input);
    this.model = model;
    return { backend: spec.backend, ...outcome, sysctls, hairpin, otherBackendChanges, coalesced: 1 };
  }

  /** What apply(spec) would commit, in the backend's syntax; nothing is written. */
  async dryRun(input: SpecInput): Promise<string> {
    const spec = parseSpec(input);
    return (await this.backend(spec.backend)).dryRun(buildModel(spec));
  }

  /** What the library owns in the namespace, read back from the kernel. */
  async show(backend: BackendName = 'nftables'): Promise<BackendState> {
    return (await this.backend(backend)).show();
  }

  /** Removes everything the library owns in the namespace for that backend. */
  async flush(backend: BackendName = 'nftables'): Promise<ApplyOutcome> {
    const outcome = await (await this.backend(backend)).flush();
    this.spec = undefined;
    this.model = undefined;
    return outcome;
  }

  // ---- Docker's firewaller, imperatively -----------------------------------

  /** Adds (or replaces) the network with this bridge name. */
  addNetwork(network: NetworkSpecInput): Promise<ApplyResult> {
    return this.edit((spec) => {
      spec.networks = [...(spec.networks ?? []).filter((n) => n.bridge !== network.bridge), network];
    });
  }

  removeNetwork(bridge: string): Promise<ApplyResult> {
    return this.edit((spec) => {
      spec.networks = (spec.networks ?? []).filter((network) => network.bridge !== bridge);
    });
  }

  /** Adds an endpoint (a container's addresses and published ports) to a network. */
  addEndpoint(bridge: string, endpoint: EndpointSpecInput): Promise<ApplyResult> {
    return this.edit((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = [...(network.endpoints ?? []).filter((e) => !sameEndpoint(e, endpoint)), endpoint];
    });
  }

  removeEndpoint(bridge: string, endpoint: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>): Promise<ApplyResult> {
    return this.edit((spec) => {
      const network = networkOf(spec, bridge);
      network.endpoints = (network.endpoints ?? []).filter((e) => !sameEndpoint(e, endpoint));
    });
  }

  /** Publishes ports of an endpoint; a bulk call is one commit per table, however many ports. */
  addPorts(bridge: string, endpoint: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>, ports: readonly PortSpecInput[]): Promise<ApplyResult> {
    return this.edit((spec) => {
      const target = endpointOf(spec, bridge, endpoint);
      target.ports ??= [];
      for (const port of ports) target.ports.push(port);
    });
  }

  removePorts(bridge: string, endpoint: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>, ports: readonly PortSpecInput[]): Promise<ApplyResult> {
    const keys = new Set(ports.map(portKey));
    return this.edit((spec) => {
      const target = endpointOf(spec, bridge, endpoint);
      target.ports = (target.ports ?? []).filter((port) => !keys.has(portKey(port)));
    });
  }

  /** Sets (or with undefined removes) the swarm ingress. */
  setIngress(ingress: IngressSpecInput | undefined): Promise<ApplyResult> {
    return this.edit((spec) => {
      if (ingress === undefined) delete spec.ingress;
      else spec.ingress = ingress;
    });
  }

  addIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    return this.edit((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = [...(spec.ingress.ports ?? []), ...ports];
    });
  }

  removeIngressPorts(ports: readonly IngressPortSpecInput[]): Promise<ApplyResult> {
    const keys = new Set(ports.map((port) => `${port.proto}/${port.port}`));
    return this.edit((spec) => {
      if (!spec.ingress) throw new ValidationError('ingress', 'no ingress is set: call setIngress() first');
      spec.ingress.ports = (spec.ingress.ports ?? []).filter((port) => !keys.has(`${port.proto}/${port.port}`));
    });
  }

  /** The spec this Firewall last applied, or undefined. */
  currentSpec(): SpecInput | undefined {
    return this.spec === undefined ? undefined : structuredClone(this.spec);
  }

  /** Closes every kernel handle. Safe to call twice. */
  close(): void {
    this.closed = true;
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
  }

  /**
   * Queues an edit. Edits issued while a commit is in flight (or in the same
   * tick) are merged into the next commit, each still resolved or rejected on
   * its own (group commit).
   */
  private edit(change: (spec: SpecInput) => void): Promise<ApplyResult> {
    if (this.spec === undefined) return Promise.reject(nothingApplied());
    return new Promise((resolve, reject) => {
      this.pendingEdits.push({ change, resolve, reject });
      this.editing ??= this.commitPendingEdits();
    });
  }

  private async commitPendingEdits(): Promise<void> {
    try {
      // One microtask: calls issued in the same tick share the first commit too.
      await null;
      while (this.pendingEdits.length > 0) await this.commitEdits(this.pendingEdits.splice(0));
    } finally {
      this.editing = undefined;
    }
  }

  /**
   * Commits a group of edits as one change. The group is validated as a
   * whole; when it fails (a bad spec, a refused commit) and holds more than
   * one edit, each half is committed on its own, recursively, so a bad call
   * fails alone at the cost of a few extra commits (about log2 of the group)
   * instead of every call paying for a validation of the whole spec.
   */
  private async commitEdits(group: PendingEdit[]): Promise<void> {
    if (this.spec === undefined) {
      for (const edit of group) edit.reject(nothingApplied());
      return;
    }
    const next = structuredClone(this.spec);
    const accepted: PendingEdit[] = [];
    for (const edit of group) {
      // A change throws before it touches the spec (unknown network or endpoint).
      try {
        edit.change(next);
        accepted.push(edit);
      } catch (error) {
        edit.reject(error);
      }
    }
    if (accepted.length === 0) return;
    try {
      const result = await this.commitSpec(next);
      for (const edit of accepted) edit.resolve({ ...result, coalesced: accepted.length });
    } catch (error) {
      if (accepted.length === 1) accepted[0]!.reject(error);
      else {
        const half = Math.ceil(accepted.length / 2);
        await this.commitEdits(accepted.slice(0, half));
        await this.commitEdits(accepted.slice(half));
      }
    }
  }

  /** Makes the change from the spec last applied to `next` on top of what the kernel holds. */
  private async commitSpec(next: SpecInput): Promise<ApplyResult> {
    const spec = parseSpec(next);
    const after = buildModel(spec);
    const backend = await this.backend(spec.backend);
    const sysctls = await writeSysctls(this.netns ?? '', after.sysctls);
    const hairpin = await setHairpinPorts(this.netns ?? '', after.hairpinBridges);
    const outcome = await backend.applyChange(this.model!, after);
    this.spec = next;
    this.model = after;
    return { backend: spec.backend, ...outcome, sysctls, hairpin, otherBackendChanges: 0, coalesced: 1 };
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

function nothingApplied(): ValidationError {
  return new ValidationError('spec', 'nothing applied yet: call apply(spec) first (e.g. with { networks: [] })');
}

function networkOf(spec: SpecInput, bridge: string): NetworkSpecInput {
  const network = (spec.networks ?? []).find((n) => n.bridge === bridge);
  if (!network) throw new ValidationError('bridge', `no network with bridge ${JSON.stringify(bridge)} has been added`);
  return network;
}

function sameEndpoint(a: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>, b: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>): boolean {
  return (a.ipv4 !== undefined && a.ipv4 === b.ipv4) || (a.ipv6 !== undefined && a.ipv6 === b.ipv6);
}

function endpointOf(spec: SpecInput, bridge: string, endpoint: Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>): EndpointSpecInput {
  const found = (networkOf(spec, bridge).endpoints ?? []).find((e) => sameEndpoint(e, endpoint));
  if (!found) throw new ValidationError('endpoint', `no endpoint ${JSON.stringify(endpoint)} in network ${bridge}`);
  return found;
}

function portKey(port: PortSpecInput): string {
  return `${port.proto}|${port.hostIp ?? ''}|${port.hostPort ?? ''}|${port.containerPort}`;
}
