/**
 * The CLI contract: apply / show / flush on a namespace, idempotence,
 * --dry-run touching nothing, --json, and failures as one line
 * `error: CODE: message` with nothing applied.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { CLI, cli, specFile } from './helpers/cli.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

const execFileAsync = promisify(execFile);

const SPEC = {
  backend: 'iptables',
  networks: [{
    bridge: 'br-web',
    ipv4: { subnet: '198.18.1.0/24' },
    endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

async function saveAll(ns: TestNetns): Promise<string> {
  let text = '';
  for (const table of ['raw', 'filter', 'nat']) text += normaliseSave(await ns.run('iptables-legacy-save', '-t', table));
  return text;
}

kernelTest('apply programs the namespace, a second apply changes nothing, flush removes it all', async (t) => {
  const ns = await createNetns(t, 'cli');
  const file = specFile(SPEC);
  const first = await cli('apply', file, '--netns', ns.path, '--json');
  t.is(first.code, 0, first.stderr);
  t.like(JSON.parse(first.stdout), { backend: 'iptables', commits: 3, counts: { rules: { deleted: 0 }, chains: { deleted: 0 } } });
  const saved = await saveAll(ns);
  t.regex(saved, /-A DOCKER ! -i br-web -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198\.18\.1\.2:80/);

  const second = await cli('apply', file, '--netns', ns.path, '--json');
  t.like(JSON.parse(second.stdout), { commits: 0, changes: 0 });
  t.is(await saveAll(ns), saved);

  const shown = await cli('show', '--backend', 'iptables', '--netns', ns.path, '--json');
  const [state] = JSON.parse(shown.stdout);
  t.is(state.backend, 'iptables');
  t.true(JSON.stringify(state.state).includes('-d 198.18.1.2/32 ! -i br-web -o br-web -p tcp -m tcp --dport 80 -j ACCEPT'));
  t.regex((await cli('show', '--backend', 'iptables', '--netns', ns.path)).stdout, /^# iptables\n\*raw\n/);

  const again = await cli('apply', file, '--netns', ns.path);
  t.is(again.stdout, 'applied with iptables: nothing to change\n');
  const flushed = await cli('flush', '--backend', 'iptables', '--netns', ns.path);
  t.is(flushed.code, 0, flushed.stderr);
  // Counted in rules and chains, a flushed chain's rules included; then in kernel commits (one per table with legacy iptables).
  t.regex(flushed.stdout, /^flushed iptables: 0 rules added, [1-9]\d* deleted; 0 chains added, [1-9]\d* deleted; 3 commits\n$/);
  t.notRegex(await saveAll(ns), /DOCKER/);
});

kernelTest('apply takes Docker\'s -p notation and prints the host ports it chose', async (t) => {
  const ns = await createNetns(t, 'clip');
  await ns.run('sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40009');
  const file = specFile({ ...SPEC, networks: [{ ...SPEC.networks[0], endpoints: [{ ipv4: '198.18.1.2', ports: ['8080:80', '81/udp'] }] }] });
  const text = await cli('apply', file, '--netns', ns.path);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^chose host port 40000 for networks\[0\]\.endpoints\[0\]\.ports\[1\]$/m);
  t.regex(await saveAll(ns), /--dport 40000 -j DNAT --to-destination 198\.18\.1\.2:81/);
  const json = await cli('apply', file, '--netns', ns.path, '--json');
  t.like(JSON.parse(json.stdout), { changes: 0, allocatedHostPorts: [{ field: 'networks[0].endpoints[0].ports[1]', hostPort: 40000 }] });
});

kernelTest('apply --dry-run prints the rules and touches nothing', async (t) => {
  const ns = await createNetns(t, 'clidry');
  const before = await saveAll(ns);
  const run = await cli('apply', specFile(SPEC), '--netns', ns.path, '--dry-run');
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^# iptables dry run: [1-9]\d* rules added, 0 deleted; [1-9]\d* chains added, 0 deleted\n# IPv4, for iptables-legacy-restore --noflush:\n/);
  t.regex(run.stdout, /^-A POSTROUTING -s 198\.18\.1\.0\/24 ! -o br-web -j MASQUERADE$/m);
  const full = await cli('apply', specFile(SPEC), '--netns', ns.path, '--dry-run', '--full');
  t.regex(full.stdout, /; the tables will read:\n# IPv4, as iptables-legacy-save will print it:\n\*raw\n:PREROUTING ACCEPT \[0:0\]\n/);
  const json = JSON.parse((await cli('apply', specFile(SPEC), '--netns', ns.path, '--dry-run', '--json')).stdout) as { backend: string; text: string; counts: { rules: { added: number } } };
  t.is(json.backend, 'iptables');
  t.is(json.text, run.stdout);
  t.true(json.counts.rules.added > 0);
  const usage = await cli('apply', specFile(SPEC), '--netns', ns.path, '--full');
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^error: EUSAGE: --full says what --dry-run prints/);
  t.is(await saveAll(ns), before);
});

kernelTest('an invalid spec fails with one error line naming the field, and nothing is applied', async (t) => {
  const ns = await createNetns(t, 'clibad');
  const before = await saveAll(ns);
  const bad = structuredClone(SPEC);
  bad.networks[0]!.endpoints[0]!.ports[0]!.hostPort = 70_000;
  const run = await cli('apply', specFile(bad), '--netns', ns.path);
  t.is(run.code, 1);
  t.is(run.stdout, '');
  t.regex(run.stderr, /^error: EVALIDATION: networks\[0\]\.endpoints\[0\]\.ports\[0\]\.hostPort: .*\n$/);
  t.is(run.stderr.split('\n').length, 2);
  t.is(await saveAll(ns), before);
});

test('usage errors and unreadable specs are one error line too', async (t) => {
  const missing = await cli('apply', '/nonexistent/spec.json');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^error: EVALIDATION: SPEC: cannot read \/nonexistent\/spec\.json: .*\n$/);
  const unknown = await cli('frobnicate');
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /^error: EUSAGE: unknown command "frobnicate"; run bridgewall --help\n$/);
  const option = await cli('show', '--colour');
  t.regex(option.stderr, /^error: EUSAGE: .*--colour.*\n$/);
  const backend = await cli('show', '--backend', 'pf');
  t.regex(backend.stderr, /^error: EVALIDATION: --backend: Expected one of iptables, iptables-nft, nftables for --backend but received "pf"\n$/);
});

kernelTest('a namespace that does not exist is a typed error', async (t) => {
  const run = await cli('show', '--netns', '/run/netns/bridgewall-none');
  t.is(run.code, 1);
  t.regex(run.stderr, /^error: ENOENT: cannot open network namespace \/run\/netns\/bridgewall-none/);
});

test('every command has complete help', async (t) => {
  const main = await cli('--help');
  for (const command of ['apply', 'show', 'flush']) {
    t.true(main.stdout.includes(`bridgewall ${command}`));
    const help = await cli(command, '--help');
    t.is(help.code, 0);
    t.regex(help.stdout, new RegExp(`^Usage: bridgewall ${command}`));
    t.regex(help.stdout, /--netns PATH/);
  }
});

kernelTest('without privileges the error says what to do next', async (t) => {
  const ns = await createNetns(t, 'cliperm');
  const file = specFile(SPEC);
  const { stdout, stderr } = await execFileAsync(
    'ip',
    ['netns', 'exec', ns.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CLI, 'apply', file],
    { timeout: 30_000 },
  ).catch((error: { stdout: string; stderr: string }) => error);
  t.is(stdout, '');
  t.regex(stderr, /^error: (EPERM|EACCES): .*\(run as root, or with CAP_NET_ADMIN/);
});

kernelTest('apply refuses another manager\'s daemon-level rules with ECONFLICT and a hint; --adopt takes them over', async (t) => {
  const ns = await createNetns(t, 'cliadopt');
  // A Docker daemon's nat OUTPUT jump with its userland proxy on.
  await ns.run('iptables-legacy', '-w', '-t', 'nat', '-N', 'DOCKER');
  await ns.run('iptables-legacy', '-w', '-t', 'nat', '-A', 'OUTPUT', '!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER');
  const file = specFile({ backend: 'iptables', userlandProxy: false });
  const refused = await cli('apply', file, '--netns', ns.path);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^error: ECONFLICT: .*-A OUTPUT ! -d 127\.0\.0\.0\/8 -m addrtype --dst-type LOCAL -j DOCKER[\s\S]*--adopt/);
  const adopted = await cli('apply', file, '--netns', ns.path, '--adopt');
  t.is(adopted.code, 0, adopted.stderr);
  t.false((await saveAll(ns)).includes('127.0.0.0/8'));
});
