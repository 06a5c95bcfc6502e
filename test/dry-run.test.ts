/**
 * A dry run is the change itself, in the backend's own syntax: fed to the
 * backend's own tool in a namespace holding what the dry run read, it makes
 * the ruleset the apply makes, from an empty namespace and as a change on top
 * of an applied spec; its summary counts what that change adds and deletes.
 * (nftables' `nft -f` equivalent is in nftables-apply.test.ts.)
 */
import type { ExecutionContext } from 'ava';
import type { DryRun } from '../src/backends/backend.js';
import { formatCounts, noChanges } from '../src/backends/change-counts.js';
import type { IptablesFlavour } from '../src/backends/iptables/owner-record.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { savedTables } from './helpers/iptables-flavour.js';
import { RICH_SPEC as RICH } from './helpers/rich-spec.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const ALPHA = RICH.networks![0]!;
const PORT_ADDED: SpecInput = {
  ...RICH,
  networks: [{ ...ALPHA, endpoints: [{ ...ALPHA.endpoints![0]!, ports: [...ALPHA.endpoints![0]!.ports!, { proto: 'tcp', hostPort: 8081, containerPort: 81 }] }] }, ...RICH.networks!.slice(1)],
};
const NETWORK_REMOVED: SpecInput = { ...RICH, networks: RICH.networks!.slice(0, 2) };

const NONE = noChanges();

/**
 * From what (undefined: an empty namespace) to what, with someone else's
 * rules among ours (`foreign`), and the counts the change has.
 */
const CHANGES: { name: string; from?: SpecInput; to: SpecInput; foreign?: boolean; counts?: DryRun['counts'] }[] = [
  { name: 'from an empty namespace', to: RICH },
  // Per family: its filter DOCKER ACCEPT, its DNAT, its hairpin MASQUERADE (no userland proxy).
  { name: 'a port added', from: RICH, to: PORT_ADDED, counts: { ...NONE, rules: { added: 6, deleted: 0 } } },
  { name: 'a network removed', from: RICH, to: NETWORK_REMOVED },
  { name: 'every network removed', from: RICH, to: { ...RICH, networks: [], ingress: undefined } },
  { name: 'nothing changed', from: RICH, to: RICH, counts: NONE },
  { name: 'a network removed among the user\'s rules', from: RICH, to: NETWORK_REMOVED, foreign: true },
  { name: 'every network removed among the user\'s rules', from: RICH, to: { ...RICH, networks: [], ingress: undefined }, foreign: true },
];

async function openFirewall(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

async function saved(ns: TestNetns, flavour: IptablesFlavour): Promise<string> {
  return (await savedTables(ns, 'ipv4', flavour)) + (await savedTables(ns, 'ipv6', flavour));
}

/** The dry run's sections, each with the restore tool its header names. */
function sections(text: string): { tool: string; lines: string[] }[] {
  const found: { tool: string; lines: string[] }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const header = /^# IPv[46], for (\S+) --noflush:$/.exec(line);
    if (header) found.push({ tool: header[1]!, lines: [] });
    else if (line !== '') found.at(-1)!.lines.push(line);
  }
  return found;
}

/** nft lists a set's elements in its own order: sorted, one list compares with another. */
function sortedElements(text: string): string {
  return text.replace(/elements = \{([^}]*)\}/g, (_, list: string) => `elements = { ${list.split(',').map((element) => element.trim()).sort().join(', ')} }`);
}

/** The rules in a save (`-A` lines). */
function ruleCount(save: string): number {
  return save.split('\n').filter((line) => line.startsWith('-A ')).length;
}

