/**
 * `show` gives everything its backend reads back, in one form for every
 * backend, each chain, rule, set and element marked whose it is: after an
 * apply of each backend with someone else's rules beside ours (the user's in
 * DOCKER-USER; in the iptables tables a Docker daemon's DNAT and a rule
 * bridgewall cannot read), `show --json` matches schema/show.json and marks
 * them, nftables' maps carry their values, and the text is headed per family
 * and table as the flavour's save tool heads it and still loads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { BackendName } from '../src/backends/backend.js';
import type { ShownChain, ShownFamily, ShownRule, ShownTable } from '../src/backends/shown.js';
import { cli, specFile } from './helpers/cli.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { schemaCheck } from './helpers/schema.js';

const checkShow = schemaCheck('show');

const spec = (backend: BackendName) => ({
  backend, ipv6: true,
  networks: [{
    bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
    endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: ['8080:80'] }],
  }],
});

const TOOL = { iptables: 'legacy', 'iptables-nft': 'nft' } as const;
/** Why each flavour cannot read `-m limit`: legacy reads the xt match by name, iptables-nft the nf_tables expression iptables-nft wrote. */
const UNREAD_LIMIT = { iptables: 'match limit revision 0', 'iptables-nft': 'expression limit' } as const;

/** The user's rule in DOCKER-USER, and (iptables) a Docker daemon's docker0 DNAT and a rule bridgewall does not model. */
async function addForeignRules(ns: TestNetns, backend: BackendName): Promise<void> {
  if (backend === 'nftables') {
    await ns.run('nft', 'add', 'rule', 'ip', 'bridgewall', 'DOCKER-USER', 'ip', 'saddr', '192.0.2.0/24', 'counter', 'drop');
    return;
  }
  const iptables = `iptables-${TOOL[backend]}`;
  await ns.run(iptables, '-A', 'DOCKER-USER', '-s', '192.0.2.0/24', '-j', 'DROP');
  await ns.run(iptables, '-t', 'nat', '-A', 'DOCKER', '!', '-i', 'docker0', '-p', 'tcp', '-m', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '198.18.0.2:80');
  await ns.run(iptables, '-A', 'FORWARD', '-m', 'limit', '--limit', '3/s', '-j', 'ACCEPT');
}

function table(families: ShownFamily[], family: 'ipv4' | 'ipv6', name: string): ShownTable {
  const found = families.find((f) => f.family === family)?.tables.find((t) => t.name === name);
  if (!found) throw new Error(`no ${family} table ${name}`);
  return found;
}

function chain(shown: ShownTable, name: string): ShownChain {
  const found = shown.chains.find((c) => c.name === name);
  if (!found) throw new Error(`no chain ${name}`);
  return found;
}

function ruleWith(shown: ShownChain, text: string): ShownRule | undefined {
  return shown.rules.find((rule) => rule.text?.includes(text));
}

async function showOf(t: ExecutionContext, ns: TestNetns, backend: BackendName): Promise<{ text: string; families: ShownFamily[] }> {
  const json = await cli('show', '--backend', backend, '--netns', ns.path, '--json');
  t.is(json.code, 0, json.stderr);
  const [state] = JSON.parse(json.stdout);
  t.deepEqual(checkShow(JSON.parse(json.stdout)), [], `${backend}: show --json matches schema/show.json`);
  t.is(state.backend, backend);
  const text = await cli('show', '--backend', backend, '--netns', ns.path);
  t.is(text.code, 0, text.stderr);
  return { text: text.stdout, families: state.families };
}

