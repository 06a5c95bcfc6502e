/**
 * src/sandbox, the namespaces the demo, the tests and the benchmark create:
 * unique names, forwarding on unless asked otherwise, and everything deleted
 * (with the iptables owner records) by remove(), at exit, on a signal, and
 * by the next run when the process was killed outright.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ownerRecordPath } from '../src/backends/iptables/owner-record.js';
import { Firewall } from '../src/firewall.js';
import { sweepOrphans } from '../src/sandbox/live.js';
import { Sandbox } from '../src/sandbox/sandbox.js';
import { systemTool } from '../src/sandbox/tools.js';
import { kernelTest, testSandbox } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const SANDBOX_MODULE = path.join(__dirname, '..', 'src', 'sandbox', 'sandbox.js');

async function namespacesNamed(prefix: string): Promise<string[]> {
  const { stdout } = await execFileAsync(systemTool('ip'), ['netns', 'list']);
  return stdout.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name.startsWith(prefix));
}

/**
 * A node process that creates two test namespaces (`bwt-PID-...`: a test
 * process's next sweep deletes any it leaves), says "ready" and then does
 * what `then` says (JavaScript, with `sandbox` in scope).
 */
function sandboxProcess(then: string) {
  const script = `
    const { Sandbox } = require(${JSON.stringify(SANDBOX_MODULE)});
    (async () => {
      const sandbox = new Sandbox('bwt');
      await sandbox.add('a');
      await sandbox.add('b', { forwarding: false });
      process.stdout.write('ready\\n');
      ${then}
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, ready, exited };
}

kernelTest('namespaces have unique names with the prefix and process id, loopback up, forwarding on unless asked otherwise', async (t) => {
  const sandbox = testSandbox(t);
  const [routed, plain] = await Promise.all([sandbox.add('fwd'), sandbox.add('fwd', { forwarding: false })]);
  t.not(routed.name, plain.name);
  for (const ns of [routed, plain]) {
    t.regex(ns.name, new RegExp(`^bwt-${process.pid}-\\d+-fwd$`));
    t.is(ns.path, `/run/netns/${ns.name}`);
    t.regex(await ns.run('ip', 'link', 'show', 'lo'), /[<,]UP[,>]/);
  }
  const forwarding = (ns: typeof routed) => ns.run('cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding', '/proc/sys/net/ipv6/conf/default/forwarding');
  t.is(await forwarding(routed), '1\n1\n1\n');
  t.is(await forwarding(plain), '0\n0\n0\n');
  t.is(sandbox.size, 2);
});

kernelTest('remove() runs what it was told to undo, deletes the namespaces and their iptables owner records, and may run twice', async (t) => {
  const sandbox = new Sandbox('bwt');
  t.teardown(() => sandbox.remove());
  const ns = await sandbox.add('rm');
  const firewall = await Firewall.open({ netns: ns.path });
  await firewall.apply({ backend: 'iptables', networks: [{ bridge: 'br-rm', ipv4: { subnet: '198.18.1.0/24' } }] });
  firewall.close();
  const record = await ownerRecordPath('iptables', ns.path);
  t.true(existsSync(record), 'the apply made an owner record');
  const undone: string[] = [];
  sandbox.onRemove(() => undone.push(existsSync(ns.path) ? 'before the namespaces went' : 'after'));
  sandbox.remove();
  t.deepEqual(undone, ['before the namespaces went']);
  t.false(existsSync(ns.path));
  t.false(existsSync(record));
  t.notThrows(() => sandbox.remove());
  t.deepEqual(undone, ['before the namespaces went']);
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  kernelTest(`a process stopped by ${signal} deletes its namespaces first, and ends by the signal`, async (t) => {
    const { child, ready, exited } = sandboxProcess('setTimeout(() => {}, 60_000);');
    t.teardown(() => child.kill('SIGKILL'));
    await ready;
    t.is((await namespacesNamed(`bwt-${child.pid}-`)).length, 2);
    child.kill(signal);
    t.deepEqual(await exited, { code: null, signal });
    t.deepEqual(await namespacesNamed(`bwt-${child.pid}-`), []);
  });
}

kernelTest('a process that fails (an uncaught error) deletes its namespaces on the way out', async (t) => {
  const { child, ready, exited } = sandboxProcess("throw new Error('failed');");
  t.teardown(() => child.kill('SIGKILL'));
  await ready;
  t.like(await exited, { code: 1 });
  t.deepEqual(await namespacesNamed(`bwt-${child.pid}-`), []);
});

kernelTest('the namespaces of a process killed outright are deleted by the next sweep, and only those', async (t) => {
  const { child, ready, exited } = sandboxProcess('setTimeout(() => {}, 60_000);');
  await ready;
  const kept = await testSandbox(t).add('kept');
  child.kill('SIGKILL');
  await exited;
  t.is((await namespacesNamed(`bwt-${child.pid}-`)).length, 2, 'SIGKILL left them');
  sweepOrphans('bwt');
  t.deepEqual(await namespacesNamed(`bwt-${child.pid}-`), []);
  t.true(existsSync(kept.path), "this process's own namespace is kept");
});
