/**
 * Forwarding as Docker does it, per backend (moby drivers/bridge/
 * setup_ip_forwarding.go): the iptables backends (legacy and iptables-nft)
 * turn it on and, where they did,
 * sets the filter FORWARD policy to DROP (unless forwardDrop: false); the
 * nftables backend refuses while it is off, before anything is committed;
 * ipForward: false leaves it off with a warning.
 */
import path from 'node:path';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { NetfilterError, ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { IPTABLES_FLAVOURS, type IptablesFlavour, saveTool } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

const WEB = {
  bridge: 'br-web',
  ipv4: { subnet: '198.18.1.0/24' },
  ipv6: { subnet: '2001:db8:1::/64' },
  endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: [{ proto: 'tcp' as const, hostPort: 8080, containerPort: 80 }] }],
};
const SPEC: SpecInput = { ipv6: true, networks: [WEB] };

async function forwarding(ns: TestNetns): Promise<string> {
  return (await ns.run('sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/default/forwarding /proc/sys/net/ipv6/conf/all/forwarding')).replace(/\n/g, ' ').trim();
}

async function forwardPolicies(ns: TestNetns, flavour: IptablesFlavour): Promise<string[]> {
  const policy = async (tool: string) => /^:FORWARD (\w+)/m.exec(await ns.run(tool, '-t', 'filter'))?.[1] ?? 'none';
  return [await policy(saveTool(flavour, 'ipv4')), await policy(saveTool(flavour, 'ipv6'))];
}

async function open(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

for (const flavour of IPTABLES_FLAVOURS) {
  kernelTest(`${flavour}: forwarding turned on in the namespace, and the FORWARD policy set to DROP because it did`, async (t) => {
    const ns = await createNetns(t, 'fwdon', { forwarding: false });
    t.is(await forwarding(ns), '0 0 0');
    const result = await (await open(t, ns)).apply({ ...SPEC, backend: flavour });
    t.is(await forwarding(ns), '1 1 1');
    t.deepEqual(await forwardPolicies(ns, flavour), ['DROP', 'DROP']);
    t.deepEqual(result.sysctls.written.slice(0, 3), ['net.ipv4.ip_forward', 'net.ipv6.conf.default.forwarding', 'net.ipv6.conf.all.forwarding']);
    t.deepEqual(result.warnings, []);
  });

  kernelTest(`${flavour}: forwarding already on leaves the FORWARD policy alone; forwardDrop: false never sets it`, async (t) => {
    const already = await createNetns(t, 'fwdalready');
    await (await open(t, already)).apply({ ...SPEC, backend: flavour });
    t.deepEqual(await forwardPolicies(already, flavour), ['ACCEPT', 'ACCEPT']);

    const noDrop = await createNetns(t, 'fwdnodrop', { forwarding: false });
    await (await open(t, noDrop)).apply({ ...SPEC, backend: flavour, forwardDrop: false });
    t.is(await forwarding(noDrop), '1 1 1');
    t.deepEqual(await forwardPolicies(noDrop, flavour), ['ACCEPT', 'ACCEPT']);
  });

  kernelTest(`${flavour}: IPv6 forwarding is turned on only with an IPv6 network, as Docker does per network`, async (t) => {
    const ns = await createNetns(t, 'fwdv4', { forwarding: false });
    await (await open(t, ns)).apply({ backend: flavour, ipv6: true, networks: [{ bridge: 'br-v4', ipv4: { subnet: '198.18.2.0/24' } }] });
    t.is(await forwarding(ns), '1 0 0');
    t.is((await forwardPolicies(ns, flavour))[0], 'DROP');
  });
}

kernelTest('nftables: refuses with ENOFORWARDING while forwarding is off, committing and writing nothing', async (t) => {
  const ns = await createNetns(t, 'fwdnft', { forwarding: false });
  const firewall = await open(t, ns);
  const error = await t.throwsAsync(firewall.apply({ ...SPEC, backend: 'nftables' }), { instanceOf: NetfilterError });
  t.is(error?.code, 'ENOFORWARDING');
  t.is(error?.message, 'IPv4 forwarding is disabled: check your host\'s firewalling and set sysctl net.ipv4.ip_forward=1, or disable this check using the spec option ipForward: false (the nftables backend, as Docker\'s, does not turn forwarding on; the iptables backends do)');
  t.is(await ns.run('nft', 'list', 'ruleset'), '');
  t.is(await forwarding(ns), '0 0 0');
  t.is(firewall.currentSpec(), undefined);

  // IPv4 on, IPv6 off: the IPv6 network is refused too.
  await ns.run('sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
  const v6 = await t.throwsAsync(firewall.apply({ ...SPEC, backend: 'nftables' }), { instanceOf: NetfilterError });
  t.is(v6?.code, 'ENOFORWARDING');
  t.regex(v6?.message ?? '', /^IPv6 global forwarding is disabled: .* set sysctls net\.ipv6\.conf\.all\.forwarding=1 and net\.ipv6\.conf\.default\.forwarding=1/);
  t.is(await ns.run('nft', 'list', 'ruleset'), '');
});

kernelTest('ipForward: false leaves forwarding off with a WFORWARDINGOFF warning, on every backend', async (t) => {
  for (const backend of ['nftables', 'iptables', 'iptables-nft'] as const) {
    const ns = await createNetns(t, `fwdoff${backend}`, { forwarding: false });
    const result = await (await open(t, ns)).apply({ backend, ipForward: false, networks: [WEB] });
    t.is(await forwarding(ns), '0 0 0');
    t.deepEqual(result.warnings, [{
      code: 'WFORWARDINGOFF',
      message: 'IPv4 forwarding is off in the namespace and ipForward: false leaves it off: the networks\' traffic is not forwarded (set sysctl net.ipv4.ip_forward=1, or ipForward: true)',
    }]);
  }
  // Forwarding on: nothing to say.
  const on = await createNetns(t, 'fwdoffon');
  t.deepEqual((await (await open(t, on)).apply({ ipForward: false, networks: [WEB] })).warnings, []);
});

kernelTest('the CLI prints the refusal with its hint, and the warning on stderr', async (t) => {
  const ns = await createNetns(t, 'fwdcli', { forwarding: false });
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-fwd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const file = (spec: SpecInput) => {
    const name = path.join(dir, `${Object.keys(spec).join('-')}.json`);
    writeFileSync(name, JSON.stringify(spec));
    return name;
  };
  const refused = await execFileAsync(process.execPath, [CLI, 'apply', file({ networks: [WEB] }), '--netns', ns.path]).catch((error: { code: number; stderr: string }) => error);
  t.is((refused as { code: number }).code, 1);
  t.regex((refused as { stderr: string }).stderr, /^error: ENOFORWARDING: IPv4 forwarding is disabled: .*\(.*ip_forward=1.*\)\n$/);
  const warned = await execFileAsync(process.execPath, [CLI, 'apply', file({ ipForward: false, networks: [WEB] }), '--netns', ns.path]);
  t.regex(warned.stderr, /^warning: WFORWARDINGOFF: IPv4 forwarding is off in the namespace/);
});

test('ipForward and forwardDrop are booleans, true by default', (t) => {
  const spec = parseSpec({});
  t.true(spec.ipForward);
  t.true(spec.forwardDrop);
  t.false(parseSpec({ ipForward: false, forwardDrop: false }).ipForward);
  for (const field of ['ipForward', 'forwardDrop']) {
    const error = t.throws(() => parseSpec({ [field]: 'yes' }), { instanceOf: ValidationError });
    t.is(error?.field, field);
    t.is(error?.message, `${field}: Expected true or false for ${field} but received "yes"`);
  }
});
