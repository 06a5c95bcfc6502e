/**
 * A transaction over every table of both families that the kernel refuses
 * only at its very end: 10,000 bindings on both families (every table
 * changes), then a DNAT appended to the IPv6 nat POSTROUTING chain. Both
 * homes take the rule (libiptc builds the table, nf_tables the message); the
 * kernel refuses it at commit, DNAT being for PREROUTING and OUTPUT.
 */
import { planChanges, type TableChange } from '../../src/backends/iptables/apply.js';
import type { RuleTables } from '../../src/backends/iptables/rule-tables.js';
import { planIptables } from '../../src/docker/iptables/plan.js';
import { buildModel } from '../../src/docker/model.js';
import type { NetworkSpecInput } from '../../src/input/types.js';
import { parseSpec } from '../../src/input/validate.js';
import type { IptablesFlavour } from '../helpers/iptables-flavour.js';

/** A dual-stack network the poisoned transaction publishes 10,000 ports on (its endpoint is .2, ::2). */
export const POISONED_NETWORK = { bridge: 'br-rb', ipv4: { subnet: '198.18.30.0/24' }, ipv6: { subnet: '2001:db8:30::/64' } } satisfies NetworkSpecInput;

export async function poisonedTransaction(tables: RuleTables, flavour: IptablesFlavour): Promise<{ planned: TableChange[]; poisoned: TableChange[] }> {
  const ports = [{ proto: 'tcp' as const, hostPort: '20000-29999', containerPort: '20000-29999' }];
  const spec = parseSpec({ backend: flavour, ipv6: true, networks: [{ ...POISONED_NETWORK, endpoints: [{ ipv4: '198.18.30.2', ipv6: '2001:db8:30::2', ports }] }] });
  const planned = await planChanges(tables, planIptables(buildModel(spec)));
  const last = planned.at(-1)!;
  const poisoned = [...planned.slice(0, -1), {
    ...last,
    operations: [...last.operations, { op: 'append' as const, chain: 'POSTROUTING', rule: { target: { name: 'DNAT' as const, toAddress: '2001:db8:30::9' } } }],
  }];
  return { planned, poisoned };
}
