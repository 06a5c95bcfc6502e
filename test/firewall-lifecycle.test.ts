/**
 * A Firewall's lifecycle outside the kernel's reliability: what open() checks
 * about the namespace it is given (and which paths it refuses), how every
 * public method refuses a wrong argument, and closing a Firewall that never
 * applied anything. Call order, close() with calls in flight and a namespace
 * deleted under an open Firewall are proven per backend by the reliability
 * suite (test/reliability/suite.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { NetfilterError, ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const execFileAsync = promisify(execFile);
const ENDPOINT = { ipv4: '198.18.8.2' };

/** The tests below need one backend: nftables. */
function spec(hostPorts: number[] = []): SpecInput {
  return {
    backend: 'nftables', userlandProxy: false,
    networks: [{
      bridge: 'br-life', ipv4: { subnet: '198.18.8.0/24' },
      endpoints: [{ ...ENDPOINT, ports: hostPorts.map((hostPort) => ({ proto: 'tcp', hostPort, containerPort: 80 })) }],
    }],
  };
}

const port = (hostPort: number) => [{ proto: 'tcp' as const, hostPort, containerPort: 80 }];

/** The host ports the nftables backend DNATs in the namespace, read with nft. */
async function publishedHostPorts(ns: TestNetns): Promise<number[]> {
  const text = await ns.run('nft', 'list', 'ruleset');
  return [...text.matchAll(/tcp \. (\d+)(?: counter packets \d+ bytes \d+)? : /g)].map((match) => Number(match[1])).sort((a, b) => a - b);
}

async function open(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

const isClosedError = (reason: unknown) => reason instanceof ValidationError && reason.field === 'firewall';

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
      const result = await own.apply(${JSON.stringify(spec([8000]))});
      await own.close();
      console.log(refused, result.commits);
    })();`;
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script], { timeout: 20_000 });
  t.is(stdout.trim(), 'netns 1');
  t.deepEqual(await publishedHostPorts(ns), [8000]);
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
  await firewall.apply(spec([8000]));
  const before = firewall.currentSpec();
  const kernel = await ns.run('nft', 'list', 'ruleset');
  type Row = { method: string; field: string | RegExp; call: (value: never) => Promise<unknown>; accepts?: readonly unknown[] };
  const rows: Row[] = [
    { method: 'open', field: 'options', call: (v) => Firewall.open(v), accepts: [undefined, EMPTY_OBJECT, ODD_OBJECT] },
    { method: 'open', field: 'netns', call: (v) => Firewall.open({ netns: v }), accepts: [undefined] },
    // A spec's own keys are named without a prefix, as in every spec error (`networks[0].bridge`).
    { method: 'apply', field: /^(spec|toString)$/, call: (v) => firewall.apply(v), accepts: [EMPTY_OBJECT] },
    { method: 'dryRun', field: /^(spec|toString)$/, call: (v) => firewall.dryRun(v), accepts: [EMPTY_OBJECT] },
    { method: 'counters', field: /^(spec|toString)$/, call: (v) => firewall.counters(v), accepts: [undefined, EMPTY_OBJECT] },
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
  await firewall.apply({ ...spec(), networks: [{ bridge: 'br-a', ipv4: { subnet: '198.18.9.0/24' } }, spec().networks![0]!] });
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
