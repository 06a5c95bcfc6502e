/**
 * A co-resident manager's rules (a Docker daemon's own, for its docker0,
 * written by iptables-legacy-restore or iptables-nft-restore) survive every
 * apply, flush and backend switch of every backend; where bridgewall's plan
 * would have to change them it refuses with ECONFLICT and changes nothing,
 * unless told to adopt them.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BackendName } from '../src/backends/backend.js';
import { buildModel } from '../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { RECORD_DIR } from '../src/backends/iptables/owner-record.js';
import { binding } from '../src/native/binding.js';
import { NetfilterError, ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';
import { withPreload } from './helpers/preload.js';

const run = promisify(execFile);

type Flavour = 'legacy' | 'nft';

/** A Docker daemon's docker0 with a published port, one bound to loopback, and hairpin off (its default userland proxy). */
const DOCKER: SpecInput = {
  backend: 'iptables',
  networks: [{
    bridge: 'docker0', ipv4: { subnet: '198.18.0.0/24' },
    endpoints: [{
      ipv4: '198.18.0.2',
      ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }, { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81 }],
    }],
  }],
};

const OURS = (backend: BackendName, extra: Partial<SpecInput> = {}): SpecInput => ({
  backend,
  networks: [{
    bridge: 'br-own', ipv4: { subnet: '198.18.1.0/24' },
    endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 9090, containerPort: 90 }] }],
  }],
  ...extra,
});

/** The Docker daemon's rules as iptables-save prints them, from the planner itself. */
function dockerRules(): string {
  const plan = planIptables(buildModel(parseSpec(DOCKER)));
  return renderIptablesSave('ipv4', plan.families.find((family) => family.family === 'ipv4'));
}

async function writeDockerRules(t: { teardown(fn: () => void): void }, ns: TestNetns, flavour: Flavour): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bw-docker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules');
  writeFileSync(file, dockerRules());
  await ns.run(`iptables-${flavour}-restore`, file);
}

/** The -A lines of a save: the rules, whatever order the chains are declared in. */
function ruleLines(save: string): string[] {
  return save.split('\n').filter((line) => line.startsWith('-A '));
}

async function saveOf(ns: TestNetns, flavour: Flavour): Promise<string> {
  let text = '';
  for (const table of ['raw', 'filter', 'nat']) text += normaliseSave(await ns.run(`iptables-${flavour}-save`, '-t', table));
  return text;
}

function assertForeignRulesKept(t: import('ava').ExecutionContext, save: string, step: string): void {
  const lines = new Set(ruleLines(save));
  for (const rule of ruleLines(dockerRules())) t.true(lines.has(rule), `${step}: Docker's rule is gone: ${rule}`);
}

