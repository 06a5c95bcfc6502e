/**
 * Never lose or corrupt the ruleset: one suite, registered once per backend
 * (like test/bed/packet-suite.ts), each test in its own throwaway namespaces
 * and bounded in repetitions (the crash test also in time).
 *
 * - a failing call leaves the kernel exactly as before (full dumps compared);
 * - processes editing one namespace at once end with the union of their work,
 *   and an `iptables`/`nft` command run meanwhile neither fails nor is lost;
 * - SIGKILL in the middle of large commits leaves each atomic unit (the
 *   ruleset for nftables, a table for iptables) old or new, never a mix
 *   within it, and a new process adopts and repairs what it finds;
 * - two writers on one namespace: a container port both publish keeps what
 *   the remaining one needs, a host port one holds is refused to the other
 *   (EADDRINUSE) and never deleted by anyone but its holder, also while they
 *   race; the kernel ends with exactly the union of their successful calls;
 * - one Firewall's calls take effect in call order; close() settles every
 *   call (those already under way complete, in the kernel too; the rest, and
 *   every later call, reject), and a namespace deleted or replaced under an
 *   open Firewall fails every call with ENOENT and stops its watcher;
 * - of hostile specs, the valid ones are applied as planned (a dry run
 *   against the kernel finds nothing left to commit), the ones with an
 *   invalid field are rejected with a ValidationError naming that field, and
 *   a rejection commits nothing.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { NetfilterError, ValidationError } from '../../src/errors.js';
import type { DryRun } from '../../src/backends/backend.js';
import { Firewall } from '../../src/firewall.js';
import type { NetworkSpecInput, PortSpecInput, SpecInput } from '../../src/input/types.js';
import { FirewallWatcher } from '../../src/watch.js';
import { createNetns, kernelTest, type TestNetns } from '../helpers/netns.js';
import type { ReliabilityBackend } from './backend.js';
import { hostileSpec, random } from './hostile.js';
import type { Job, WorkerEvent } from './worker.js';

const WORKER = join(__dirname, 'worker.js');
const execFileAsync = promisify(execFile);

/** A worker process whose JSON-line events can be awaited. */
interface Worker {
  child: ChildProcessWithoutNullStreams;
  next(): Promise<WorkerEvent>;
  exited: Promise<number | null>;
}

function startWorker(t: ExecutionContext, job: Job): Worker {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { stdio: 'pipe' });
  t.teardown(() => void child.kill('SIGKILL'));
  const events: WorkerEvent[] = [];
  const waiting: ((event: WorkerEvent) => void)[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, newline)) as WorkerEvent;
      buffered = buffered.slice(newline + 1);
      const resolve = waiting.shift();
      if (resolve) resolve(event);
      else events.push(event);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    if (code !== 0 && code !== null) t.log(`worker failed: ${stderr}`);
    resolve(code);
  }));
  return {
    child,
    exited,
    next: () => {
      const event = events.shift();
      if (event) return Promise.resolve(event);
      return Promise.race([
        new Promise<WorkerEvent>((resolve) => waiting.push(resolve)),
        exited.then((code): never => { throw new Error(`worker exited (${code}) before its next event: ${stderr}`); }),
      ]);
    },
  };
}

/** A Firewall on the namespace, closed when the test ends. */
export async function openFirewall(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

function ports(first: number, count: number) {
  return [{ proto: 'tcp' as const, hostPort: `${first}-${first + count - 1}`, containerPort: `${first}-${first + count - 1}` }];
}

/** Every promise settles within `ms`: a call that never settles fails the test instead of hanging it. */
function settled<T>(promises: Promise<T>[], ms = 60_000): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a call did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.allSettled(promises), timeout]).finally(() => clearTimeout(timer));
}

/** How a call on a closed Firewall is refused. */
const isClosedError = (reason: unknown) => reason instanceof ValidationError && reason.field === 'firewall';

