/**
 * WFORWARDDROP: with the nftables backend, another manager's filter FORWARD
 * that drops what bridgewall accepts for published ports (an iptables-nft or
 * legacy FORWARD policy DROP, another nftables base chain at the forward hook
 * with policy drop) is named in ApplyResult.warnings with the fix, as Docker's
 * nftables backend warns of it. The legacy table is read only if it exists.
 * The iptables backends warn likewise of the other flavour's FORWARD DROP,
 * which a switch between them leaves (Docker never changes another's policy).
 */
import path from 'node:path';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { Firewall } from '../src/firewall.js';
import { UPLINK } from '../src/sandbox/topology.js';
import type { SpecInput } from '../src/input/types.js';
import { legacyTables } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { createPacketBed } from './bed/bed.js';
import { containerName } from './bed/docker-host.js';
import { expectProbes } from './bed/expect.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

const SPEC: SpecInput = {
  backend: 'nftables',
  networks: [{
    bridge: 'br-web',
    ipv4: { subnet: '198.18.1.0/24' },
    endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

async function applyIn(ns: TestNetns, spec: SpecInput = SPEC) {
  const firewall = await Firewall.open({ netns: ns.path });
  try {
    return await firewall.apply(spec);
  } finally {
    firewall.close();
  }
}


kernelTest('an iptables-nft FORWARD policy DROP is warned of, with the fix, and no legacy table is created', async (t) => {
  const ns = await createNetns(t, 'fdropnft');
  await ns.run('iptables-nft', '-P', 'FORWARD', 'DROP');
  const result = await applyIn(ns);
  t.deepEqual(result.warnings, [{
    code: 'WFORWARDDROP',
    message: 'Network traffic for published ports may be dropped, iptables (nf_tables) chain FORWARD has policy DROP. ' +
      'Accept the networks\' traffic there: iptables -I FORWARD -i br-web -j ACCEPT; iptables -I FORWARD -o br-web -j ACCEPT',
  }]);
  t.is(await legacyTables(ns), '');
});

kernelTest('a Docker daemon\'s iptables-nft FORWARD DROP: the fix goes into DOCKER-USER', async (t) => {
  const ns = await createNetns(t, 'fdropuser');
  await ns.run('sh', '-c', 'iptables-nft -N DOCKER-USER && iptables-nft -A FORWARD -j DOCKER-USER && iptables-nft -P FORWARD DROP');
  const [warning] = (await applyIn(ns)).warnings;
  t.is(warning?.code, 'WFORWARDDROP');
  t.regex(warning?.message ?? '', /there: iptables -I DOCKER-USER -i br-web -j ACCEPT; iptables -I DOCKER-USER -o br-web -j ACCEPT$/);
});

kernelTest('a legacy FORWARD policy DROP, or a rule dropping everything, is warned of', async (t) => {
  const policy = await createNetns(t, 'fdroplegacy');
  await policy.run('iptables-legacy', '-P', 'FORWARD', 'DROP');
  t.deepEqual((await applyIn(policy)).warnings, [{
    code: 'WFORWARDDROP',
    message: 'Network traffic for published ports may be dropped, iptables-legacy chain FORWARD has policy DROP. ' +
      'Accept the networks\' traffic there: iptables-legacy -I FORWARD -i br-web -j ACCEPT; iptables-legacy -I FORWARD -o br-web -j ACCEPT',
  }]);

  const rule = await createNetns(t, 'fdroprule');
  await rule.run('iptables-legacy', '-A', 'FORWARD', '-j', 'DROP');
  t.regex((await applyIn(rule)).warnings[0]?.message ?? '', /iptables-legacy chain FORWARD drops every packet \(-j DROP\)\./);
});

kernelTest('another nftables base chain at the forward hook with policy drop is warned of', async (t) => {
  const ns = await createNetns(t, 'fdropchain');
  await ns.run('nft', 'add table inet hostfw; add chain inet hostfw passing { type filter hook forward priority 0; policy drop; }');
  t.deepEqual((await applyIn(ns)).warnings, [{
    code: 'WFORWARDDROP',
    message: 'Network traffic for published ports may be dropped, nftables chain inet hostfw passing (hook forward) has policy drop. ' +
      'Accept the networks\' traffic there: nft insert rule inet hostfw passing iifname "br-web" accept; nft insert rule inet hostfw passing oifname "br-web" accept',
  }]);
});

kernelTest('nothing that drops, nothing said: policies ACCEPT, a foreign forward chain accepting, an IPv6-only drop without IPv6 networks', async (t) => {
  const ns = await createNetns(t, 'fdropnone');
  await ns.run('nft', 'add table inet hostfw; add chain inet hostfw passing { type filter hook forward priority 0; policy accept; }');
  await ns.run('iptables-legacy', '-P', 'FORWARD', 'ACCEPT');
  await ns.run('ip6tables-nft', '-P', 'FORWARD', 'DROP');
  t.deepEqual((await applyIn(ns)).warnings, []);
});

kernelTest('the CLI prints the warning on stderr and keeps it in --json', async (t) => {
  const ns = await createNetns(t, 'fdropcli');
  await ns.run('iptables-nft', '-P', 'FORWARD', 'DROP');
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-fdrop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(SPEC));
  const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, 'apply', file, '--netns', ns.path, '--json']);
  t.regex(stderr, /^warning: WFORWARDDROP: Network traffic for published ports may be dropped, iptables \(nf_tables\) chain FORWARD has policy DROP\. /);
  t.is((JSON.parse(stdout) as { warnings: { code: string }[] }).warnings[0]?.code, 'WFORWARDDROP');
});