for (const flavour of ['legacy', 'nft'] as const) {
  kernelTest(`a Docker daemon's rules written by iptables-${flavour}-restore survive every apply, flush and backend switch`, async (t) => {
    const ns = await createNetns(t, `own${flavour}`);
    await writeDockerRules(t, ns, flavour);
    assertForeignRulesKept(t, await saveOf(ns, flavour), 'written');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const steps: [string, () => Promise<unknown>][] = [
      ['iptables apply', () => firewall.apply(OURS('iptables'))],
      ['nftables apply (switch)', () => firewall.apply(OURS('nftables'))],
      ['iptables apply (switch back)', () => firewall.apply(OURS('iptables'))],
      ['iptables network removed', () => firewall.removeNetwork('br-own')],
      ['iptables flush', () => firewall.flush('iptables')],
      ['nftables apply', () => firewall.apply(OURS('nftables'))],
      ['nftables flush', () => firewall.flush('nftables')],
      ['iptables flush again', () => firewall.flush('iptables')],
    ];
    for (const [step, run] of steps) {
      await run();
      assertForeignRulesKept(t, await saveOf(ns, flavour), step);
      if (step === 'iptables apply') {
        // show lists every rule, the daemon's marked as someone else's (in the flavour it wrote them with).
        t.regex((await firewall.show('iptables')).text, /\n-A DOCKER -d 198\.18\.1\.2\/32 ! -i br-own -o br-own -p tcp -m tcp --dport 90 -j ACCEPT\n/);
        t.regex((await firewall.show(flavour === 'legacy' ? 'iptables' : 'iptables-nft')).text, /\n# owner: other\n-A DOCKER -d 198\.18\.0\.2\/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n/);
      }
    }
    // And ours are gone: nothing names our bridge any more.
    t.false((await saveOf(ns, 'legacy')).includes('br-own'));
    t.false((await ns.run('nft', 'list', 'ruleset')).includes('br-own'));
  });
}

kernelTest('a new process removes the networks bridgewall programmed before it, and only those', async (t) => {
  const ns = await createNetns(t, 'ownrestart');
  await writeDockerRules(t, ns, 'legacy');
  const first = await Firewall.open({ netns: ns.path });
  await first.apply(OURS('iptables'));
  first.close();
  const second = await Firewall.open({ netns: ns.path });
  t.teardown(() => second.close());
  await second.apply({ backend: 'iptables', networks: [{ bridge: 'br-next', ipv4: { subnet: '198.18.2.0/24' } }] });
  const save = await saveOf(ns, 'legacy');
  t.false(save.includes('br-own'));
  t.true(save.includes('br-next'));
  assertForeignRulesKept(t, save, 'second process');
  await second.flush('iptables');
  assertForeignRulesKept(t, await saveOf(ns, 'legacy'), 'flush');
  t.false((await saveOf(ns, 'legacy')).includes('br-next'));
});

kernelTest('daemon-level settings that differ from the Docker daemon\'s are refused with ECONFLICT, changing nothing; adopt takes them over', async (t) => {
  const ns = await createNetns(t, 'ownconflict');
  await writeDockerRules(t, ns, 'legacy');
  const before = await saveOf(ns, 'legacy');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  // Docker's userland proxy is on; bridgewall's hairpin mode changes the nat OUTPUT jump.
  const error = await t.throwsAsync(firewall.apply(OURS('iptables', { userlandProxy: false })), { instanceOf: NetfilterError });
  t.is(error?.code, 'ECONFLICT');
  t.regex(error!.message, /OUTPUT/);
  t.is(await saveOf(ns, 'legacy'), before);
  // A network of the same bridge as the daemon's is another conflict.
  const same = await t.throwsAsync(firewall.apply({ backend: 'iptables', networks: [{ bridge: 'docker0', ipv4: { subnet: '198.18.0.0/24' } }] }), { instanceOf: NetfilterError });
  t.is(same?.code, 'ECONFLICT');
  t.regex(same!.message, /docker0/);
  t.is(await saveOf(ns, 'legacy'), before);

  // adopt: the spec's daemon-level settings replace the daemon's, and everything Docker-shaped is ours.
  await firewall.apply(OURS('iptables', { userlandProxy: false, adopt: true }));
  const adopted = await saveOf(ns, 'legacy');
  t.true(adopted.includes('-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER'));
  t.false(adopted.includes('127.0.0.0/8'));
  t.false(adopted.includes('docker0'));
  await firewall.flush('iptables');
  t.deepEqual(ruleLines(await saveOf(ns, 'legacy')), []);
});

test('ECONFLICT has a hint', async (t) => {
  const { HINTS } = await import('../src/cli/help.js');
  t.truthy((HINTS as Record<string, string>)['ECONFLICT']);
});

kernelTest('daemon-level chains bridgewall created are shared with a Docker network added later, and kept by flush while it uses them', async (t) => {
  const ns = await createNetns(t, 'ownshared');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(OURS('iptables'));
  const docker = [
    ['-t', 'nat', '-I', 'POSTROUTING', '-s', '198.18.0.0/24', '!', '-o', 'docker0', '-j', 'MASQUERADE'],
    ['-t', 'nat', '-A', 'DOCKER', '!', '-i', 'docker0', '-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '198.18.0.2:80'],
    ['-A', 'DOCKER-FORWARD', '-i', 'docker0', '-j', 'ACCEPT'],
    ['-A', 'DOCKER-BRIDGE', '-o', 'docker0', '-j', 'DOCKER'],
    ['-A', 'DOCKER-CT', '-o', 'docker0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    ['-A', 'DOCKER', '!', '-i', 'docker0', '-o', 'docker0', '-j', 'DROP'],
  ];
  for (const rule of docker) await ns.run('iptables-legacy', '-w', ...rule);
  const withDocker = ruleLines(await saveOf(ns, 'legacy')).filter((line) => line.includes('docker0'));
  t.is(withDocker.length, docker.length);
  t.is((await firewall.apply(OURS('iptables'))).changes, 0, 'the shared chains already read as planned');

  await firewall.flush('iptables');
  const flushed = await saveOf(ns, 'legacy');
  for (const line of withDocker) t.true(flushed.includes(line), `Docker's rule is gone: ${line}`);
  for (const jump of ['-A FORWARD -j DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-BRIDGE', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER']) {
    t.true(flushed.includes(jump), `daemon-level rule in use is gone: ${jump}`);
  }
  t.false(flushed.includes('br-own'));

  // Once the Docker network is gone, the next flush removes the daemon-level chains bridgewall made.
  for (const rule of docker) await ns.run('iptables-legacy', '-w', ...rule.map((word) => (word === '-A' || word === '-I' ? '-D' : word)));
  await firewall.flush('iptables');
  t.deepEqual(ruleLines(await saveOf(ns, 'legacy')), []);
  t.false((await saveOf(ns, 'legacy')).includes(':DOCKER'));
});

kernelTest('the owner record is one file per namespace, keyed by its cookie, and goes with a flush', async (t) => {
  const namespaces = await Promise.all([createNetns(t, 'ownreca'), createNetns(t, 'ownrecb')]);
  const files = await Promise.all(namespaces.map(async (ns) => `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`));
  t.not(files[0], files[1]);
  const firewalls = await Promise.all(namespaces.map((ns) => Firewall.open({ netns: ns.path })));
  t.teardown(() => firewalls.forEach((firewall) => firewall.close()));
  for (const firewall of firewalls) await firewall.apply(OURS('iptables'));
  for (const name of files) {
    t.like(JSON.parse(readFileSync(join(RECORD_DIR, name), 'utf8')), { version: 1, ipv4: { networks: { 'br-own': '198.18.1.0/24' }, daemon: true } });
  }
  for (const firewall of firewalls) await firewall.flush('iptables');
  t.deepEqual(readdirSync(RECORD_DIR).filter((name) => files.includes(name)), []);
});

kernelTest('on a kernel without namespace cookies the owner record is keyed by the namespace\'s device and inode', async (t) => {
  const ns = await createNetns(t, 'ownnocookie');
  const { dev, ino } = statSync(ns.path);
  const byInode = `iptables-netns-inode-${dev}-${ino}.json`;
  const byCookie = `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`;
  /** `step` ('apply' or 'flush') in a process on the emulated kernel; what netnsIdentity gave it. */
  const inProcessWithoutCookies = async (step: 'apply' | 'flush') => {
    const script = `
      const { binding } = require(${JSON.stringify(join(__dirname, '..', 'src', 'native', 'binding.js'))});
      const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'firewall.js'))});
      (async () => {
        const firewall = await Firewall.open({ netns: ${JSON.stringify(ns.path)} });
        if (${JSON.stringify(step)} === 'apply') await firewall.apply(${JSON.stringify(OURS('iptables'))});
        else await firewall.flush('iptables');
        firewall.close();
        process.stdout.write(JSON.stringify({ identity: await binding.netnsIdentity(${JSON.stringify(ns.path)}) }));
      })().catch((error) => { process.stdout.write(JSON.stringify({ error: String(error), code: error.code })); });`;
    const env = withPreload('no-netns-cookie');
    const { stdout } = await run(process.execPath, ['-e', script], { env, timeout: 60_000 });
    return JSON.parse(stdout) as { identity?: unknown; error?: string };
  };
  const applied = await inProcessWithoutCookies('apply');
  t.deepEqual(applied, { identity: { device: dev, inode: ino, cookie: null } });
  t.like(JSON.parse(readFileSync(join(RECORD_DIR, byInode), 'utf8')), { version: 1, ipv4: { networks: { 'br-own': '198.18.1.0/24' }, daemon: true } });
  t.false(existsSync(join(RECORD_DIR, byCookie)));
  t.deepEqual(await inProcessWithoutCookies('flush'), applied);
  t.false(existsSync(join(RECORD_DIR, byInode)));
});

kernelTest('adopt must be a boolean', async (t) => {
  const ns = await createNetns(t, 'ownadopt');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const error = await t.throwsAsync(firewall.apply({ backend: 'iptables', adopt: 'yes' as unknown as boolean }), { instanceOf: ValidationError });
  t.is(error?.field, 'adopt');
});

kernelTest('another manager\'s swarm ingress is a conflict, not shared', async (t) => {
  const ns = await createNetns(t, 'owningress');
  await ns.run('iptables-legacy', '-w', '-N', 'DOCKER-INGRESS');
  await ns.run('iptables-legacy', '-w', '-A', 'DOCKER-INGRESS', '-j', 'RETURN');
  const before = await saveOf(ns, 'legacy');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const error = await t.throwsAsync(firewall.apply({
    backend: 'iptables',
    networks: [{ bridge: 'docker_gwbridge', ipv4: { subnet: '198.18.4.0/24' } }],
    ingress: { bridge: 'docker_gwbridge', address: '198.18.4.2', ports: [{ proto: 'tcp', port: 9000 }] },
  }), { instanceOf: NetfilterError });
  t.is(error?.code, 'ECONFLICT');
  t.regex(error!.message, /DOCKER-INGRESS/);
  t.is(await saveOf(ns, 'legacy'), before);
});

kernelTest('a lock held by a process that is killed does not block the owner record', async (t) => {
  const ns = await createNetns(t, 'ownlock');
  const record = join(RECORD_DIR, `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`);
  mkdirSync(RECORD_DIR, { recursive: true });
  const script = `require(${JSON.stringify(resolve('dist/src/native/binding.js'))}).binding.lockFile(${JSON.stringify(`${record}.lock`)}, 1000)
    .then(() => process.stdout.write('held\\n'));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((done) => child.on('exit', done));
  await new Promise((held) => child.stdout.once('data', held));
  child.kill('SIGKILL');
  await exited;
  t.true(existsSync(`${record}.lock`), 'the killed holder left its lock file');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(OURS('iptables'));
  t.false(existsSync(`${record}.lock`));
  t.true(existsSync(record));
  await firewall.flush('iptables');
  t.false(existsSync(record));
});

kernelTest('an apply that leaves the owner record as it is takes no lock; one that changes it waits for the lock', async (t) => {
  const ns = await createNetns(t, 'ownnolock');
  const record = join(RECORD_DIR, `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`);
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(OURS('iptables'));
  // Held by another writer (a lock of its own, in this process): a change to the record waits for it.
  const held = await binding.lockFile(`${record}.lock`, 1000);
  t.teardown(() => held.release());
  const again = await firewall.apply(OURS('iptables'));
  t.is(again.changes, 0);
  let settled = false;
  const removed = firewall.apply({ backend: 'iptables' }).finally(() => {
    settled = true;
  });
  await new Promise((delay) => setTimeout(delay, 300));
  t.false(settled, 'the change to the record did not wait for the lock');
  held.release();
  t.true((await removed).changes > 0);
  t.deepEqual(JSON.parse(readFileSync(record, 'utf8')).ipv4.networks, {});
  t.false(existsSync(`${record}.lock`));
});

kernelTest('a lock is held by one writer at a time, and one waited for too long fails with EBUSY', async (t) => {
  const lock = join(RECORD_DIR, `bridgewall-test-${process.pid}.lock`);
  mkdirSync(RECORD_DIR, { recursive: true });
  const first = await binding.lockFile(lock, 1000);
  t.teardown(() => first.release());
  const error = await t.throwsAsync(binding.lockFile(lock, 50));
  t.like(error, { code: 'EBUSY', operation: 'owner.lock' });
  const second = binding.lockFile(lock, 5000);
  first.release();
  first.release();
  const taken = await second;
  t.true(existsSync(lock), 'the next writer took the lock anew');
  taken.release();
  t.false(existsSync(lock));
});

kernelTest('a writer killed at any point of taking, holding or letting go of the lock never blocks the next one', async (t) => {
  const KILLS = 40;
  const ns = await createNetns(t, 'ownkill');
  const record = join(RECORD_DIR, `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`);
  // Takes and releases the record's lock as fast as it can, until killed.
  const script = `const { OwnerRecord } = require(${JSON.stringify(resolve('dist/src/backends/iptables/owner-record.js'))});
    OwnerRecord.open("iptables", ${JSON.stringify(ns.path)}).then(async (owner) => {
      process.stdout.write('ready\\n');
      for (let n = 0; ; n++) await owner.update((state) => ({ ...state, ipv4: { ...state.ipv4, networks: n % 2 ? { 'br-k': '198.18.9.0/24' } : {} } }));
    });`;
  for (let kill = 0; kill < KILLS; kill++) {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((done) => child.on('exit', done));
    await new Promise((ready) => child.stdout.once('data', ready));
    await new Promise((delay) => setTimeout(delay, kill % 10));
    child.kill('SIGKILL');
    await exited;
  }
  // The next writer takes the lock at once (it would wait 10 s for one held, then fail with EBUSY).
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const started = Date.now();
  await firewall.apply(OURS('iptables'));
  t.true(Date.now() - started < 5000);
  t.false(existsSync(`${record}.lock`));
  await firewall.flush('iptables');
});

kernelTest('the user\'s own rules naming a bridge of ours are theirs: kept, and no conflict', async (t) => {
  const ns = await createNetns(t, 'ownuser');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(OURS('iptables'));
  const mine = ['-A INPUT -i br-own -j ACCEPT', '-A DOCKER-USER -i br-own -j DROP', '-t nat -A POSTROUTING -o br-own -j ACCEPT'];
  for (const rule of mine) await ns.run('iptables-legacy', '-w', ...rule.split(' '));
  const saved = mine.map((rule) => rule.replace('-t nat ', ''));
  const kept = async (step: string) => {
    const lines = new Set(ruleLines(await saveOf(ns, 'legacy')));
    for (const line of saved) t.true(lines.has(line), `${step}: the user's rule is gone: ${line}`);
  };
  await kept('written');
  await firewall.apply({ backend: 'iptables' });
  await kept('network removed');
  await firewall.apply(OURS('iptables'));
  await kept('network added again');
  await firewall.flush('iptables');
  await kept('flush');
});

kernelTest('a record left by a process killed between its first update and its commit claims only what it would have programmed, and the next apply settles it', async (t) => {
  const ns = await createNetns(t, 'owncrash');
  await writeDockerRules(t, ns, 'legacy');
  const record = join(RECORD_DIR, `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`);
  // What the killed process wrote before its commit: the network it was about to program.
  mkdirSync(RECORD_DIR, { recursive: true });
  const claim = { networks: { 'br-ghost': '198.18.7.0/24' }, daemon: false, loopbackDrops: [] };
  writeFileSync(record, JSON.stringify({ version: 1, ipv4: claim, ipv6: { networks: {}, daemon: false, loopbackDrops: [] } }));
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(OURS('iptables'));
  assertForeignRulesKept(t, await saveOf(ns, 'legacy'), 'apply after the crash');
  t.deepEqual(Object.keys(JSON.parse(readFileSync(record, 'utf8')).ipv4.networks), ['br-own']);
  await firewall.flush('iptables');
  assertForeignRulesKept(t, await saveOf(ns, 'legacy'), 'flush');
  t.false(existsSync(record));
});

kernelTest('a commit the kernel refuses leaves the owner record claiming what it claimed before (apply, and the port path)', async (t) => {
  const ns = await createNetns(t, 'ownrefused');
  const record = join(RECORD_DIR, `iptables-netns-cookie-${(await binding.netnsIdentity(ns.path)).cookie}.json`);
  const two: SpecInput = OURS('iptables');
  two.networks!.push({ bridge: 'br-two', ipv4: { subnet: '198.18.2.0/24' }, endpoints: [{ ipv4: '198.18.2.2', ports: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 9191, containerPort: 91 }] }] });
  // In a process whose kernel refuses legacy table replaces while BRIDGEWALL_REFUSE_REPLACE is set: each step's error code, and the record after it.
  const script = `
    const { readFileSync } = require('node:fs');
    const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'firewall.js'))});
    const recorded = () => JSON.parse(readFileSync(${JSON.stringify(record)}, 'utf8'));
    const refused = async (call) => {
      process.env.BRIDGEWALL_REFUSE_REPLACE = '1';
      try { await call(); return 'none'; } catch (error) { return error.code; } finally { delete process.env.BRIDGEWALL_REFUSE_REPLACE; }
    };
    (async () => {
      const firewall = await Firewall.open({ netns: ${JSON.stringify(ns.path)} });
      await firewall.apply(${JSON.stringify(OURS('iptables'))});
      const steps = { applied: recorded() };
      const loopbackPort = { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 9092, containerPort: 92 };
      steps.portsError = await refused(() => firewall.addPorts('br-own', { ipv4: '198.18.1.2' }, [loopbackPort]));
      steps.afterPorts = recorded();
      steps.applyError = await refused(() => firewall.apply(${JSON.stringify(two)}));
      steps.afterApply = recorded();
      await firewall.apply(${JSON.stringify(two)});
      steps.settled = recorded();
      await firewall.flush('iptables');
      firewall.close();
      process.stdout.write(JSON.stringify(steps));
    })().catch((error) => { process.stdout.write(JSON.stringify({ error: String(error), code: error.code })); });`;
  const { stdout } = await run(process.execPath, ['-e', script], { env: withPreload('refused-replace'), timeout: 60_000 });
  const steps = JSON.parse(stdout) as Record<string, { ipv4: { networks: Record<string, string>; loopbackDrops: string[] } } | string>;
  t.is(steps.portsError, 'ENOMEM', stdout);
  t.is(steps.applyError, 'ENOMEM', stdout);
  t.deepEqual(steps.afterPorts, steps.applied, 'the loopback drop the refused port call claimed is taken back');
  t.deepEqual(steps.afterApply, steps.applied, 'the network and loopback drop the refused apply claimed are taken back');
  const settled = steps.settled as { ipv4: { networks: Record<string, string>; loopbackDrops: string[] } };
  t.deepEqual(settled.ipv4.networks, { 'br-own': '198.18.1.0/24', 'br-two': '198.18.2.0/24' });
  t.is(settled.ipv4.loopbackDrops.length, 1);
});
