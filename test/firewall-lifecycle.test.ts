/**
 * A Firewall's lifecycle, on every backend: every call settles, in call
 * order (apply and port calls issued together take effect one after the
 * other), close() with calls in flight, a namespace deleted under an open
 * Firewall, and what open() checks about the namespace it is given.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { NetfilterError, ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { FirewallBackend, PortSpecInput, SpecInput } from '../src/spec/types.js';
import { FirewallWatcher } from '../src/watch.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const BACKENDS: readonly FirewallBackend[] = ['iptables', 'nftables'];
const ENDPOINT = { ipv4: '198.18.8.2' };

function spec(backend: FirewallBackend, hostPorts: number[] = []): SpecInput {
  return {
    backend, userlandProxy: false,
    networks: [{
      bridge: 'br-life', ipv4: { subnet: '198.18.8.0/24' },
      endpoints: [{ ...ENDPOINT, ports: hostPorts.map((hostPort) => ({ proto: 'tcp', hostPort, containerPort: 80 })) }],
    }],
  };
}

const port = (hostPort: number) => [{ proto: 'tcp' as const, hostPort, containerPort: 80 }];

/** The host ports DNATed in the namespace, read with the standard tools. */
async function publishedHostPorts(ns: TestNetns, backend: FirewallBackend): Promise<number[]> {
  const text = backend === 'iptables' ? await ns.run('iptables-legacy-save', '-t', 'nat') : await ns.run('nft', 'list', 'ruleset');
  const pattern = backend === 'iptables' ? /--dport (\d+) -j DNAT/g : /tcp \. (\d+) : /g;
  return [...text.matchAll(pattern)].map((match) => Number(match[1])).sort((a, b) => a - b);
}

function heldHostPorts(firewall: Firewall): number[] {
  return (firewall.currentSpec()?.networks?.[0]?.endpoints?.[0]?.ports ?? []).map((p) => Number((p as PortSpecInput).hostPort)).sort((a, b) => a - b);
}

async function open(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

/** Every promise settles within `ms` (a call that never settles fails the test instead of hanging it). */
function settled<T>(promises: Promise<T>[], ms = 20_000): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a call did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.allSettled(promises), timeout]).finally(() => clearTimeout(timer));
}

const isClosedError = (reason: unknown) => reason instanceof ValidationError && reason.field === 'firewall';

