/**
 * How a bed puts a spec into its host namespace. The suite takes this as a
 * parameter so that one set of packet tests runs against every backend.
 */
import { buildModel } from '../../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../../src/docker/iptables/plan.js';
import { parseSpec } from '../../src/spec/validate.js';
import type { SpecInput } from '../../src/spec/types.js';
import type { TestNetns } from '../helpers/netns.js';
import { runWithInput, writeSysctls } from './netns-exec.js';

/** Replaces whatever firewall state the host namespace has with the one `spec` describes. */
export type SpecApplier = (host: TestNetns, spec: SpecInput) => Promise<void>;

/**
 * The reference applier until the native backends land: the planner's
 * rules, rendered as iptables-save text and loaded with legacy
 * iptables-restore (which replaces each table whole). A disabled family is
 * loaded with empty tables, so it is flushed too.
 */
export const applyWithIptablesRestore: SpecApplier = async (host, input) => {
  const model = buildModel(parseSpec(input));
  const plan = planIptables(model);
  // Slash form, as sysctl(8) takes it; a bridge name containing a dot would need the /proc/sys path instead.
  await writeSysctls(host, new Map(model.sysctls.map((sysctl) => [sysctl.name.replaceAll('.', '/'), sysctl.value])));
  await Promise.all((['ipv4', 'ipv6'] as const).map((family) => runWithInput(
    host,
    family === 'ipv4' ? 'iptables-legacy-restore' : 'ip6tables-legacy-restore',
    [],
    renderIptablesSave(family, plan.families.find((entry) => entry.family === family)),
  )));
};
