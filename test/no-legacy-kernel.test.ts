/**
 * A kernel without legacy x_tables (Linux 6.17+ builds ip_tables only on
 * request; distributions drop it), emulated: an LD_PRELOAD shim, built here
 * with cc, fails the ip(6)tables get/set socket options with ENOPROTOOPT as
 * such a kernel does, in a child process (the CLI) only. The nftables backend
 * works fully; the legacy backend fails with ENOLEGACY before anything is
 * committed, naming the alternatives.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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

const NETWORK = {
  bridge: 'br-web',
  ipv4: { subnet: '198.18.1.0/24' },
  ipv6: { subnet: '2001:db8:1::/64' },
  endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
};

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
  t.regex(shown.stdout, /^# iptables\n# iptables-nft\n# nftables\ntable ip bridgewall/);
  const flushed = await cliWithoutLegacy('flush', '--netns', ns.path);
  t.is(flushed.code, 0, flushed.stderr);
  t.regex(flushed.stdout,
    /^flushed iptables: nothing to change\nflushed iptables-nft: nothing to change\nflushed nftables: 0 rules added, [1-9]\d* deleted; 0 set elements added, [1-9]\d* deleted; 0 sets added, [1-9]\d* deleted; 0 chains added, [1-9]\d* deleted; 1 commit\n$/);
  t.is(await ns.run('nft', 'list', 'ruleset'), '');
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