for (const backend of BACKENDS) {
  kernelTest(`${backend}: calls issued together take effect in call order, in the kernel and in currentSpec()`, async (t) => {
    const ns = await createNetns(t, `o${backend.slice(0, 3)}`);
    const firewall = await open(t, ns);
    await firewall.apply(spec(backend));
    // apply then addPorts: the spec, then 9000 on top.
    await Promise.all([firewall.apply(spec(backend, [8000, 8001])), firewall.addPorts('br-life', ENDPOINT, port(9000))]);
    t.deepEqual(heldHostPorts(firewall), [8000, 8001, 9000]);
    t.deepEqual(await publishedHostPorts(ns, backend), [8000, 8001, 9000]);
    // addPorts then apply: the spec alone (apply is declarative).
    await Promise.all([firewall.addPorts('br-life', ENDPOINT, port(9001)), firewall.apply(spec(backend, [8000]))]);
    t.deepEqual(heldHostPorts(firewall), [8000]);
    t.deepEqual(await publishedHostPorts(ns, backend), [8000]);
    // flush, then an edit: nothing applied any more when the edit takes its turn.
    const [, edit] = await Promise.allSettled([firewall.flush(backend), firewall.addPorts('br-life', ENDPOINT, port(9002))]);
    t.like((edit as PromiseRejectedResult).reason, { name: 'ValidationError', field: 'spec' });
    t.deepEqual(await publishedHostPorts(ns, backend), []);
    // reapply, removePorts, apply, addPorts, reapply: each on what the one before left.
    const calls = await Promise.all([
      firewall.apply(spec(backend, [7000, 7001])), firewall.removePorts('br-life', ENDPOINT, port(7000)),
      firewall.reapply(), firewall.addPorts('br-life', ENDPOINT, port(7002)), firewall.reapply(),
    ]);
    t.like(calls[4], { changes: 0 }, 'the last reapply finds the kernel as the calls before it left it');
    t.deepEqual(heldHostPorts(firewall), [7001, 7002]);
    t.deepEqual(await publishedHostPorts(ns, backend), [7001, 7002]);
  });

  kernelTest(`${backend}: close() with calls queued settles every call, and every later call rejects`, async (t) => {
    const ns = await createNetns(t, `c${backend.slice(0, 3)}`);
    const firewall = await Firewall.open({ netns: ns.path });
    await firewall.apply(spec(backend));
    // Queued, none started: all reject.
    const queued = [firewall.addPorts('br-life', ENDPOINT, port(9000)), firewall.reapply(), firewall.addPorts('br-life', ENDPOINT, port(9001))];
    const closing = firewall.close();
    const results = await settled<unknown>(queued);
    t.true(results.every((r) => r.status === 'rejected' && isClosedError(r.reason)), JSON.stringify(results));
    await closing;
    t.deepEqual(await publishedHostPorts(ns, backend), [], 'nothing queued was written');
    for (const call of [
      () => firewall.addPorts('br-life', ENDPOINT, port(9002)), () => firewall.removePorts('br-life', ENDPOINT, port(9002)),
      () => firewall.apply(spec(backend)), () => firewall.reapply(), () => firewall.show(backend), () => firewall.flush(backend),
      () => firewall.addNetwork({ bridge: 'br-x' }), () => firewall.dryRun(spec(backend)),
    ]) {
      t.true(isClosedError(await t.throwsAsync(call())), String(call));
    }
    await firewall.close();
  });

  kernelTest(`${backend}: close() while a call is committing lets it complete and rejects the calls behind it`, async (t) => {
    const ns = await createNetns(t, `k${backend.slice(0, 3)}`);
    const firewall = await Firewall.open({ netns: ns.path });
    await firewall.apply(spec(backend));
    const first = firewall.addPorts('br-life', ENDPOINT, port(9000));
    // The first call takes its turn on the next microtask; then the rest queue behind it.
    await null;
    await null;
    const behind = Array.from({ length: 50 }, (_, i) => firewall.addPorts('br-life', ENDPOINT, port(9100 + i)));
    await firewall.close();
    const [head, ...rest] = await settled<unknown>([first, ...behind]);
    t.is(head!.status, 'fulfilled');
    t.true(rest.every((r) => r.status === 'rejected' && isClosedError(r.reason)));
    t.deepEqual(heldHostPorts(firewall), [9000]);
    t.deepEqual(await publishedHostPorts(ns, backend), [9000], 'the call under way completed, in the kernel too');
  });

  kernelTest(`${backend}: a namespace deleted (or replaced) under an open Firewall fails every call with ENOENT, and a watcher stops`, async (t) => {
    const ns = await createNetns(t, `d${backend.slice(0, 3)}`);
    const firewall = await open(t, ns);
    await firewall.apply(spec(backend, [8000]));
    const watcher = new FirewallWatcher(firewall, { intervalMs: 10 });
    t.teardown(() => watcher.close());
    const errors: Error[] = [];
    watcher.on('error', (error) => errors.push(error));
    await execFileAsync('ip', ['netns', 'del', ns.name]);
    for (const call of [() => firewall.show(backend), () => firewall.addPorts('br-life', ENDPOINT, port(9000)), () => firewall.reapply(),
      () => firewall.apply(spec(backend))]) {
      const error = await t.throwsAsync(call());
      t.like(error, { name: 'NetfilterError', code: 'ENOENT', operation: 'netns.check' });
    }
    // Its first check after the deletion fails (bounded wait: a loaded machine delays timers), then 20 intervals pass.
    for (let waited = 0; errors.length === 0 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.is(errors.length, 1, `one error, then the watcher stopped: ${errors.map(String).join('; ')}`);
    // netns.open when the deletion came during a check, between its namespace check and its sysctl writes.
    t.like(errors[0], { code: 'ENOENT' });
    t.regex((errors[0] as NetfilterError).operation, /^netns\.(check|open)$/);

    // The same path naming a new namespace is not the one this Firewall opened either.
    await execFileAsync('ip', ['netns', 'add', ns.name]);
    const error = await t.throwsAsync(firewall.addPorts('br-life', ENDPOINT, port(9000)));
    t.like(error, { code: 'ENOENT', operation: 'netns.check' });
    t.regex(error!.message, /now names another namespace/);
    t.deepEqual(await publishedHostPorts(ns, backend), [], 'nothing was written to the new namespace');
  });
}

kernelTest('open() checks the namespace: missing, not a network namespace, not enterable', async (t) => {
  const expectations: [string, Partial<NetfilterError>][] = [
    ['/run/netns/bridgewall-no-such-namespace', { code: 'ENOENT', operation: 'netns.open' }],
    ['/proc/self/ns/mnt', { code: 'EINVAL' }],
    ['/dev/null', { code: 'EINVAL' }],
    ['/run', { code: 'EINVAL' }],
  ];
  for (const [netns, expected] of expectations) {
    const error = await t.throwsAsync(Firewall.open({ netns }));
    t.true(error instanceof NetfilterError, netns);
    t.like(error, expected, netns);
  }
  // A process in a user namespace of its own may read the path but not enter the namespace.
  const ns = await createNetns(t, 'perm');
  const script = `require(${JSON.stringify(path.resolve('dist/src/firewall.js'))}).Firewall.open({ netns: ${JSON.stringify(ns.path)} })` +
    '.then(() => console.log("opened"), (e) => console.log(e.code))';
  const { stdout } = await execFileAsync('unshare', ['--user', process.execPath, '-e', script], { timeout: 20_000 });
  t.is(stdout.trim(), 'EPERM');
});

kernelTest("a path naming the caller's own namespace is refused before anything is written; no path is the way to ask for it", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-netns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const link = path.join(dir, 'own');
  symlinkSync('/proc/self/ns/net', link);
  // This process is in the machine's own namespace.
  for (const netns of ['/proc/self/ns/net', '/proc/thread-self/ns/net', `/proc/${process.pid}/ns/net`, link]) {
    t.like(await t.throwsAsync(Firewall.open({ netns })), { name: 'ValidationError', field: 'netns' }, netns);
  }
  // PID 1's, where this process may open it (in a sandbox it may not: EACCES); refused either way.
  const init = await t.throwsAsync(Firewall.open({ netns: '/proc/1/ns/net' }));
  if (init instanceof NetfilterError) t.is(init.code, 'EACCES');
  else t.like(init, { name: 'ValidationError', field: 'netns' });
  for (const netns of ['run/netns/x', './x', 'x', '']) {
    t.like(await t.throwsAsync(Firewall.open({ netns })), { name: 'ValidationError', field: 'netns' }, netns);
  }
  // Inside a namespace: its own path is refused too, and no path works on it.
  const ns = await createNetns(t, 'own');
  const firewall = JSON.stringify(path.resolve('dist/src/firewall.js'));
  const script = `const { Firewall } = require(${firewall});
    (async () => {
      const refused = await Firewall.open({ netns: '/proc/self/ns/net' }).then(() => 'opened', (e) => e.field);
      const own = await Firewall.open();
      const result = await own.apply(${JSON.stringify(spec('nftables', [8000]))});
      await own.close();
      console.log(refused, result.commits);
    })();`;
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { timeout: 20_000 });
  t.is(stdout.trim(), 'netns 1');
  t.deepEqual(await publishedHostPorts(ns, 'nftables'), [8000]);
});