for (const flavour of ['iptables', 'iptables-nft'] as const) {
  for (const change of CHANGES) {
    kernelTest(`${flavour}: the dry run of ${change.name}, fed to ${flavour}-restore --noflush, makes what the apply makes`, async (t) => {
      const [applied, scripted] = await Promise.all([createNetns(t, 'dryapply'), createNetns(t, 'dryscript')]);
      const byLibrary = await openFirewall(t, applied);
      const byScript = await openFirewall(t, scripted);
      const kind = flavour === 'iptables' ? 'legacy' : 'nft';
      for (const [ns, firewall] of [[applied, byLibrary], [scripted, byScript]] as const) {
        if (change.from) await firewall.apply({ ...change.from, backend: flavour });
        if (!change.foreign) continue;
        // Another manager's rule above ours in FORWARD, an equal one below, and the user's in DOCKER-USER.
        await ns.run(`iptables-${kind}`, '-I', 'FORWARD', '1', '-s', '192.0.2.0/24', '-j', 'DROP');
        await ns.run(`iptables-${kind}`, '-A', 'FORWARD', '-j', 'DOCKER-FORWARD');
        await ns.run(`iptables-${kind}`, '-A', 'DOCKER-USER', '-s', '192.0.2.128/25', '-j', 'DROP');
      }
      const before = await saved(scripted, flavour);
      const dryRun = await byScript.dryRun({ ...change.to, backend: flavour });
      t.is(await saved(scripted, flavour), before, 'a dry run writes nothing');
      t.is(dryRun.backend, flavour);
      t.is(dryRun.text.split('\n')[0], `# ${flavour} dry run: ${formatCounts(dryRun.counts)}`);
      if (change.counts) t.deepEqual(dryRun.counts, change.counts);

      const parts = sections(dryRun.text);
      for (const { tool } of parts) t.true([`iptables-${kind}-restore`, `ip6tables-${kind}-restore`].includes(tool), tool);
      for (const { tool, lines } of parts) {
        const script = `${lines.join('\n')}\n`;
        await scripted.runWithInput(tool, ['--test', '--noflush'], script);
        t.is(await saved(scripted, flavour), before, `${tool} --test changes nothing`);
      }
      for (const { tool, lines } of parts) await scripted.runWithInput(tool, ['--noflush'], `${lines.join('\n')}\n`);

      const result = await byLibrary.apply({ ...change.to, backend: flavour });
      const after = await saved(applied, flavour);
      t.is(await saved(scripted, flavour), after);
      // The summary counts the rules and chains the change adds and deletes.
      const lines = parts.flatMap((part) => part.lines);
      t.is(dryRun.counts.rules.added, lines.filter((line) => /^-[AI] /.test(line)).length);
      t.is(dryRun.counts.chains.added, lines.filter((line) => line.startsWith('-N ')).length);
      t.is(dryRun.counts.chains.deleted, lines.filter((line) => line.startsWith('-X ')).length);
      t.is(dryRun.counts.rules.added - dryRun.counts.rules.deleted, ruleCount(after) - ruleCount(before));
      t.is(result.changes > 0, lines.length > 0);
      t.deepEqual(result.counts, dryRun.counts, 'the apply counts what its dry run counted');
    });
  }
}

kernelTest('iptables: --full prints the tables as the save tool will print them after the apply', async (t) => {
  const ns = await createNetns(t, 'dryfull');
  const firewall = await openFirewall(t, ns);
  await firewall.apply({ ...RICH, backend: 'iptables' });
  const { text, counts } = await firewall.dryRun({ ...PORT_ADDED, backend: 'iptables' }, { full: true });
  t.is(text.split('\n')[0], `# iptables dry run: ${formatCounts(counts)}; the tables will read:`);
  await firewall.apply({ ...PORT_ADDED, backend: 'iptables' });
  const [ipv4, ipv6] = text.split(/^# IPv6, as ip6tables-legacy-save will print it:\n/m);
  t.is(ipv4!.split('\n').slice(2).join('\n'), await savedTables(ns, 'ipv4'));
  t.is(ipv6, await savedTables(ns, 'ipv6'));
});

kernelTest('nftables: the summary counts rules, set elements and chains; --full prints the tables as show will print them', async (t) => {
  const ns = await createNetns(t, 'drynft');
  const firewall = await openFirewall(t, ns);
  await firewall.apply({ ...RICH, backend: 'nftables' });
  const change = await firewall.dryRun({ ...PORT_ADDED, backend: 'nftables' });
  // The port is elements only: the forward set, the DNAT map, the DNAT skip set, in each family it is published in.
  t.deepEqual(change.counts, { ...NONE, elements: { added: 6, deleted: 0 } });
  t.is(change.text.split('\n')[0], '# nftables dry run: 0 rules added, 0 deleted; 6 set elements added, 0 deleted; 0 chains added, 0 deleted; for nft -f:');
  const full = await firewall.dryRun({ ...PORT_ADDED, backend: 'nftables' }, { full: true });
  t.deepEqual(full.counts, change.counts);
  // Made as element operations alone (port-delta.ts), counted the same.
  t.deepEqual((await firewall.apply({ ...PORT_ADDED, backend: 'nftables' })).counts, change.counts);
  // Counter values are what the packets did, and the kernel's alone: compared without them.
  const withoutCounts = (text: string) => text.replace(/ counter packets \d+ bytes \d+/g, '');
  const listed = withoutCounts((await firewall.show('nftables')).text);
  t.is(sortedElements(withoutCounts(full.text)), sortedElements(`${change.text.split('\n')[0]!.replace('; for nft -f:', '; the tables will read:')}\n${listed}`));
});

kernelTest('dryRun refuses options it cannot read, naming them, before reading anything', async (t) => {
  const ns = await createNetns(t, 'dryopts');
  const firewall = await openFirewall(t, ns);
  for (const [options, field] of [[{ full: 'yes' }, 'options.full'], [null, 'options'], [[], 'options']] as const) {
    const error = await t.throwsAsync(firewall.dryRun(RICH, options as never));
    t.like(error, { code: 'EVALIDATION', field }, JSON.stringify(options));
  }
});
