/**
 * The README's main job, as CI runs it: `bridgewall demo` builds its sandbox,
 * every row of its table passes, and none of its namespaces is left behind,
 * also when it is interrupted.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { systemTool } from '../src/sandbox/tools.js';
import { kernelTest } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');

async function demoNamespaces(pid: number | string): Promise<string[]> {
  const { stdout } = await execFileAsync(systemTool('ip'), ['netns', 'list']);
  return stdout.split('\n').filter((line) => line.startsWith(`bwdemo-${pid}-`));
}

/** The rows under the table's header: check, expected, result. */
function tableRows(stdout: string): string[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((line) => /^check\s+expected\s+result$/.test(line));
  if (header < 0) return [];
  const end = lines.indexOf('', header);
  return lines.slice(header + 2, end);
}

kernelTest('bridgewall demo: every check in its table passes and the sandbox is removed', async (t) => {
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'demo'], { timeout: 120_000 });
  t.regex(stdout, /the machine's own ruleset and interfaces are never touched/);
  t.regex(stdout, /^backend: nftables$/m);
  const rows = tableRows(stdout);
  t.is(rows.length, 8, stdout);
  for (const row of rows) t.regex(row, /  pass$/, row);
  t.regex(stdout, /^Bulk publish of 10,000 ports:$/m);
  t.regex(stdout, /estimated: 20,000 rules x [\d.]+ ms,\n\s+the mean of 100 timed processes of iptables/);
  const pid = /bwdemo-(\d+)-\*/.exec(stdout)?.[1];
  t.truthy(pid);
  t.deepEqual(await demoNamespaces(pid!), []);
});

// SIGHUP: the terminal closed (before, it left the sandbox behind).
for (const signal of ['SIGINT', 'SIGHUP'] as const) {
  kernelTest(`bridgewall demo removes its sandbox when stopped by ${signal}`, async (t) => {
    const child = spawn(process.execPath, [CLI, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('[2/6]')) resolve();
      });
    });
    t.true((await demoNamespaces(child.pid!)).length > 0, 'the sandbox exists while the demo runs');
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, received) => resolve(received)));
    child.kill(signal);
    t.is(await exited, signal);
    t.deepEqual(await demoNamespaces(child.pid!), []);
  });
}

test('bridgewall demo has complete help, listed in the main help', async (t) => {
  const main = await execFileAsync(process.execPath, [CLI, '--help']);
  t.regex(main.stdout, /bridgewall demo \[--backend iptables\|iptables-nft\|nftables\] \[--json\]/);
  const help = await execFileAsync(process.execPath, [CLI, 'demo', '--help']);
  t.regex(help.stdout, /^Usage: bridgewall demo/);
  for (const option of ['--backend NAME', '--json', '-h, --help', 'CAP_NET_ADMIN', 'never touched']) t.true(help.stdout.includes(option), option);
});