/** Values no argument takes, and what each method must say about them. */
const EMPTY_ARRAY: unknown[] = [];
const EMPTY_OBJECT = {};
const ODD_OBJECT = { toString: 1 };
const FUNCTION = () => 1;
const HOSTILE: readonly unknown[] = [null, undefined, 0, 42, '__proto__', 'constructor', EMPTY_ARRAY, ['x'], EMPTY_OBJECT, ODD_OBJECT, FUNCTION];

kernelTest('every public method rejects a wrong argument with a ValidationError naming it, never throwing', async (t) => {
  const ns = await createNetns(t, 'args');
  const firewall = await open(t, ns);
  await firewall.apply(spec('nftables', [8000]));
  const before = firewall.currentSpec();
  const kernel = await ns.run('nft', 'list', 'ruleset');
  type Row = { method: string; field: string | RegExp; call: (value: never) => Promise<unknown>; accepts?: readonly unknown[] };
  const rows: Row[] = [
    { method: 'open', field: 'options', call: (v) => Firewall.open(v), accepts: [undefined, EMPTY_OBJECT, ODD_OBJECT] },
    { method: 'open', field: 'netns', call: (v) => Firewall.open({ netns: v }), accepts: [undefined] },
    // A spec's own keys are named without a prefix, as in every spec error (`networks[0].bridge`).
    { method: 'apply', field: /^(spec|toString)$/, call: (v) => firewall.apply(v), accepts: [EMPTY_OBJECT] },
    { method: 'dryRun', field: /^(spec|toString)$/, call: (v) => firewall.dryRun(v), accepts: [EMPTY_OBJECT] },
    { method: 'show', field: 'backend', call: (v) => firewall.show(v), accepts: [undefined] },
    { method: 'flush', field: 'backend', call: (v) => firewall.flush(v), accepts: [undefined] },
    { method: 'addNetwork', field: 'network', call: (v) => firewall.addNetwork(v) },
    // "__proto__" and "constructor" are valid bridge names of no network here: removing one changes nothing.
    { method: 'removeNetwork', field: 'bridge', call: (v) => firewall.removeNetwork(v), accepts: ['__proto__', 'constructor'] },
    { method: 'addEndpoint', field: 'bridge', call: (v) => firewall.addEndpoint(v, { ipv4: '198.18.8.9' }) },
    { method: 'addEndpoint', field: 'endpoint', call: (v) => firewall.addEndpoint('br-life', v) },
    { method: 'removeEndpoint', field: 'bridge', call: (v) => firewall.removeEndpoint(v, ENDPOINT) },
    { method: 'removeEndpoint', field: 'endpoint', call: (v) => firewall.removeEndpoint('br-life', v) },
    { method: 'addPorts', field: 'bridge', call: (v) => firewall.addPorts(v, ENDPOINT, port(9000)) },
    { method: 'addPorts', field: 'endpoint', call: (v) => firewall.addPorts('br-life', v, port(9000)) },
    { method: 'addPorts', field: 'ports', call: (v) => firewall.addPorts('br-life', ENDPOINT, v), accepts: [EMPTY_ARRAY] },
    { method: 'addPorts', field: 'ports[0]', call: (v) => firewall.addPorts('br-life', ENDPOINT, [v]) },
    { method: 'removePorts', field: 'bridge', call: (v) => firewall.removePorts(v, ENDPOINT, port(8000)) },
    { method: 'removePorts', field: 'endpoint', call: (v) => firewall.removePorts('br-life', v, port(8000)) },
    { method: 'removePorts', field: 'ports', call: (v) => firewall.removePorts('br-life', ENDPOINT, v), accepts: [EMPTY_ARRAY] },
    { method: 'removePorts', field: 'ports[0]', call: (v) => firewall.removePorts('br-life', ENDPOINT, [v]) },
    { method: 'setIngress', field: 'ingress', call: (v) => firewall.setIngress(v), accepts: [undefined, EMPTY_OBJECT, ODD_OBJECT] },
    { method: 'addIngressPorts', field: 'ports', call: (v) => firewall.addIngressPorts(v), accepts: [EMPTY_ARRAY] },
    { method: 'addIngressPorts', field: 'ports[0]', call: (v) => firewall.addIngressPorts([v]), accepts: [EMPTY_OBJECT, ODD_OBJECT] },
    { method: 'removeIngressPorts', field: 'ports', call: (v) => firewall.removeIngressPorts(v), accepts: [EMPTY_ARRAY] },
    { method: 'removeIngressPorts', field: 'ports[0]', call: (v) => firewall.removeIngressPorts([v]), accepts: [EMPTY_OBJECT, ODD_OBJECT] },
  ];
  for (const { method, field, call, accepts = [] } of rows) {
    for (const value of HOSTILE) {
      if (accepts.includes(value)) continue;
      const label = `${method} with ${typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? 'undefined'} as ${String(field)}`;
      let promise: Promise<unknown>;
      try {
        promise = call(value as never);
      } catch (error) {
        t.fail(`${label} threw synchronously: ${String(error)}`);
        continue;
      }
      const error = await promise.then(() => undefined, (reason: unknown) => reason);
      t.true(error instanceof ValidationError, `${label}: ${String(error)}`);
      t.like(error, { code: 'EVALIDATION' }, label);
      const named = (error as ValidationError | undefined)?.field ?? '';
      t.true(typeof field === 'string' ? named === field || named.startsWith(`${field}.`) || named.startsWith(`${field}[`) : field.test(named), `${label}: field ${named}`);
    }
  }
  t.like(await firewall.removeNetwork('__proto__'), { changes: 0 });
  t.false(Firewall.supports('__proto__' as never));
  t.deepEqual(firewall.currentSpec(), before);
  t.is(await ns.run('nft', 'list', 'ruleset'), kernel, 'nothing was written');
});

