/**
 * Legacy x_tables only when they hold something of ours: opening a legacy
 * table creates it, and every iptables-nft user in the namespace is then
 * warned of "iptables-legacy tables present". The nftables backend, show and
 * flush of either backend never open a table that does not exist; switching
 * away from the legacy backend still removes what it left.
 */
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import { IptcTable } from '../src/iptc/table.js';
import type { SpecInput } from '../src/input/types.js';
import { legacyTables } from './helpers/iptables-flavour.js';
import { WEB_NETWORK } from './helpers/rich-spec.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

const SPEC: SpecInput = { ipv6: true, networks: [WEB_NETWORK] };


/** What an iptables-nft user in the namespace sees on stdout and stderr. */
async function iptablesNftList(ns: TestNetns): Promise<string> {
  return ns.run('sh', '-c', 'iptables-nft -L -n 2>&1; ip6tables-nft -L -n 2>&1');
}

kernelTest('nftables apply, show and flush open no legacy table: iptables-nft users get no legacy warning', async (t) => {
  const ns = await createNetns(t, 'nolegacy');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ ...SPEC, backend: 'nftables' });
  const shown = await firewall.show('iptables');
  t.is(shown.text, '');
  t.deepEqual(shown.data, []);
  await firewall.show('nftables');
  t.is((await firewall.flush('iptables')).changes, 0);
  await firewall.flush('nftables');
  t.is(await legacyTables(ns), '');
  t.notRegex(await iptablesNftList(ns), /legacy/);
});

kernelTest('the CLI shows and flushes every backend without creating a legacy table', async (t) => {
  const ns = await createNetns(t, 'nolegacycli');
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'show', '--netns', ns.path], { timeout: 60_000 });
  t.is(stdout, '# bridgewall show --backend iptables\n# bridgewall show --backend iptables-nft\n# bridgewall show --backend nftables\n');
  await execFileAsync(process.execPath, [CLI, 'flush', '--netns', ns.path], { timeout: 60_000 });
  t.is(await legacyTables(ns), '');
});

kernelTest('switching from the legacy backend to nftables removes what it left, and only what it wrote exists', async (t) => {
  const ns = await createNetns(t, 'legacyswitch');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ ...SPEC, backend: 'iptables' });
  t.regex(await ns.run('iptables-legacy-save', '-t', 'nat'), /-j DOCKER/);
  const switched = await firewall.apply({ ...SPEC, backend: 'nftables' });
  t.true(switched.otherBackendChanges > 0);
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) t.notRegex(await ns.run(tool), /DOCKER/);

  // A second Firewall (a new process) finds nothing of ours in the legacy tables and commits nothing there.
  const again = await Firewall.open({ netns: ns.path });
  t.teardown(() => again.close());
  t.is((await again.apply({ ...SPEC, backend: 'nftables' })).otherBackendChanges, 0);
});

kernelTest('the legacy backend creates only the tables it writes into', async (t) => {
  const ns = await createNetns(t, 'legacyonly');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  // No network: Docker's daemon-level chains live in filter and nat, nothing in raw.
  await firewall.apply({ backend: 'iptables', networks: [] });
  t.deepEqual((await ns.run('cat', '/proc/net/ip_tables_names')).split('\n').filter(Boolean).sort(), ['filter', 'nat']);
});

kernelTest('a dry run of the legacy backend creates no table', async (t) => {
  const ns = await createNetns(t, 'legacydry');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const { text, counts } = await firewall.dryRun({ ...SPEC, backend: 'iptables' });
  t.true(counts.rules.added > 0);
  t.regex(text, /^# iptables dry run: [1-9]\d* rules added, 0 deleted; [1-9]\d* chains added, 0 deleted\n# IPv4, for iptables-legacy-restore --noflush:\n\*/);
  t.regex(text, /^# IPv6, for ip6tables-legacy-restore --noflush:$/m);
  t.is(await legacyTables(ns), '');
});

kernelTest('IptcTable.existingTables lists what the namespace holds without creating anything', async (t) => {
  const ns = await createNetns(t, 'legacylist');
  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  t.deepEqual(await tables.existingTables('ipv4'), []);
  t.deepEqual(await tables.existingTables('ipv6'), []);
  await tables.read('ipv6', 'nat');
  t.deepEqual(await tables.existingTables('ipv4'), []);
  t.deepEqual(await tables.existingTables('ipv6'), ['nat']);
  const error = await t.throwsAsync(tables.existingTables('ipv5' as 'ipv4'), { instanceOf: ValidationError });
  t.is(error?.field, 'family');
});