for (const backend of ['iptables', 'iptables-nft'] as const) {
  kernelTest(`show --backend ${backend}: whole tables per family, every rule marked whose it is, text that iptables-restore loads`, async (t) => {
    const ns = await createNetns(t, `show${TOOL[backend]}`);
    const applied = await cli('apply', specFile(spec(backend)), '--netns', ns.path);
    t.is(applied.code, 0, applied.stderr);
    await addForeignRules(ns, backend);
    const { text, families } = await showOf(t, ns, backend);

    const filter = table(families, 'ipv4', 'filter');
    t.like(chain(filter, 'FORWARD'), { owner: 'other', base: { hook: 'forward' } });
    t.like(ruleWith(chain(filter, 'FORWARD'), '-j DOCKER-FORWARD'), { owner: 'bridgewall' });
    t.like(chain(filter, 'FORWARD').rules.find((rule) => rule.unsupported !== undefined), { owner: 'other', unsupported: UNREAD_LIMIT[backend] });
    t.like(chain(filter, 'DOCKER-USER'), { owner: 'user', rules: [{ owner: 'user', text: '-s 192.0.2.0/24 -j DROP', rule: { source: '192.0.2.0/24', target: { name: 'DROP' } } }] });
    t.is(chain(filter, 'DOCKER').owner, 'bridgewall');
    const nat = chain(table(families, 'ipv4', 'nat'), 'DOCKER');
    t.like(ruleWith(nat, '--dport 8080'), { owner: 'bridgewall', text: '! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.18.1.2:80', packets: 0 });
    t.like(ruleWith(nat, '--dport 8081'), { owner: 'other' });
    t.like(ruleWith(chain(table(families, 'ipv6', 'nat'), 'DOCKER'), '--dport 8080'), { owner: 'bridgewall', text: '! -s fe80::/10 ! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:1::2]:80' });

    // Per family and table, headed as the flavour's save tool heads it.
    const [v4, v6] = backend === 'iptables' ? ['iptables-save (legacy)', 'ip6tables-save (legacy)'] : ['iptables-nft-save (nf_tables)', 'ip6tables-nft-save (nf_tables)'];
    const headers = [...text.matchAll(/^# Generated by (.*), read back by bridgewall\n\*(\w+)$/gm)].map((match) => `${match[1]} ${match[2]}`);
    t.deepEqual(headers, [`${v4} raw`, `${v4} filter`, `${v4} nat`, `${v6} raw`, `${v6} filter`, `${v6} nat`]);
    t.regex(text, /\n# owner: user\n-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP\n/);
    t.regex(text, /\n# owner: other\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 198\.18\.0\.2:80\n/);
    t.true(text.includes(`\n# owner: other; a rule of FORWARD bridgewall cannot read: ${UNREAD_LIMIT[backend]}\n`));

    // The text loads as it is.
    const dir = mkdtempSync(path.join(tmpdir(), 'bw-show-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const ipv6At = text.indexOf(`# Generated by ${v6}`);
    for (const [tool, part] of [['iptables', text.slice(0, ipv6At)], ['ip6tables', text.slice(ipv6At)]] as const) {
      const file = path.join(dir, tool);
      writeFileSync(file, part.replace(/^# bridgewall show.*\n/, ''));
      await t.notThrowsAsync(ns.run(`${tool}-${TOOL[backend]}-restore`, '--test', file), tool);
    }
  });
}

kernelTest('show --backend nftables: our tables per family, maps with keys and values, the user\'s rules marked', async (t) => {
  const ns = await createNetns(t, 'shownft');
  await ns.run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  const applied = await cli('apply', specFile(spec('nftables')), '--netns', ns.path);
  t.is(applied.code, 0, applied.stderr);
  await addForeignRules(ns, 'nftables');
  const { text, families } = await showOf(t, ns, 'nftables');

  const v4 = table(families, 'ipv4', 'bridgewall');
  t.like(v4.sets.find((set) => set.name === 'dnat-any-address'), {
    owner: 'bridgewall', kind: 'map', key: ['inet_proto', 'inet_service'], data: ['ipv4_addr', 'inet_service'], counter: true,
    elements: [{ key: 'tcp . 8080', value: '198.18.1.2 . 80', packets: 0, bytes: 0 }],
  });
  t.like(table(families, 'ipv6', 'bridgewall').sets.find((set) => set.name === 'dnat-any-address'), {
    elements: [{ key: 'tcp . 8080', value: '2001:db8:1::2 . 80' }],
  });
  t.like(v4.sets.find((set) => set.name === 'forward-into'), { kind: 'map', data: 'verdict', elements: [{ key: '"br-web"', value: 'jump forward-into__br-web' }] });
  t.like(chain(v4, 'DOCKER-USER'), { owner: 'user', rules: [{ owner: 'user', text: 'ip saddr 192.0.2.0/24 counter packets 0 bytes 0 drop', packets: 0, bytes: 0 }] });
  const forward = chain(v4, 'forward');
  t.like(forward, { owner: 'bridgewall', base: { hook: 'forward', policy: 'accept', type: 'filter' } });
  t.true(forward.rules.length > 0 && forward.rules.every((rule) => rule.owner === 'bridgewall' && rule.text !== undefined));

  t.deepEqual([...text.matchAll(/^table (\w+) (\w+) \{$/gm)].map((match) => `${match[1]} ${match[2]}`), ['ip bridgewall', 'ip6 bridgewall']);
  t.regex(text, /\n\t\t# owner: user\n\t\tip saddr 192\.0\.2\.0\/24 counter packets 0 bytes 0 drop\n/);
  // The text loads as it is, into a namespace of its own.
  const scratch = await createNetns(t, 'shownftload');
  const dir = mkdtempSync(path.join(tmpdir(), 'bw-show-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ruleset.nft');
  writeFileSync(file, text);
  await scratch.run('nft', '-f', file);
  t.regex(await scratch.run('nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address'), /tcp \. 8080 counter packets 0 bytes 0 : 198\.18\.1\.2 \. 80/);
});
