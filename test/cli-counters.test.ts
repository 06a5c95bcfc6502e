/**
 * `bridgewall show --counters SPEC`: each binding of the spec with its
 * counters, as a table (counters first, as `iptables -v` prints them) and as
 * JSON, on the backend the spec names; usage errors for what it cannot mean.
 * That the counters move with packets is proven in bed/counters-suite.ts.
 */
import test from 'ava';
import { cli, specFile } from './helpers/cli.js';
import { createNetns, kernelTest } from './helpers/netns.js';

const SPEC = {
  ipv6: true,
  networks: [
    {
      bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
      endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: ['8080:80', '127.0.0.1:8081:81/udp'] }],
    },
    { bridge: 'br-rt', gatewayMode: 'routed', ipv4: { subnet: '198.18.5.0/24' }, endpoints: [{ ipv4: '198.18.5.2', ports: ['80'] }] },
  ],
};

for (const backend of ['nftables', 'iptables'] as const) {
  kernelTest(`show --counters prints each binding of the spec with its counters (${backend})`, async (t) => {
    const ns = await createNetns(t, 'clicnt');
    await ns.run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    const file = specFile({ ...SPEC, backend });
    const applied = await cli('apply', file, '--netns', ns.path);
    t.is(applied.code, 0, applied.stderr);

    const text = await cli('show', '--counters', file, '--netns', ns.path);
    t.is(text.code, 0, text.stderr);
    t.is(text.stdout, [
      `# ${backend}: packets and bytes per port binding (dnat: translated to the container; fwd: forwarded to its port)`,
      'dnat pkts  dnat bytes  fwd pkts  fwd bytes  proto  host            container           bridge',
      '        0           0         0          0  tcp    0.0.0.0:8080    198.18.1.2:80       br-web',
      '        0           0         0          0  udp    127.0.0.1:8081  198.18.1.2:81       br-web',
      '        -           -         0          0  tcp    -               198.18.5.2:80       br-rt',
      '        0           0         0          0  tcp    [::]:8080       [2001:db8:1::2]:80  br-web',
      '',
    ].join('\n'));

    const json = await cli('show', '--counters', file, '--netns', ns.path, '--json');
    t.is(json.code, 0, json.stderr);
    const zero = { packets: 0, bytes: 0 };
    t.deepEqual(JSON.parse(json.stdout), {
      backend,
      counters: [
        { family: 'ipv4', bridge: 'br-web', proto: 'tcp', hostPort: 8080, containerAddress: '198.18.1.2', containerPort: 80, dnat: zero, forwarded: zero },
        {
          family: 'ipv4', bridge: 'br-web', proto: 'udp', hostAddress: '127.0.0.1', hostPort: 8081, containerAddress: '198.18.1.2', containerPort: 81,
          dnat: zero, forwarded: zero,
        },
        { family: 'ipv4', bridge: 'br-rt', proto: 'tcp', containerAddress: '198.18.5.2', containerPort: 80, forwarded: zero },
        { family: 'ipv6', bridge: 'br-web', proto: 'tcp', hostPort: 8080, containerAddress: '2001:db8:1::2', containerPort: 80, dnat: zero, forwarded: zero },
      ],
    });
  });
}

for (const backend of ['nftables', 'iptables'] as const) {
  kernelTest(`show --counters of bindings the kernel does not hold: no counters, and nothing created (${backend})`, async (t) => {
    const ns = await createNetns(t, 'clicnt');
    await ns.run('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    const count = async (spec: object) => {
      const run = await cli('show', '--counters', specFile({ ...spec, backend }), '--netns', ns.path, '--json');
      t.is(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as { counters: Record<string, unknown>[] }).counters;
    };
    const none = await count(SPEC);
    t.is(none.length, 4);
    t.true(none.every((binding) => binding.dnat === undefined && binding.forwarded === undefined));
    t.is(await ns.run('sh', '-c', 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null; nft list ruleset; true'), '', 'nothing was created');

    // The kernel's host port 8080 leads to another container port than this spec's: its counters are not this binding's.
    t.is((await cli('apply', specFile({ ...SPEC, backend }), '--netns', ns.path)).code, 0);
    const other = structuredClone(SPEC);
    other.networks[0]!.endpoints[0]!.ports = ['8080:82'];
    t.deepEqual(await count(other), [
      { family: 'ipv4', bridge: 'br-web', proto: 'tcp', hostPort: 8080, containerAddress: '198.18.1.2', containerPort: 82 },
      { family: 'ipv4', bridge: 'br-rt', proto: 'tcp', containerAddress: '198.18.5.2', containerPort: 80, forwarded: { packets: 0, bytes: 0 } },
      { family: 'ipv6', bridge: 'br-web', proto: 'tcp', hostPort: 8080, containerAddress: '2001:db8:1::2', containerPort: 82 },
    ]);
  });
}

test('show --counters needs the spec whose bindings it counts, and the spec names the backend', async (t) => {
  const missing = await cli('show', '--counters');
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^error: EUSAGE: show --counters takes one SPEC\.json file/);
  const both = await cli('show', '--counters', specFile(SPEC), '--backend', 'iptables');
  t.is(both.code, 2);
  t.regex(both.stderr, /^error: EUSAGE: show --counters counts on the backend its SPEC names; drop --backend\n$/);
  const stray = await cli('show', 'spec.json');
  t.is(stray.code, 2);
  t.regex(stray.stderr, /^error: EUSAGE: show takes no argument, got spec\.json/);
});
