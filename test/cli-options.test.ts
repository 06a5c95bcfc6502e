/**
 * The command's small contract: --version, exit status 0 / 1 / 2 as --help
 * documents it, and --quiet (nothing on standard output on success).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { cli, specFile } from './helpers/cli.js';
import { createNetns, kernelTest } from './helpers/netns.js';

const ROOT = path.resolve(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('--version and -V print the package version', async (t) => {
  for (const flag of ['--version', '-V']) {
    const run = await cli(flag);
    t.is(run.code, 0);
    t.is(run.stdout, `${VERSION}\n`);
    t.is(run.stderr, '');
  }
  t.regex((await cli('--help')).stdout, /-V, --version/);
});

test('exit status: 0 on success, 1 on failure, 2 on a usage error, as --help says', async (t) => {
  const help = await cli('--help');
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit status:\n {2}0 {2}success\n {2}1 {2}failure.*\n {2}2 {2}usage error/);
  const failure = await cli('apply', '/nonexistent/spec.json');
  t.is(failure.code, 1);
  t.regex(failure.stderr, /^error: EVALIDATION: /);
  for (const usage of [['frobnicate'], ['apply'], ['apply', 'a.json', 'b.json'], ['show', '--colour'], ['flush', 'extra'], ['apply', 'a.json', '--quiet', '--json']]) {
    const run = await cli(...usage);
    t.is(run.code, 2, usage.join(' '));
    t.regex(run.stderr, /^error: EUSAGE: .*\n$/, usage.join(' '));
  }
});

test('--quiet is documented for apply and flush, and refused with --json or --dry-run', async (t) => {
  for (const command of ['apply', 'flush']) t.regex((await cli(command, '--help')).stdout, /-q, --quiet +print nothing on success \(warnings still go to stderr\)/);
  const run = await cli('apply', 'spec.json', '-q', '--dry-run');
  t.is(run.code, 2);
  t.regex(run.stderr, /^error: EUSAGE: --quiet prints nothing, so it goes with neither --json nor --dry-run/);
});

kernelTest('apply --quiet and flush --quiet print nothing on success, and still fail loudly', async (t) => {
  const ns = await createNetns(t, 'cliquiet');
  const spec = {
    backend: 'iptables',
    networks: [{ bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }] }],
  };
  const applied = await cli('apply', specFile(spec), '--netns', ns.path, '--quiet');
  t.deepEqual(applied, { code: 0, stdout: '', stderr: '' });
  t.regex(await ns.run('iptables-legacy-save', '-t', 'nat'), /--dport 8080 -j DNAT --to-destination 198\.18\.1\.2:80/);
  const flushed = await cli('flush', '--backend', 'iptables', '--netns', ns.path, '-q');
  t.deepEqual(flushed, { code: 0, stdout: '', stderr: '' });
  t.notRegex(await ns.run('iptables-legacy-save', '-t', 'nat'), /DOCKER/);
  const bad = await cli('apply', specFile({ ...spec, backend: 'pf' }), '--netns', ns.path, '--quiet');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^error: EVALIDATION: backend: /);
});
