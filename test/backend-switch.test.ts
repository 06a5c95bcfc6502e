/**
 * Switching backends with apply (Firewall: the other backends are flushed
 * once per switch): iptables, iptables-nft and nftables each leave nothing
 * of theirs behind when another takes over, in every direction: no rule or
 * chain in their tables, and no owner record (/run/bridgewall, one per
 * iptables flavour) claiming anything. A new process taking over finds the
 * same. (Docker's FORWARD policy DROP is outside this: the namespaces here
 * have forwarding on, so no backend sets it.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { RECORD_DIR } from '../src/backends/iptables/owner-record.js';
import { Firewall } from '../src/firewall.js';
import { binding } from '../src/native/binding.js';
import type { FirewallBackend, SpecInput } from '../src/input/types.js';
import { IPTABLES_FLAVOURS, type IptablesFlavour, saveTool } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const SPEC: SpecInput = {
  ipv6: true, userlandProxy: false,
  networks: [{
    bridge: 'br-switch', ipv4: { subnet: '198.18.9.0/24' }, ipv6: { subnet: '2001:db8:9::/64' },
    endpoints: [{ ipv4: '198.18.9.2', ipv6: '2001:db8:9::2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

/** Every transition between the three backends, each once. */
const ORDER: FirewallBackend[] = ['iptables', 'iptables-nft', 'nftables', 'iptables-nft', 'iptables', 'nftables', 'iptables'];

/** What the flavour's tables hold of anyone's: rules and user chains, both families. */
async function iptablesContent(ns: TestNetns, flavour: IptablesFlavour): Promise<string> {
  let text = '';
  for (const family of ['ipv4', 'ipv6'] as const) {
    text += (await ns.run(saveTool(flavour, family))).split('\n').filter((line) => line.startsWith('-A ') || /^:\S+ - /.test(line)).join('\n');
  }
  return text;
}

async function ownerRecord(ns: TestNetns, flavour: IptablesFlavour): Promise<boolean> {
  const { cookie } = await binding.netnsIdentity(ns.path);
  return existsSync(join(RECORD_DIR, `${flavour}-netns-cookie-${cookie}.json`));
}

/** Only `backend`'s rules are in the namespace, with its owner record alone. */
async function onlyRulesOf(t: ExecutionContext, ns: TestNetns, backend: FirewallBackend, step: string): Promise<void> {
  for (const flavour of IPTABLES_FLAVOURS) {
    const content = await iptablesContent(ns, flavour);
    if (flavour === backend) t.regex(content, /-A DOCKER -d 198\.18\.9\.2\/32 .*--dport 80 -j ACCEPT/, `${step}: ${flavour} rules`);
    else t.is(content, '', `${step}: nothing left in ${flavour}'s tables`);
    t.is(await ownerRecord(ns, flavour), flavour === backend, `${step}: ${flavour} owner record`);
  }
  const nft = await ns.run('nft', 'list', 'tables');
  t.is(/table ip6? bridgewall/.test(nft), backend === 'nftables', `${step}: nftables tables: ${nft}`);
}

kernelTest('switching backends, in every direction, leaves nothing of the one before: rules, chains, owner records', async (t) => {
  const ns = await createNetns(t, 'switch');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  let previous: FirewallBackend | undefined;
  for (const backend of ORDER) {
    const step = `${previous ?? 'nothing'} → ${backend}`;
    const result = await firewall.apply({ ...SPEC, backend });
    if (previous) t.true(result.otherBackendChanges > 0, `${step}: the other backend was flushed`);
    await onlyRulesOf(t, ns, backend, step);
    t.like(await firewall.apply({ ...SPEC, backend }), { changes: 0, otherBackendChanges: 0 }, `${step}: applying again changes nothing`);
    previous = backend;
  }
});

kernelTest('a new process switching backends flushes the others too, whichever was in place', async (t) => {
  for (const [from, to] of [['iptables', 'iptables-nft'], ['iptables-nft', 'iptables'], ['iptables-nft', 'nftables'], ['nftables', 'iptables-nft']] as const) {
    const ns = await createNetns(t, 'switchproc');
    const first = await Firewall.open({ netns: ns.path });
    await first.apply({ ...SPEC, backend: from });
    first.close();
    const second = await Firewall.open({ netns: ns.path });
    t.teardown(() => second.close());
    t.true((await second.apply({ ...SPEC, backend: to })).otherBackendChanges > 0, `${from} → ${to}`);
    await onlyRulesOf(t, ns, to, `${from} → ${to} in a new process`);
  }
});
