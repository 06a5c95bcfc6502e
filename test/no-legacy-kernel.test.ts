/**
 * A kernel without legacy x_tables (Linux 6.17+ builds ip_tables only on
 * request; distributions drop it), emulated: an LD_PRELOAD shim, built here
 * with cc, fails the ip(6)tables get/set socket options with ENOPROTOOPT as
 * such a kernel does, in a child process (the CLI, or a script on the
 * library) only. The nftables and iptables-nft backends work fully; the
 * legacy backend fails with ENOLEGACY before anything is committed, naming
 * the alternatives.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { legacyTables } from './helpers/iptables-flavour.js';
import { WEB_NETWORK } from './helpers/rich-spec.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { scratchFolder, withPreload } from './helpers/preload.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');


interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI on the emulated kernel. */
async function cliWithoutLegacy(...args: string[]): Promise<Run> {
  const env = withPreload('no-legacy-xtables');
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout: 120_000, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function specFile(spec: unknown): string {
  const file = path.join(scratchFolder(), `spec-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

const NETWORK = WEB_NETWORK;

async function state(ns: TestNetns): Promise<string> {
  return ns.run('sh', '-c', 'nft list ruleset; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null; true');
}

kernelTest('without legacy x_tables: nftables apply, show and flush work and touch no legacy table', async (t) => {
  const ns = await createNetns(t, 'nolegacynft');
  const applied = await cliWithoutLegacy('apply', specFile({ backend: 'nftables', ipv6: true, networks: [NETWORK] }), '--netns', ns.path);
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stderr, '');
  t.regex(applied.stdout, /^applied with nftables: [1-9]\d* rules added, 0 deleted; [1-9]\d* set elements added, 0 deleted; [1-9]\d* sets added, 0 deleted; [1-9]\d* chains added, 0 deleted; 1 commit$/m);
  t.regex(await ns.run('nft', 'list', 'ruleset'), /8080/);
  const shown = await cliWithoutLegacy('show', '--netns', ns.path);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /^# bridgewall show --backend iptables\n# bridgewall show --backend iptables-nft\n# bridgewall show --backend nftables\ntable ip bridgewall/);
  const flushed = await cliWithoutLegacy('flush', '--netns', ns.path);
  t.is(flushed.code, 0, flushed.stderr);
  t.regex(flushed.stdout,
    /^flushed iptables: nothing to change\nflushed iptables-nft: nothing to change\nflushed nftables: 0 rules added, [1-9]\d* deleted; 0 set elements added, [1-9]\d* deleted; 0 sets added, [1-9]\d* deleted; 0 chains added, [1-9]\d* deleted; 1 commit\n$/);
  t.is(await ns.run('nft', 'list', 'ruleset'), '');
});

/** Port calls through the library on the emulated kernel: the CLI has none. */
async function portCallsWithoutLegacy(netns: string, spec: unknown, calls: string): Promise<Run> {
  const script = `
    const { Firewall } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'firewall.js'))});
    (async () => {
      const firewall = await Firewall.open({ netns: ${JSON.stringify(netns)} });
      try {
        await firewall.apply(${JSON.stringify(spec)});
        ${calls}
      } finally {
        firewall.close();
      }
    })().catch((error) => { process.stderr.write(String(error.code) + ': ' + error.message); process.exitCode = 1; });`;
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['-e', script], { timeout: 120_000, env: withPreload('no-legacy-xtables') });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

kernelTest('without legacy x_tables: iptables-nft apply, port calls, show and flush work, as Docker\'s rules in nf_tables, and touch no legacy table', async (t) => {
  // Forwarding off: the backend turns it on and sets the FORWARD policy to DROP, as Docker's iptables backend does.
  const ns = await createNetns(t, 'nolegacyiptnft', { forwarding: false });
  const spec = { backend: 'iptables-nft', ipv6: true, networks: [NETWORK] };
  const applied = await cliWithoutLegacy('apply', specFile(spec), '--netns', ns.path);
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stderr, '');
  t.regex(applied.stdout, /^applied with iptables-nft: \d+ rules added, 0 deleted; \d+ chains added, 0 deleted; 1 commit$/m);
  for (const tool of ['iptables-nft-save', 'ip6tables-nft-save']) {
    const saved = await ns.run(tool);
    t.regex(saved, /^:FORWARD DROP /m, tool);
    t.regex(saved, /-A DOCKER -d (198\.18\.1\.2\/32|2001:db8:1::2\/128) ! -i br-web -o br-web -p tcp -m tcp --dport 80 -j ACCEPT/, tool);
    t.regex(saved, /--dport 8080 -j DNAT --to-destination (198\.18\.1\.2|\[2001:db8:1::2\]):80/, tool);
  }

  const ports = await portCallsWithoutLegacy(ns.path, spec, `
        const endpoint = { ipv4: '198.18.1.2', ipv6: '2001:db8:1::2' };
        await firewall.addPorts('br-web', endpoint, [{ proto: 'udp', hostPort: 5353, containerPort: 53 }]);
        await firewall.removePorts('br-web', endpoint, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);`);
  t.is(ports.code, 0, ports.stderr);
  for (const tool of ['iptables-nft-save', 'ip6tables-nft-save']) {
    const saved = await ns.run(tool, '-t', 'nat');
    t.regex(saved, /-p udp -m udp --dport 5353 -j DNAT --to-destination (198\.18\.1\.2|\[2001:db8:1::2\]):53/, tool);
    t.notRegex(saved, /--dport 8080/, tool);
  }

  const shown = await cliWithoutLegacy('show', '--backend', 'iptables-nft', '--netns', ns.path);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /^# bridgewall show --backend iptables-nft\n# Generated by iptables-nft-save \(nf_tables\), read back by bridgewall\n\*raw\n/);
  t.regex(shown.stdout, /--dport 5353 -j DNAT/);
  const flushed = await cliWithoutLegacy('flush', '--netns', ns.path);
  t.is(flushed.code, 0, flushed.stderr);
  t.regex(flushed.stdout, /^flushed iptables: nothing to change\nflushed iptables-nft: 0 rules added, \d+ deleted; 0 chains added, \d+ deleted; 1 commit\nflushed nftables: nothing to change\n$/);
  for (const tool of ['iptables-nft-save', 'ip6tables-nft-save']) t.notRegex(await ns.run(tool), /DOCKER|br-web/, tool);
  t.is(await legacyTables(ns), '', 'no legacy table');
});

kernelTest('without legacy x_tables: the iptables backend fails with ENOLEGACY, commits nothing and names the alternatives', async (t) => {
  // Forwarding off, so the legacy backend would turn it on: it must not, either.
  const ns = await createNetns(t, 'nolegacyipt', { forwarding: false });
  const before = await state(ns);
  const applied = await cliWithoutLegacy('apply', specFile({ backend: 'iptables', ipv6: true, networks: [NETWORK] }), '--netns', ns.path);
  t.is(applied.code, 1);
  t.regex(applied.stderr, /^error: ENOLEGACY: the kernel has no legacy ip6?tables table \w+ \(.*\): use the iptables-nft backend/m);
  t.regex(applied.stderr, /use the iptables-nft backend \(the same rules in nf_tables\), the nftables backend \(the default\), or load the ip6?_tables and ip6?table_\w+ modules \(modprobe\)/);
  t.is(applied.stdout, '');
  t.is(await state(ns), before);
});

kernelTest('without legacy x_tables: the demo runs fully on nftables', async (t) => {
  const demo = await cliWithoutLegacy('demo', '--backend', 'nftables', '--json');
  t.is(demo.code, 0, demo.stderr);
  const report = JSON.parse(demo.stdout) as { checks: { passed: boolean }[] };
  t.true(report.checks.length > 0);
  t.true(report.checks.every((check) => check.passed), demo.stdout);
});
