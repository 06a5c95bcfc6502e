/**
 * A table written before the layout counted (sets without nft's `counter`,
 * rules without counters) is brought to the counting layout by the next
 * apply, in one commit, and then holds what a fresh apply writes.
 */
import { buildModel } from '../src/docker/model.js';
import { Firewall } from '../src/firewall.js';
import { diffTable } from '../src/backends/nftables/diff.js';
import { signatureOf, type TableImage } from '../src/backends/nftables/image.js';
import { planNftables } from '../src/backends/nftables/plan.js';
import { Transaction } from '../src/backends/nftables/transaction.js';
import { NftConnection } from '../src/nft/connection.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { createNetns, kernelTest } from './helpers/netns.js';

const SPEC: SpecInput = {
  backend: 'nftables', ipv6: true,
  networks: [{
    bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
    endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: ['8080:80', '127.0.0.1:5300:53/udp'] }],
  }],
};

/** The table as the layout was before it counted. */
function uncounted(table: TableImage): TableImage {
  const chains = new Map([...table.chains].map(([name, chain]) => {
    const rules = chain.rules.map((rule) => {
      const exprs = rule.exprs.filter((e) => e.type !== 'counter');
      return { ...rule, exprs, signature: signatureOf(exprs, rule.comment) };
    });
    return [name, { ...chain, rules }];
  }));
  const sets = new Map([...table.sets].map(([name, { counter: _counted, ...set }]) => [name, set]));
  return { ...table, chains, sets };
}

kernelTest('a table written before the layout counted gets its counters from the next apply, in one commit', async (t) => {
  const fresh = await createNetns(t, 'nftupg');
  const upgraded = await createNetns(t, 'nftupg');
  const list = async (ns: { run: (...args: string[]) => Promise<string> }) =>
    (await ns.run('nft', 'list', 'table', 'ip', 'bridgewall')) + (await ns.run('nft', 'list', 'table', 'ip6', 'bridgewall'));

  const old = new Transaction();
  for (const table of planNftables(buildModel(parseSpec(SPEC)))) diffTable(old, null, uncounted(table));
  const connection = await NftConnection.open({ netns: upgraded.path });
  t.teardown(() => connection.close());
  await connection.commit(old.batch);
  t.notRegex(await list(upgraded), /counter/);

  for (const ns of [fresh, upgraded]) await ns.run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  const firewalls = await Promise.all([fresh, upgraded].map((ns) => Firewall.open({ netns: ns.path })));
  t.teardown(() => firewalls.forEach((firewall) => firewall.close()));
  await firewalls[0]!.apply(SPEC);
  t.like(await firewalls[1]!.apply(SPEC), { commits: 1 });
  // The same sets, maps and chains; the sets declared again list after the others.
  const blocks = (text: string) => text.split(/\n(?=\t(?:set|map|chain) )/).map((block) => block.trim()).sort();
  t.deepEqual(blocks(await list(upgraded)), blocks(await list(fresh)));
  t.regex(await list(upgraded), /tcp \. 8080 counter packets 0 bytes 0 : 198\.18\.1\.2 \. 80/);
  t.like(await firewalls[1]!.apply(SPEC), { commits: 0, changes: 0 });
});
