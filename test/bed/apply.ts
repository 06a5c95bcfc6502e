/**
 * How a bed puts a spec into its host namespace. The suite takes this as a
 * parameter so that one set of packet tests runs against every backend.
 */
import { buildModel } from '../../src/docker/model.js';
import { applyPlan } from '../../src/backends/iptables/apply.js';
import { planIptables } from '../../src/docker/iptables/plan.js';
import { IptcTable } from '../../src/iptc/table.js';
import { parseSpec } from '../../src/spec/validate.js';
import type { SpecInput } from '../../src/spec/types.js';
import type { TestNetns } from '../helpers/netns.js';
import { writeSysctls } from './netns-exec.js';

/** Replaces whatever firewall state the host namespace has with the one `spec` describes. */
export type SpecApplier = (host: TestNetns, spec: SpecInput) => Promise<void>;

/**
 * The library's iptables backend: the planner's rules committed through
 * libiptc, each table read back and changed in one commit. The host settings
 * Docker writes for a model (route_localnet for ingress) are written by the bed.
 */
export const applyWithIptablesBackend: SpecApplier = async (host, input) => {
  const model = buildModel(parseSpec(input));
  // Slash form, as sysctl(8) takes it; a bridge name containing a dot would need the /proc/sys path instead.
  await writeSysctls(host, new Map(model.sysctls.map((sysctl) => [sysctl.name.replaceAll('.', '/'), sysctl.value])));
  const tables = await IptcTable.open({ netns: host.path });
  try {
    await applyPlan(tables, planIptables(model));
  } finally {
    tables.close();
  }
};
