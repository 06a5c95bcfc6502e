/**
 * Never lose or corrupt the ruleset: one suite, registered once per backend
 * (like test/bed/packet-suite.ts), each test in its own throwaway namespaces
 * and bounded in repetitions.
 *
 * - a failing call leaves the kernel exactly as before (full dumps compared);
 * - processes editing one namespace at once end with the union of their work,
 *   and an `iptables`/`nft` command run meanwhile neither fails nor is lost;
 * - SIGKILL in the middle of large commits leaves each atomic unit (the
 *   ruleset for nftables, a table for iptables) old or new, never a mix
 *   within it, and a new process adopts and repairs what it finds;
 * - hostile specs are applied or rejected with a ValidationError naming the
 *   field, and a rejection commits nothing.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { NetfilterError, ValidationError } from '../../src/errors.js';
import { Firewall } from '../../src/firewall.js';
import type { NetworkSpecInput, SpecInput } from '../../src/spec/types.js';
import { createNetns, kernelTest, type TestNetns } from '../helpers/netns.js';
import type { ReliabilityBackend } from './backend.js';
import { hostileSpec, random } from './hostile.js';
import type { Job, WorkerEvent } from './worker.js';

const WORKER = join(__dirname, 'worker.js');

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

async function openFirewall(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

function ports(first: number, count: number) {
  return [{ proto: 'tcp' as const, hostPort: `${first}-${first + count - 1}`, containerPort: `${first}-${first + count - 1}` }];
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
    t.regex(last.field, /endpoints\[0\]\.ports\[2\]\.hostPort$/);
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
    const results = await Promise.all(workers.map((worker) => worker.next()));
    await foreign;
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

  kernelTest(`${name}: SIGKILL during large commits leaves each atomic unit old or new, and a new process adopts it`, async (t) => {
    const KILLS = 20;
    const ns = await createNetns(t, 'crash');
    const firewall = await openFirewall(t, ns);
    // Flushing nothing loads the (empty) tables, so that dumps compare their content.
    await firewall.flush(name);
    const empty = await backend.dump(ns);
    const endpoint = { ipv4: '198.18.20.2', ipv6: '2001:db8:20::2' };
    const specs = [0, 1].map((i) => base([{ ...dualStack('br-crash', 20), endpoints: [{ ...endpoint, ports: ports(20_000 + 5_000 * i, 1_500) }] }]));
    const states: string[][] = [];
    let cycle = Date.now();
    for (const spec of specs) {
      await firewall.apply(spec);
      states.push(await backend.atomicUnits(ns));
    }
    cycle = (Date.now() - cycle) / specs.length;
    t.log(`one apply of 1,500 bindings (dual stack): ${cycle.toFixed(0)} ms`);

    const seen = new Set<string>();
    const next = random(0xc0ffee);
    for (let kill = 0; kill < KILLS; kill++) {
      const worker = startWorker(t, { kind: 'alternate', netns: ns.path, specs });
      t.is((await worker.next()).event, 'ready');
      await new Promise((resolve) => setTimeout(resolve, next() * cycle * 3));
      worker.child.kill('SIGKILL');
      await worker.exited;
      const units = await backend.atomicUnits(ns);
      const which = units.map((unit, i) => states.findIndex((state) => state[i] === unit));
      t.false(which.includes(-1), `kill ${kill}: an atomic unit is neither old nor new: ${which.join(' ')}`);
      seen.add(which.join(''));
    }
    t.log(`units (old/new) seen after ${KILLS} kills: ${[...seen].join(', ')}`);

    // A new process adopts what it finds: the same spec is a no-op, or repairs a mix of units.
    const adopter = await openFirewall(t, ns);
    const units = await backend.atomicUnits(ns);
    const current = states.findIndex((state) => state.every((unit, i) => unit === units[i]));
    const outcome = await adopter.apply(specs[Math.max(current, 0)]!);
    if (current >= 0) t.is(outcome.changes, 0);
    t.deepEqual(await backend.atomicUnits(ns), states[Math.max(current, 0)]);
    t.true((await adopter.show(name)).text.includes('br-crash'));
    await adopter.removeNetwork('br-crash');
    t.false((await backend.dump(ns)).includes('br-crash'));
    await adopter.flush(name);
    t.is(await backend.dump(ns), empty);
  });

  kernelTest(`${name}: hostile specs are applied or rejected with the field named, never half-committed`, async (t) => {
    const SPECS = 60;
    const ns = await createNetns(t, 'hostile');
    const firewall = await openFirewall(t, ns);
    const next = random(0xbadc0de);
    let applied = 0;
    for (let i = 0; i < SPECS; i++) {
      const spec = { ...hostileSpec(next), backend: name };
      const before = await backend.dump(ns);
      try {
        await firewall.apply(spec);
        applied++;
        t.is((await firewall.apply(spec)).changes, 0, `spec ${i} is not stable: ${JSON.stringify(spec)}`);
      } catch (error) {
        if (!(error instanceof ValidationError)) {
          t.fail(`spec ${i} failed with ${String(error)}${error instanceof NetfilterError ? ` [${error.code}]` : ''}: ${JSON.stringify(spec)}`);
          continue;
        }
        t.true(error.field.length > 0);
        t.is(await backend.dump(ns), before, `spec ${i} was rejected but changed the ruleset`);
      }
    }
    t.log(`${applied} of ${SPECS} hostile specs applied, the rest rejected`);
    t.true(applied > 0);
  });
}