/** The host ports the Firewall's spec holds on the first endpoint of its first network, in order. */
function heldHostPorts(firewall: Firewall): number[] {
  return (firewall.currentSpec()?.networks?.[0]?.endpoints?.[0]?.ports ?? []).map((port) => Number((port as PortSpecInput).hostPort)).sort((a, b) => a - b);
}

/** Lines of a dump in a canonical order: for comparing sets of rules whose order interleaving may change. */
function sortedLines(dump: string): string[] {
  return dump.split('\n').filter((line) => line.length > 0).sort();
}

export function registerReliabilitySuite(backend: ReliabilityBackend): void {
  const name = backend.name;
  const base = (networks: NetworkSpecInput[] = []): SpecInput => ({ backend: name, ipv6: true, userlandProxy: false, networks });
  const dualStack = (bridge: string, octet: number): NetworkSpecInput => ({
    bridge, ipv4: { subnet: `198.18.${octet}.0/24` }, ipv6: { subnet: `2001:db8:${octet}::/64` },
  });

  kernelTest(`${name}: a call failing at the last of 10,000 bindings or in IPv6 changes nothing`, async (t) => {
    const ns = await createNetns(t, 'aon');
    const firewall = await openFirewall(t, ns);
    const endpoint = { ipv4: '198.18.1.2', ipv6: '2001:db8:1::2' };
    await firewall.apply(base([{ ...dualStack('br-aon', 1), endpoints: [{ ...endpoint, ports: ports(8000, 10) }] }]));
    const before = await backend.dump(ns);

    // 9,999 bindings as one range, then the 10,000th out of range.
    const tooMany = [...ports(20_000, 9_999), { proto: 'tcp' as const, hostPort: 70_000, containerPort: 80 }];
    const last = await t.throwsAsync(firewall.addPorts('br-aon', endpoint, tooMany), { instanceOf: ValidationError });
    t.is(last.field, 'ports[1].hostPort', 'named in the caller\'s own argument');
    // IPv4 is fine; the IPv6 half of the same network is of the wrong family.
    const wrongFamily = await t.throwsAsync(firewall.addNetwork({ bridge: 'br-v6', ipv4: { subnet: '198.18.2.0/24' }, ipv6: { subnet: '198.18.3.0/24' } }), { instanceOf: ValidationError });
    t.regex(wrongFamily.field, /ipv6\.subnet$/);
    t.is(await backend.dump(ns), before);
  });

  kernelTest(`${name}: concurrent processes end with the union of their edits; a system tool meanwhile is not lost`, async (t) => {
    const WORKERS = 3;
    const OPERATIONS = 120;
    const FOREIGN = 60;
    const ns = await createNetns(t, 'conc');
    const firewall = await openFirewall(t, ns);
    await firewall.apply(base());
    const jobs = Array.from({ length: WORKERS }, (_, i): Extract<Job, { kind: 'edits' }> => ({
      kind: 'edits', netns: ns.path, base: base(), network: dualStack(`br-w${i}`, 10 + i), endpoint: `198.18.${10 + i}.2`,
      firstPort: 10_000 + 1_000 * i, operations: OPERATIONS,
    }));
    const workers = jobs.map((job) => startWorker(t, job));
    for (const worker of workers) t.is((await worker.next()).event, 'ready');
    const started = Date.now();
    for (const worker of workers) worker.child.stdin.write('go\n');
    const foreign = (async () => {
      for (let n = 0; n < FOREIGN; n++) await backend.foreignWrite(ns, n);
    })();
    // Awaited together, so that a failing worker does not leave the writer's failure unhandled once the namespace is gone.
    const [results] = await Promise.all([Promise.all(workers.map((worker) => worker.next())), foreign]);
    t.log(`${WORKERS} processes × ${OPERATIONS + Math.floor(OPERATIONS / 3) + 2} calls, ${FOREIGN} system-tool writes: ${Date.now() - started} ms`);

    // The union: what one declarative apply of every worker's final state gives.
    const union = base(jobs.map((job, i) => {
      const done = results[i]!;
      if (done.event !== 'done') throw new Error(`worker ${i} sent ${done.event}`);
      return { ...job.network, endpoints: [{ ipv4: job.endpoint, ports: done.ports }] };
    }));
    const reference = await createNetns(t, 'concref');
    await (await openFirewall(t, reference)).apply(union);
    for (let n = 0; n < FOREIGN; n++) await backend.foreignWrite(reference, n);
    t.deepEqual(sortedLines(await backend.dump(ns)), sortedLines(await backend.dump(reference)));
    const dump = await backend.dump(ns);
    for (let n = 0; n < FOREIGN; n++) t.true(dump.includes(backend.foreignRule(n)), backend.foreignRule(n));
  });

  /** A network with two IPv4 endpoints, .2 and .3, and no ports. */
  const twoEndpoints = (bridge: string, octet: number): NetworkSpecInput => ({
    bridge, ipv4: { subnet: `198.18.${octet}.0/24` }, endpoints: [{ ipv4: `198.18.${octet}.2` }, { ipv4: `198.18.${octet}.3` }],
  });
  const tcp = (hostPort: number, hostIp?: string): PortSpecInput => ({ proto: 'tcp', hostPort, containerPort: 80, ...(hostIp ? { hostIp } : {}) });
  /** Two Firewalls on one namespace, each having applied `network` (without ports) as its own spec. */
  const twoWriters = async (t: ExecutionContext, ns: TestNetns, network: NetworkSpecInput): Promise<[Firewall, Firewall]> => {
    const writers = [await openFirewall(t, ns), await openFirewall(t, ns)] as [Firewall, Firewall];
    for (const writer of writers) await writer.apply(base([network]));
    return writers;
  };
  /** What the kernel must hold: one declarative apply of `network` with these ports on its endpoints, in a namespace of its own. */
  const union = async (t: ExecutionContext, network: NetworkSpecInput, ports: PortSpecInput[][]): Promise<string[]> => {
    const reference = await createNetns(t, 'union');
    await (await openFirewall(t, reference)).apply(base([{ ...network, endpoints: network.endpoints!.map((endpoint, i) => ({ ...endpoint, ports: ports[i]! })) }]));
    return sortedLines(await backend.dump(reference));
  };
  const kernel = async (ns: TestNetns) => sortedLines(await backend.dump(ns));

  kernelTest(`${name}: two writers publishing one container port: a removal leaves the other's mapping whole`, async (t) => {
    const ns = await createNetns(t, 'share');
    const network = twoEndpoints('br-share', 30);
    const container = { ipv4: '198.18.30.2' };
    const [a, b] = await twoWriters(t, ns, network);
    await a.addPorts('br-share', container, [tcp(8080)]);
    await b.addPorts('br-share', container, [tcp(8081)]);
    t.deepEqual(await kernel(ns), await union(t, network, [[tcp(8080), tcp(8081)], []]));
    // The forward accept (and hairpin masquerade) of 198.18.30.2:80 is A's and B's: it stays while B publishes.
    t.true((await a.removePorts('br-share', container, [tcp(8080)])).changes > 0);
    t.deepEqual(await kernel(ns), await union(t, network, [[tcp(8081)], []]));
    await b.removePorts('br-share', container, [tcp(8081)]);
    t.deepEqual(await kernel(ns), await union(t, network, [[], []]));
  });

  kernelTest(`${name}: a host port another writer holds is refused (EADDRINUSE), and only its holder deletes it`, async (t) => {
    const ns = await createNetns(t, 'contest');
    const network = twoEndpoints('br-contest', 31);
    const [first, second] = [{ ipv4: '198.18.31.2' }, { ipv4: '198.18.31.3' }];
    const [a, b] = await twoWriters(t, ns, network);
    await a.addPorts('br-contest', first, [tcp(8080), tcp(9090, '203.0.113.7'), tcp(9191), tcp(6060, '127.0.0.1')]);
    const held = await backend.dump(ns);
    const contested: [PortSpecInput, string][] = [
      [tcp(8080), 'tcp port 8080 on every address'],
      // Every address overlaps each address, both ways.
      [tcp(9090), 'tcp port 9090 on 203.0.113.7'],
      [tcp(9191, '203.0.113.7'), 'tcp port 9191 on every address'],
    ];
    for (const [port, where] of contested) {
      const error = await t.throwsAsync(b.addPorts('br-contest', second, [port]), { instanceOf: NetfilterError });
      t.is(error.code, 'EADDRINUSE');
      t.true(error.message.includes(`${where} (ipv4) is held by 198.18.31.2:80`), error.message);
      t.is(await backend.dump(ns), held);
    }
    t.deepEqual(b.currentSpec()!.networks![0]!.endpoints![1]!.ports, []);
    // The identical mapping, published by another writer too (say a restarted process of its holder), is no change: they share it.
    t.is((await b.addPorts('br-contest', first, [tcp(8080)])).changes, 0);
    t.is(await backend.dump(ns), held);

    // A declarative apply makes the namespace its spec, taking the ports; the old holder's removal then leaves them alone,
    // with what belongs to them (a loopback-bound port's drop of other interfaces).
    const takenPorts = [tcp(8080), tcp(6060, '127.0.0.1')];
    const taken = [{ ...network, endpoints: [network.endpoints![0]!, { ...network.endpoints![1]!, ports: takenPorts }] }];
    await b.apply(base(taken));
    // An unrelated call of the old holder puts back its mappings the apply removed, but not the one now held by another.
    await a.addPorts('br-contest', first, [tcp(7070)]);
    t.deepEqual(await kernel(ns), await union(t, network, [[tcp(9090, '203.0.113.7'), tcp(9191), tcp(7070)], takenPorts]));
    await a.removePorts('br-contest', first, [tcp(8080), tcp(9090, '203.0.113.7'), tcp(9191), tcp(7070), tcp(6060, '127.0.0.1')]);
    t.deepEqual(await kernel(ns), await union(t, network, [[], takenPorts]));
    await b.removePorts('br-contest', second, takenPorts);
    t.deepEqual(await kernel(ns), await union(t, network, [[], []]));
  });

  kernelTest(`${name}: one writer removing while another publishes on the same container port and contests its host ports`, async (t) => {
    const ROUNDS = 30;
    const ns = await createNetns(t, 'race');
    const network = twoEndpoints('br-race', 32);
    const [first, second] = [{ ipv4: '198.18.32.2' }, { ipv4: '198.18.32.3' }];
    const [a, b] = await twoWriters(t, ns, network);
    const won: PortSpecInput[][] = [[], []];
    /** Publishes a host port the other writer wants too: either takes it or is refused with EADDRINUSE. */
    const contest = async (writer: Firewall, endpoint: typeof first, port: PortSpecInput, side: number) => {
      try {
        await writer.addPorts('br-race', endpoint, [port]);
        won[side]!.push(port);
      } catch (error) {
        if (!(error instanceof NetfilterError && error.code === 'EADDRINUSE')) throw error;
      }
    };
    const kept: PortSpecInput[] = [];
    const started = Date.now();
    await Promise.all([
      (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          await a.addPorts('br-race', first, [tcp(10_000 + i)]);
          await a.removePorts('br-race', first, [tcp(10_000 + i)]);
        }
      })(),
      (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          await b.addPorts('br-race', first, [tcp(20_000 + i)]);
          if (i % 2 === 0) kept.push(tcp(20_000 + i));
          else await b.removePorts('br-race', first, [tcp(20_000 + i)]);
        }
      })(),
      (async () => {
        // Both at once, issued in turns, so that either may come first.
        for (let i = 0; i < ROUNDS; i++) {
          const calls = [() => contest(a, first, tcp(30_000 + i), 0), () => contest(b, second, tcp(30_000 + i), 1)];
          await Promise.all((i % 2 === 0 ? calls : calls.reverse()).map((call) => call()));
        }
      })(),
    ]);
    t.log(`2 writers × ${ROUNDS} rounds of 4 calls: ${Date.now() - started} ms; contested ports won: ${won[0]!.length} and ${won[1]!.length}`);
    // Each contested port went to exactly one writer.
    for (let i = 0; i < ROUNDS; i++) t.is(won.flat().filter((port) => port.hostPort === 30_000 + i).length, 1, `port ${30_000 + i}`);
    t.deepEqual(await kernel(ns), await union(t, network, [[...won[0]!, ...kept], won[1]!]));
  });

  /** `network` (two endpoints) with these host ports (to container port 80) on its first endpoint. */
  const publishing = (network: NetworkSpecInput, hostPorts: number[]): SpecInput =>
    base([{ ...network, endpoints: [{ ...network.endpoints![0]!, ports: hostPorts.map((port) => tcp(port)) }, network.endpoints![1]!] }]);
  /** The Firewall's spec and the kernel both hold `hostPorts` on the first endpoint, and nothing else of it. */
  const holds = async (t: ExecutionContext, ns: TestNetns, firewall: Firewall, network: NetworkSpecInput, hostPorts: number[]) => {
    t.deepEqual(heldHostPorts(firewall), hostPorts);
    t.deepEqual(await kernel(ns), await union(t, network, [hostPorts.map((port) => tcp(port)), []]));
  };

  kernelTest(`${name}: calls issued together take effect in call order, in the kernel and in currentSpec()`, async (t) => {
    const ns = await createNetns(t, 'order');
    const network = twoEndpoints('br-order', 33);
    const container = { ipv4: '198.18.33.2' };
    const firewall = await openFirewall(t, ns);
    await firewall.apply(publishing(network, []));
    // apply then addPorts: the spec, then 9000 on top.
    await Promise.all([firewall.apply(publishing(network, [8000, 8001])), firewall.addPorts('br-order', container, [tcp(9000)])]);
    await holds(t, ns, firewall, network, [8000, 8001, 9000]);
    // addPorts then apply: the spec alone (apply is declarative).
    await Promise.all([firewall.addPorts('br-order', container, [tcp(9001)]), firewall.apply(publishing(network, [8000]))]);
    await holds(t, ns, firewall, network, [8000]);
    // flush, then an edit: nothing applied any more when the edit takes its turn.
    const [, edit] = await Promise.allSettled([firewall.flush(name), firewall.addPorts('br-order', container, [tcp(9002)])]);
    t.like((edit as PromiseRejectedResult).reason, { name: 'ValidationError', field: 'spec' });
    t.is(firewall.currentSpec(), undefined);
    // What a flush leaves (iptables: the tables it opened, empty) in a namespace of its own.
    const flushed = await createNetns(t, 'flushed');
    const reference = await openFirewall(t, flushed);
    await reference.apply(publishing(network, [8000]));
    await reference.flush(name);
    t.is(await backend.dump(ns), await backend.dump(flushed));
    // apply, removePorts, reapply, addPorts, reapply: each on what the one before left.
    const calls = await Promise.all([
      firewall.apply(publishing(network, [7000, 7001])), firewall.removePorts('br-order', container, [tcp(7000)]),
      firewall.reapply(), firewall.addPorts('br-order', container, [tcp(7002)]), firewall.reapply(),
    ]);
    t.like(calls[4], { changes: 0 }, 'the last reapply finds the kernel as the calls before it left it');
    await holds(t, ns, firewall, network, [7001, 7002]);
  });

  kernelTest(`${name}: close() before queued calls start rejects each of them and every later call, and writes nothing`, async (t) => {
    const ns = await createNetns(t, 'closed');
    const network = twoEndpoints('br-closed', 34);
    const container = { ipv4: '198.18.34.2' };
    const firewall = await openFirewall(t, ns);
    await firewall.apply(publishing(network, [8000]));
    const before = await backend.dump(ns);
    // Issued in one tick with close(): none has started when it comes.
    const queued = [
      firewall.addPorts('br-closed', container, [tcp(9000)]), firewall.removePorts('br-closed', container, [tcp(8000)]),
      firewall.reapply(), firewall.addNetwork({ bridge: 'br-other', ipv4: { subnet: '198.18.37.0/24' } }), firewall.apply(publishing(network, [])),
    ];
    const closing = firewall.close();
    const results = await settled<unknown>(queued);
    t.true(results.every((result) => result.status === 'rejected' && isClosedError(result.reason)), JSON.stringify(results));
    await closing;
    t.is(await backend.dump(ns), before, 'nothing queued was written');
    for (const call of [
      () => firewall.addPorts('br-closed', container, [tcp(9002)]), () => firewall.removePorts('br-closed', container, [tcp(8000)]),
      () => firewall.apply(publishing(network, [])), () => firewall.reapply(), () => firewall.show(name), () => firewall.flush(name),
      () => firewall.addNetwork({ bridge: 'br-other', ipv4: { subnet: '198.18.37.0/24' } }), () => firewall.dryRun(publishing(network, [])),
    ]) {
      t.true(isClosedError(await t.throwsAsync(call())), String(call));
    }
    t.deepEqual(heldHostPorts(firewall), [8000]);
    await firewall.close();
  });

  kernelTest(`${name}: close() during a burst of 200 port calls settles each: the kernel holds exactly those that resolved`, async (t) => {
    const CALLS = 200;
    const HOST_PORTS = 60;
    /** The call whose result close() waits for: the calls after it are then queued or under way. */
    const CLOSE_AFTER = 40;
    const ns = await createNetns(t, 'burst');
    const network = twoEndpoints('br-burst', 35);
    const container = { ipv4: '198.18.35.2' };
    const firewall = await openFirewall(t, ns);
    const initial = Array.from({ length: HOST_PORTS / 2 }, (_, i) => 10_000 + i);
    await firewall.apply(publishing(network, initial));
    // Runs of 3 additions and 2 removals over 60 host ports, half of them published: some calls change the kernel,
    // some find nothing to do, and which ports end published depends on the order the calls took effect in.
    const calls = Array.from({ length: CALLS }, (_, i) => ({ removes: i % 5 >= 3, hostPort: 10_000 + ((i * 7) % HOST_PORTS) }));
    const started = Date.now();
    const promises = calls.map(({ removes, hostPort }) => (removes
      ? firewall.removePorts('br-burst', container, [tcp(hostPort)])
      : firewall.addPorts('br-burst', container, [tcp(hostPort)])));
    // Handled from the start: a rejection before close() fails the test through its result, never unhandled.
    const settling = settled<unknown>(promises);
    await promises[CLOSE_AFTER - 1];
    // One macrotask later the calls after it have taken their turn: close() finds a group of them under way.
    await new Promise((resolve) => setImmediate(resolve));
    await firewall.close();
    const results = await settling;
    const resolved = results.findIndex((result) => result.status === 'rejected');
    t.log(`${CALLS} port calls, closed after ${resolved} had resolved: ${Date.now() - started} ms`);
    t.true(resolved > CLOSE_AFTER, `the calls under way when close() came completed: ${resolved} resolved`);
    t.true(resolved < CALLS, 'close() came while calls were queued');
    const rejected = results.slice(resolved);
    t.true(rejected.every((result) => result.status === 'rejected' && isClosedError(result.reason)), JSON.stringify(rejected.find((result) => !isClosedError((result as PromiseRejectedResult).reason))));
    // The resolved calls, taken in call order, give the ports the kernel and the spec hold.
    const published = new Set(initial);
    for (const { removes, hostPort } of calls.slice(0, resolved)) {
      if (removes) published.delete(hostPort);
      else published.add(hostPort);
    }
    await holds(t, ns, firewall, network, [...published].sort((a, b) => a - b));
  });

  kernelTest(`${name}: a namespace deleted (or replaced) under an open Firewall fails every call with ENOENT, and a watcher stops`, async (t) => {
    const ns = await createNetns(t, 'deleted');
    const network = twoEndpoints('br-deleted', 36);
    const container = { ipv4: '198.18.36.2' };
    const firewall = await openFirewall(t, ns);
    await firewall.apply(publishing(network, [8000]));
    const watcher = new FirewallWatcher(firewall, { intervalMs: 10 });
    t.teardown(() => watcher.close());
    const errors: Error[] = [];
    watcher.on('error', (error) => errors.push(error));
    watcher.on('repaired', () => t.fail('the watcher repaired a namespace that is gone'));
    await execFileAsync('ip', ['netns', 'del', ns.name], { timeout: 10_000 });
    for (const call of [
      () => firewall.show(name), () => firewall.addPorts('br-deleted', container, [tcp(9000)]),
      () => firewall.removePorts('br-deleted', container, [tcp(8000)]), () => firewall.reapply(),
      () => firewall.apply(publishing(network, [])), () => firewall.dryRun(publishing(network, [])), () => firewall.flush(name),
    ]) {
      t.like(await t.throwsAsync(call()), { name: 'NetfilterError', code: 'ENOENT', operation: 'netns.check' }, String(call));
    }
    t.deepEqual(heldHostPorts(firewall), [8000], 'a failed call leaves the spec held as it was');
    // Its first check after the deletion fails (bounded wait: a loaded machine delays timers), then 20 intervals pass.
    for (let waited = 0; errors.length === 0 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.is(errors.length, 1, `one error, then the watcher stopped: ${errors.map(String).join('; ')}`);
    // netns.open when the deletion came during a check, between its namespace check and its sysctl writes.
    t.like(errors[0], { code: 'ENOENT' });
    t.regex((errors[0] as NetfilterError).operation, /^netns\.(check|open)$/);

    // The same path naming a new namespace is not the one this Firewall opened either.
    await execFileAsync('ip', ['netns', 'add', ns.name], { timeout: 10_000 });
    const error = await t.throwsAsync(firewall.addPorts('br-deleted', container, [tcp(9000)]));
    t.like(error, { code: 'ENOENT', operation: 'netns.check' });
    t.regex(error!.message, /now names another namespace/);
    t.is(await backend.dump(ns), await backend.dump(await createNetns(t, 'fresh')), 'nothing was written to the new namespace');
  });

  kernelTest(`${name}: SIGKILL during large commits leaves each atomic unit old or new, and a new process adopts it`, async (t) => {
    // Kills until either bound is reached; an apply of the iptables backend takes seconds on a loaded machine.
    const MAX_KILLS = 20;
    const KILL_BUDGET_MS = 30_000;
    const MIN_KILLS = 3;
    const ns = await createNetns(t, 'crash');
    const firewall = await openFirewall(t, ns);
    // Reading every unit loads the (empty) legacy tables, which a flush never opens, so that dumps compare their content.
    await backend.atomicUnits(ns);
    const empty = await backend.dump(ns);
    const endpoint = { ipv4: '198.18.20.2', ipv6: '2001:db8:20::2' };
    const specs = [0, 1].map((i) => base([{ ...dualStack('br-crash', 20), endpoints: [{ ...endpoint, ports: ports(20_000 + 5_000 * i, 1_000) }] }]));
    const states: string[][] = [];
    for (const spec of specs) {
      await firewall.apply(spec);
      states.push(await backend.atomicUnits(ns));
    }
    /** The spec whose state every unit is in, or -1 for a mix. */
    const specInPlace = (units: string[]) => states.findIndex((state) => state.every((unit, i) => unit === units[i]));

    const seen = new Set<string>();
    const next = random(0xc0ffee);
    const killing = Date.now();
    let deadline = killing + KILL_BUDGET_MS;
    let inPlace = 1;
    /** A new worker's first apply, from ready to applied (slower than ours: its code is not warm yet); the first round measures it. */
    let firstApplyMs: number | undefined;
    let kills = 0;
    for (; kills < MAX_KILLS && Date.now() < deadline; kills++) {
      // The worker starts with the spec not in place, so that its first apply is a real change, the one the kill interrupts.
      const order = inPlace === 0 ? [specs[1]!, specs[0]!] : specs;
      const worker = startWorker(t, { kind: 'alternate', netns: ns.path, specs: order });
      t.is((await worker.next()).event, 'ready');
      if (firstApplyMs === undefined) {
        const started = Date.now();
        t.is((await worker.next()).event, 'applied');
        firstApplyMs = Date.now() - started;
        t.log(`a new process's apply of 1,000 bindings (dual stack): ${firstApplyMs} ms`);
        // A kill round costs a worker's start and up to 1.2 applies: on a loaded machine the budget stretches to fit the minimum.
        deadline = Math.max(deadline, Date.now() + 3 * MIN_KILLS * firstApplyMs);
      } else {
        const delay = next() * firstApplyMs * 1.2;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      worker.child.kill('SIGKILL');
      await worker.exited;
      const units = await backend.atomicUnits(ns);
      const which = units.map((unit, i) => states.findIndex((state) => state[i] === unit));
      t.false(which.includes(-1), `kill ${kills}: an atomic unit is neither old nor new: ${which.join(' ')}`);
      seen.add(which.join(''));
      inPlace = specInPlace(units);
    }
    t.log(`units (old/new) seen after ${kills} kills: ${[...seen].join(', ')}`);
    t.true(kills >= MIN_KILLS, `only ${kills} kills within ${Date.now() - killing} ms`);

    // A new process adopts what it finds: the same spec is a no-op, or repairs a mix of units.
    const adopter = await openFirewall(t, ns);
    const current = specInPlace(await backend.atomicUnits(ns));
    const outcome = await adopter.apply(specs[Math.max(current, 0)]!);
    if (current >= 0) t.is(outcome.changes, 0);
    t.deepEqual(await backend.atomicUnits(ns), states[Math.max(current, 0)]);
    t.true((await adopter.show(name)).text.includes('br-crash'));
    await adopter.removeNetwork('br-crash');
    t.false((await backend.dump(ns)).includes('br-crash'));
    await adopter.flush(name);
    t.is(await backend.dump(ns), empty);
  });

  kernelTest(`${name}: hostile specs are applied as planned or rejected with the invalid field named, never half-committed`, async (t) => {
    const SPECS = 40;
    const ns = await createNetns(t, 'hostile');
    const firewall = await openFirewall(t, ns);
    // A second Firewall has committed nothing, so its dry run compares the plan with the kernel, not with a remembered commit.
    const reader = await openFirewall(t, ns);
    const next = random(0xbadc0de);
    let applied = 0;
    // The ruleset as the last spec left it: a rejection must leave it so.
    let before = await backend.dump(ns);
    for (let i = 0; i < SPECS; i++) {
      const { spec, invalid } = hostileSpec(next, name);
      const what = `spec ${i} (${invalid ? `${invalid.mutation} at ${invalid.field}` : 'valid'}): ${JSON.stringify(spec)}`;
      try {
        await firewall.apply(spec);
      } catch (error) {
        if (!(error instanceof ValidationError)) {
          t.fail(`${what} failed with ${String(error)}${error instanceof NetfilterError ? ` [${error.code}]` : ''}`);
          before = await backend.dump(ns);
          continue;
        }
        t.is(error.field, invalid?.field ?? '(none: the spec is valid)', `${what} was rejected at ${error.field}: ${error.message}`);
        const after = await backend.dump(ns);
        t.is(after, before, `${what} was rejected but changed the ruleset`);
        before = after;
        continue;
      }
      t.is(invalid, undefined, `${what} was applied`);
      t.is(pendingChanges(await reader.dryRun(spec)), 0, `${what} is not in the kernel as planned`);
      before = await backend.dump(ns);
      applied++;
    }
    t.log(`${applied} of ${SPECS} hostile specs applied, the rest rejected`);
    t.true(applied >= SPECS / 4);
  });
}

/** The rules, chains, sets and elements a dry run would still add or delete, over every family it plans. */
export function pendingChanges(dryRun: DryRun): number {
  return Object.values(dryRun.counts).reduce((sum, tally) => sum + tally.added + tally.deleted, 0);
}
