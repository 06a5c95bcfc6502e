/**
 * IP forwarding, as Docker's bridge driver sets it up for each family that
 * has a network (moby daemon/libnetwork/drivers/bridge/setup_ip_forwarding.go,
 * bridge_linux.go):
 * - the iptables backends (Docker's filterForwardDropper) turn forwarding
 *   on and, where they did, set the filter FORWARD policy to DROP unless
 *   `forwardDrop: false`; if that fails, forwarding is turned off again
 *   (turnOnForwarding);
 * - the nftables backend (as Docker's) leaves forwarding to the host and
 *   refuses with ENOFORWARDING, before anything is committed, while it is
 *   off (forwardingRefused);
 * - `ipForward: false` (Docker's `--ip-forward=false`) does neither: a
 *   WFORWARDINGOFF warning says that forwarding is off.
 * Reads and writes go through sysctl.ts, inside the namespace.
 */
import type { Backend } from './backends/backend.js';
import { NetfilterError } from './errors.js';
import { FAMILIES, type Family } from './family.js';
import type { SpecView } from './held/packed.js';
import { readSysctls, writeSysctls } from './sysctl.js';
import type { Warning } from './warnings.js';

interface FamilyForwarding {
  /** As Docker's messages name it. */
  name: string;
  /** The /proc/sys entries, in the order Docker sets them (IPv6: default, then all). */
  entries: readonly (readonly string[])[];
  /** The sysctls that turn it on, as Docker's message spells them. */
  fix: string;
}

const FORWARDING: Record<Family, FamilyForwarding> = {
  ipv4: { name: 'IPv4 forwarding', entries: [['net', 'ipv4', 'ip_forward']], fix: 'sysctl net.ipv4.ip_forward=1' },
  ipv6: {
    name: 'IPv6 global forwarding',
    entries: [['net', 'ipv6', 'conf', 'default', 'forwarding'], ['net', 'ipv6', 'conf', 'all', 'forwarding']],
    fix: 'sysctls net.ipv6.conf.all.forwarding=1 and net.ipv6.conf.default.forwarding=1',
  },
};

export interface ForwardingOutcome {
  /** Dotted names of the entries turned on. */
  written: string[];
  warnings: Warning[];
}

/**
 * Forwarding as the spec asks it: nothing while it is on; a warning when
 * `ipForward: false` leaves it off; else the backend's way (Backend.enableForwarding).
 */
export async function setUpForwarding(netns: string, spec: SpecView, backend: Backend): Promise<ForwardingOutcome> {
  const families = FAMILIES.filter((family) => spec[family] && spec.networks.some((network) => network[family]));
  const entries = families.flatMap((family) => FORWARDING[family].entries);
  const values = await readSysctls(netns, entries);
  // An entry that does not exist (IPv6 disabled in the namespace) is nothing to turn on.
  const off = entries.filter((_, i) => values[i] !== undefined && values[i] !== '1');
  const offFamilies = families.filter((family) => FORWARDING[family].entries.some((entry) => off.includes(entry)));
  if (offFamilies.length === 0) return { written: [], warnings: [] };
  if (!spec.ipForward) {
    return {
      written: [],
      warnings: offFamilies.map((family) => ({
        code: 'WFORWARDINGOFF',
        message: `${FORWARDING[family].name} is off in the namespace and ipForward: false leaves it off: ` +
          `the networks' traffic is not forwarded (set ${FORWARDING[family].fix}, or ipForward: true)`,
      })),
    };
  }
  return { written: await backend.enableForwarding(offFamilies, spec.forwardDrop), warnings: [] };
}

/**
 * Docker's iptables way: forwarding turned on in `families`, then
 * `dropForwarded` (the FORWARD policy DROP) when given; if that fails,
 * forwarding goes back off, and that failure is the one reported.
 */
export async function turnOnForwarding(
  netns: string, families: readonly Family[], dropForwarded: ((families: readonly Family[]) => Promise<void>) | undefined,
): Promise<string[]> {
  const turnOn = families.flatMap((family) => FORWARDING[family].entries).map((path) => ({ path, value: '1' }));
  const { written } = await writeSysctls(netns, turnOn);
  try {
    await dropForwarded?.(families);
  } catch (error) {
    await writeSysctls(netns, turnOn.map((entry) => ({ ...entry, value: '0' }))).catch(() => undefined);
    throw error;
  }
  return written;
}

/** Docker's nftables way: forwarding is the host's; refused while it is off. */
export function forwardingRefused(backend: string, families: readonly Family[]): NetfilterError {
  const { name, fix } = FORWARDING[families[0]!];
  return new NetfilterError({
    code: 'ENOFORWARDING', errno: 0, operation: 'forwarding.check',
    message: `${name} is disabled: check your host's firewalling and set ${fix}, or disable this check using the spec ` +
      `option ipForward: false (the ${backend} backend, as Docker's, does not turn forwarding on; the iptables backends do)`,
  });
}
