/**
 * IP forwarding, as Docker's bridge driver sets it up for each family that
 * has a network (moby daemon/libnetwork/drivers/bridge/setup_ip_forwarding.go,
 * bridge_linux.go):
 * - a backend that can set the filter FORWARD policy (iptables: Docker's
 *   filterForwardDropper) turns forwarding on and, where it did, sets that
 *   policy to DROP unless `forwardDrop: false`; if that fails, forwarding is
 *   turned off again;
 * - any other backend (nftables, as Docker's) leaves forwarding to the host
 *   and refuses with ENOFORWARDING, before anything is committed, while it is
 *   off;
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
  if (!backend.dropForwarded) {
    const { name, fix } = FORWARDING[offFamilies[0]!];
    throw new NetfilterError({
      code: 'ENOFORWARDING', errno: 0, operation: 'forwarding.check',
      message: `${name} is disabled: check your host's firewalling and set ${fix}, or disable this check using the spec ` +
        `option ipForward: false (the ${backend.name} backend, as Docker's, does not turn forwarding on; the iptables backend does)`,
    });
  }
  const turnOn = off.map((path) => ({ path, value: '1' }));
  const { written } = await writeSysctls(netns, turnOn);
  try {
    if (spec.forwardDrop) await backend.dropForwarded(offFamilies);
  } catch (error) {
    // As Docker: forwarding goes back off when its policy could not be set; that failure is the one to report.
    await writeSysctls(netns, turnOn.map((entry) => ({ ...entry, value: '0' }))).catch(() => undefined);
    throw error;
  }
  return { written, warnings: [] };
}