test('a Firewall that never applied anything closes at once, twice', async (t) => {
  const firewall = await Firewall.open();
  await firewall.close();
  await firewall.close();
  t.true(isClosedError(await t.throwsAsync(firewall.addPorts('br', ENDPOINT, port(1)))));
});

kernelTest('a network or endpoint refused for what is inside it is named from the argument, not from the spec held', async (t) => {
  const ns = await createNetns(t, 'terms');
  const firewall = await open(t, ns);
  await firewall.apply({ ...spec('nftables'), networks: [{ bridge: 'br-a', ipv4: { subnet: '198.18.9.0/24' } }, spec('nftables').networks![0]!] });
  const overlapping = await t.throwsAsync(firewall.addNetwork({ bridge: 'br-new', ipv4: { subnet: '198.18.8.128/25' } }));
  t.like(overlapping, { name: 'ValidationError', field: 'network.ipv4.subnet' });
  t.notRegex(overlapping!.message, /networks\[2\]/);
  const outside = await t.throwsAsync(firewall.addEndpoint('br-life', { ipv4: '198.18.9.2' }));
  t.like(outside, { name: 'ValidationError', field: 'endpoint.ipv4' });
  t.regex(outside!.message, /^endpoint\.ipv4: .*endpoint\.ipv4/);
  // A failure elsewhere in the spec is named where it is.
  t.like(await t.throwsAsync(firewall.addPorts('br-life', ENDPOINT, [{ proto: 'tcp', hostPort: 'x', containerPort: 80 }] as never)),
    { field: 'ports[0].hostPort' });
});