kernelTest('with packets: the FORWARD DROP warned of drops the published port, and the fix the warning gives lets it through', async (t) => {
  let warnings: { code: string; message: string }[] = [];
  const bed = await createPacketBed(t, {
    label: 'fdrop', spec: SPEC,
    apply: async (host, spec) => {
      const firewall = await Firewall.open({ netns: host.path });
      try {
        warnings = (await firewall.apply(spec)).warnings;
      } finally {
        firewall.close();
      }
    },
  });
  const host = bed.host.netns;
  const published = { what: 'the published port', from: bed.outside, address: UPLINK.hostIpv4, port: 8080 };
  await expectProbes(t, [{ ...published, outcome: { server: containerName('198.18.1.2'), peer: UPLINK.outsideIpv4 } }]);
  t.deepEqual(warnings, []);

  await host.run('iptables-nft', '-P', 'FORWARD', 'DROP');
  await bed.apply(SPEC);
  t.is(warnings.length, 1);
  await expectProbes(t, [{ ...published, outcome: 'blocked' }]);

  // The fix, as the warning words it.
  const fix = /there: (.*)$/.exec(warnings[0]!.message)![1]!.split('; ');
  for (const command of fix) await host.run('sh', '-c', command);
  await expectProbes(t, [{ ...published, outcome: { server: containerName('198.18.1.2'), peer: UPLINK.outsideIpv4 } }]);
});

kernelTest('switching between the iptables flavours warns of the FORWARD DROP the other one left', async (t) => {
  const ns = await createNetns(t, 'fdropswitch', { forwarding: false });
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  // Forwarding off: the legacy backend turns it on and sets its FORWARD policy DROP, as Docker does.
  t.deepEqual((await firewall.apply({ ...SPEC, backend: 'iptables' })).warnings, []);
  const toNft = await firewall.apply({ ...SPEC, backend: 'iptables-nft' });
  t.deepEqual(toNft.warnings, [{
    code: 'WFORWARDDROP',
    message: 'Network traffic for published ports may be dropped, iptables-legacy chain FORWARD has policy DROP. ' +
      'Accept the networks\' traffic there: iptables-legacy -I DOCKER-USER -i br-web -j ACCEPT; iptables-legacy -I DOCKER-USER -o br-web -j ACCEPT',
  }]);
  // The legacy policy is left as it is; once the user lets the traffic through, nothing more is said.
  await ns.run('iptables-legacy', '-P', 'FORWARD', 'ACCEPT');
  t.deepEqual((await firewall.apply({ ...SPEC, backend: 'iptables-nft' })).warnings, []);
  await ns.run('iptables-nft', '-P', 'FORWARD', 'DROP');
  const toLegacy = await firewall.apply({ ...SPEC, backend: 'iptables' });
  t.deepEqual(toLegacy.warnings.map((warning) => warning.code), ['WFORWARDDROP']);
  t.regex(toLegacy.warnings[0]!.message, /iptables \(nf_tables\) chain FORWARD has policy DROP/);
});
