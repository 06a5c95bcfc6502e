/**
 * The host settings a model needs besides its rules, written natively inside
 * the target namespace (no sysctl(8) or ip(8) process): /proc/sys entries and
 * hairpin mode on bridge ports; and the ephemeral port range, read there.
 * Forwarding (forwarding.ts) reads and writes its entries here too.
 */
import type { Sysctl } from './docker/model.js';
import { callNative, invalid } from './errors.js';
import { binding } from './native/binding.js';
import { isInterfaceName, isNamespaceWideConf } from './input/interface-name.js';
import type { EphemeralPorts } from './input/host-ports.js';
import type { PortRange } from './input/types.js';

export interface SysctlOutcome {
  /** Dotted names written. */
  written: string[];
  /** Entries that do not exist (yet): a bridge not created, br_netfilter not loaded. */
  missing: string[];
}

export async function writeSysctls(netns: string, sysctls: readonly Sysctl[]): Promise<SysctlOutcome> {
  if (sysctls.length === 0) return { written: [], missing: [] };
  const entries = sysctls.map((sysctl, i) => {
    checkInterface(sysctl, `sysctls[${i}]`);
    return { path: procSysPath(sysctl.path, i), value: sysctl.value };
  });
  const written = await callNative(() => binding.writeSysctls(netns, entries));
  const outcome: SysctlOutcome = { written: [], missing: [] };
  sysctls.forEach((sysctl, i) => (written[i] ? outcome.written : outcome.missing).push(sysctl.path.join('.')));
  return outcome;
}

/**
 * An entry under net/<family>/conf/NAME is an interface's only when it says
 * so (`interface`, checked to be an interface name bridgewall accepts, never
 * `all` or `default`); one that does not say so may only be a namespace-wide
 * entry (conf/all, conf/default). So a bridge called `all` can never turn a
 * per-bridge setting into one for every interface.
 */
function checkInterface(sysctl: Sysctl, field: string): void {
  const [net, , conf, name] = sysctl.path;
  const confName = net === 'net' && conf === 'conf' ? name : undefined;
  if (sysctl.interface === undefined) {
    if (confName !== undefined && !isNamespaceWideConf(confName)) invalid(`${field}.interface`, `the interface ${confName} names`, undefined);
    return;
  }
  if (!isInterfaceName(sysctl.interface)) invalid(`${field}.interface`, 'an interface name', sysctl.interface);
  if (confName !== sysctl.interface) invalid(`${field}.path`, `a net.*.conf.${sysctl.interface}.* entry`, sysctl.path.join('.'));
}

/** The values of the entries inside the namespace, trailing newline removed; undefined where one does not exist. */
export async function readSysctls(netns: string, paths: readonly (readonly string[])[]): Promise<(string | undefined)[]> {
  if (paths.length === 0) return [];
  const values = await callNative(() => binding.readSysctls(netns, paths.map(procSysPath)));
  return values.map((value) => value ?? undefined);
}

/** The entry's path relative to /proc/sys, checked component by component (the worker runs as root). */
function procSysPath(path: readonly string[], index: number): string {
  path.forEach((part, j) => {
    if (part.length === 0 || part === '.' || part === '..' || /[/\0]/.test(part)) {
      invalid(`sysctls[${index}].path[${j}]`, 'a /proc/sys path component', part);
    }
  });
  return path.join('/');
}

export interface HairpinOutcome {
  /** Bridges found, with the number of ports set to hairpin mode. */
  set: { bridge: string; ports: number }[];
  /** Bridges that do not exist (yet). */
  missing: string[];
}

export async function setHairpinPorts(netns: string, bridges: readonly string[]): Promise<HairpinOutcome> {
  if (bridges.length === 0) return { set: [], missing: [] };
  const results = await callNative(() => binding.setBridgePortsHairpin(netns, bridges));
  return {
    set: results.filter((r) => r.exists).map(({ bridge, ports }) => ({ bridge, ports })),
    missing: results.filter((r) => !r.exists).map((r) => r.bridge),
  };
}

/**
 * The namespace's ephemeral ports, read as Docker's port allocator reads
 * them (moby portallocator_linux.go): net.ipv4.ip_local_port_range, and
 * net.ipv4.ip_local_reserved_ports left out. An entry that does not exist
 * gives Docker's fallback range, 49153-65535, and no reserved ports.
 */
export async function readEphemeralPorts(netns: string): Promise<EphemeralPorts> {
  const [range, reserved] = await readSysctls(netns, [
    ['net', 'ipv4', 'ip_local_port_range'], ['net', 'ipv4', 'ip_local_reserved_ports'],
  ]);
  return parseEphemeralPorts(range ?? null, reserved ?? null);
}

/** The text of the two entries (null: absent) as EphemeralPorts; text the kernel would never write gives the fallback. */
function parseEphemeralPorts(range: string | null, reserved: string | null): EphemeralPorts {
  const bounds = /^\s*(\d+)\s+(\d+)\s*$/.exec(range ?? '');
  const first = Number(bounds?.[1]);
  const last = Number(bounds?.[2]);
  if (!bounds || first < 1 || last > 65535 || first > last) return DOCKER_FALLBACK_PORTS;
  const blocks: PortRange[] = [];
  for (const entry of (reserved ?? '').trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(entry);
    if (!match) continue;
    const block = { first: Number(match[1]), last: Number(match[2] ?? match[1]) };
    if (block.first <= block.last && block.first <= last && block.last >= first) blocks.push(block);
  }
  return { first, last, reserved: blocks };
}

/** moby portallocator_unix.go defaultPortRangeStart/End. */
const DOCKER_FALLBACK_PORTS: EphemeralPorts = { first: 49153, last: 65535, reserved: [] };
