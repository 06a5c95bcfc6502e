/**
 * Conntrack clearing (src/conntrack.ts, native/conntrack.cc): which filters
 * a change gives, how the native side matches them against a real table
 * (read back with the conntrack tool), and a kernel without connection
 * tracking netlink, emulated by the kernel itself through an LD_PRELOAD shim
 * (test/helpers/no-ctnetlink.c). The packet proof is test/packets-conntrack.test.ts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { filtersOf } from '../src/conntrack.js';
import { portChangeOf } from '../src/docker/port-change.js';
import { callNative, NetfilterError, ValidationError } from '../src/errors.js';
import { binding } from '../src/native/binding.js';
import { packConntrackFilters, type ConntrackFilter } from '../src/native/conntrack.js';
import { systemTool } from '../src/sandbox/tools.js';
import { HeldSpec } from '../src/held/held-spec.js';
import type { FirewallBackend, PortSpecInput, SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { withPreload } from './helpers/preload.js';

const run = promisify(execFile);

const A = '198.18.9.2';
const B = '198.18.9.3';
const UDP: PortSpecInput = { proto: 'udp', hostPort: 8053, containerPort: 53 };
const TCP: PortSpecInput = { proto: 'tcp', hostIp: '192.0.2.1', hostPort: 8080, containerPort: 80 };

function spec(ports: { a?: PortSpecInput[]; b?: PortSpecInput[] }, backend: FirewallBackend = 'nftables'): SpecInput {
  return {
    backend,
    networks: [{ bridge: 'br-ct', ipv4: { subnet: '198.18.9.0/24' }, endpoints: [{ ipv4: A, ports: ports.a ?? [] }, { ipv4: B, ports: ports.b ?? [] }] }],
  };
}

const specOf = (input: SpecInput) => HeldSpec.parse(input).spec;

test('a moved mapping: entries of its host port not answered by B, and those answered by A; a kept mapping: none', (t) => {
  const filters = filtersOf({ before: specOf(spec({ a: [UDP, TCP] })), after: specOf(spec({ a: [TCP], b: [UDP] })) });
  t.deepEqual(filters, [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 8053, last: 8053 }, replySrc: { address: A, port: 53, negated: false } },
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 8053, last: 8053 }, replySrc: { address: B, port: 53, negated: true }, dstTranslated: false },
  ]);
});

test('a range published: one filter, its container ports following its host ports; an endpoint removed: its ranges unpublished', (t) => {
  const range: PortSpecInput = { proto: 'udp', hostPort: '9000-9099', containerPort: '5000-5099' };
  t.deepEqual(filtersOf({ before: specOf(spec({ a: [TCP] })), after: specOf(spec({ a: [TCP], b: [range] })) }), [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 9000, last: 9099 }, replySrc: { address: B, port: 5000, negated: true }, dstTranslated: false },
  ]);
  const withoutB = specOf(spec({ a: [TCP] }));
  withoutB.networks[0]!.endpoints.pop();
  t.deepEqual(filtersOf({ before: specOf(spec({ a: [TCP], b: [range] })), after: withoutB }), [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 9000, last: 9099 }, replySrc: { address: B, port: 5000, negated: false } },
  ]);
  t.deepEqual(filtersOf({ before: specOf(spec({ a: [TCP], b: [range] })), after: specOf(spec({ a: [TCP], b: [range] })) }), [], 'nothing changed');
});

test('a TCP mapping published by a first apply: only translated entries of that address and port not answered by its container', (t) => {
  const filters = filtersOf({ before: undefined, after: specOf(spec({ a: [TCP] })) });
  t.deepEqual(filters, [
    { family: 'ipv4', proto: 'tcp', origDstPorts: { first: 8080, last: 8080 }, origDst: '192.0.2.1', replySrc: { address: A, port: 80, negated: true }, dstTranslated: true },
  ]);
});

test('single ports published one after another to consecutive container ports: one filter per run, as for a range', (t) => {
  const ports = (first: number, count: number, hostIp = '192.0.2.1'): PortSpecInput[] =>
    Array.from({ length: count }, (_, i) => ({ proto: 'tcp', hostIp, hostPort: first + i, containerPort: first + i }));
  // 3 ports from 8000, 8004 and 8005 (a gap), and 8006 on another host address: three runs.
  const filters = filtersOf({ before: undefined, after: specOf(spec({ a: [...ports(8000, 3), ...ports(8004, 2), ...ports(8006, 1, '192.0.2.2')] })) });
  const run = (first: number, last: number, origDst = '192.0.2.1') =>
    ({ family: 'ipv4', proto: 'tcp', origDstPorts: { first, last }, origDst, replySrc: { address: A, port: first, negated: true }, dstTranslated: true });
  t.deepEqual(filters, [run(8000, 8002), run(8004, 8005), run(8006, 8006, '192.0.2.2')]);
  // Unpublished by a port call: the same runs, answered by the container.
  const held = HeldSpec.parse(spec({ a: ports(8000, 3) }));
  t.deepEqual(filtersOf({ ports: portChangeOf(held.spec, held.removePorts('br-ct', { ipv4: A }, ports(8000, 3))) }), [
    { family: 'ipv4', proto: 'tcp', origDstPorts: { first: 8000, last: 8002 }, origDst: '192.0.2.1', replySrc: { address: A, port: 8000, negated: false } },
  ]);
});

test('a port call gives the filters of the ports it added and removed, not of the ports it kept', (t) => {
  const held = HeldSpec.parse(spec({ a: [UDP, TCP] }));
  const removal = held.removePorts('br-ct', { ipv4: A }, [UDP]);
  const filters = filtersOf({ ports: portChangeOf(held.spec, removal) });
  t.deepEqual(filters, [{ family: 'ipv4', proto: 'udp', origDstPorts: { first: 8053, last: 8053 }, replySrc: { address: A, port: 53, negated: false } }]);
  // A TCP port published on top of a known spec: nothing of ours was translated there, and the host's refusals left nothing.
  const addition = held.addPorts('br-ct', { ipv4: B }, [{ proto: 'tcp', hostPort: 9000, containerPort: 90 }, { proto: 'udp', hostPort: 9000, containerPort: 90 }]);
  t.deepEqual(filtersOf({ ports: portChangeOf(held.spec, addition) }), [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 9000, last: 9000 }, replySrc: { address: B, port: 90, negated: true }, dstTranslated: false },
  ]);
  t.deepEqual(filtersOf({ before: specOf(spec({})), after: specOf(spec({ a: [TCP] })) }), [], 'the same by apply');
});

test('an identity range held whole (nftables): one filter for the range; a hole cut in it clears the hole alone, not what is left', (t) => {
  const held = HeldSpec.parse(spec({}));
  const range: PortSpecInput = { proto: 'udp', hostPort: '10000-10999', containerPort: '10000-10999' };
  t.deepEqual(filtersOf({ ports: portChangeOf(held.spec, held.addPorts('br-ct', { ipv4: A }, [range])) }), [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 10000, last: 10999 }, replySrc: { address: A, port: 10000, negated: true }, dstTranslated: false },
  ]);
  const hole = held.removePorts('br-ct', { ipv4: A }, [{ proto: 'udp', hostPort: '10500-10501', containerPort: '10500-10501' }]);
  t.deepEqual(filtersOf({ ports: portChangeOf(held.spec, hole) }), [
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 10500, last: 10501 }, replySrc: { address: A, port: 10500, negated: false } },
  ]);
});

test('the filters are validated before the addon sees them, naming the field', (t) => {
  const good: ConntrackFilter = { family: 'ipv4', proto: 'udp', origDstPorts: { first: 53, last: 53 } };
  const cases: [ConntrackFilter, string][] = [
    [{ ...good, origDstPorts: { first: 0, last: 0 } }, 'f[0].origDstPorts.first'],
    [{ ...good, origDstPorts: { first: 1, last: 65536 } }, 'f[0].origDstPorts.last'],
    [{ ...good, origDstPorts: { first: 1.5, last: 2 } }, 'f[0].origDstPorts.first'],
    [{ ...good, origDstPorts: { first: 10, last: 9 } }, 'f[0].origDstPorts.last'],
    [{ ...good, origDstPorts: { first: 10, last: 20 }, replySrc: { address: '192.0.2.1', port: 65530, negated: false } }, 'f[0].replySrc.port'],
    [{ ...good, proto: 'icmp' as 'udp' }, 'f[0].proto'],
    [{ ...good, proto: 'constructor' as 'udp' }, 'f[0].proto'],
    [{ ...good, family: 'toString' as 'ipv4' }, 'f[0].family'],
    [{ ...good, family: 'inet' as 'ipv4' }, 'f[0].family'],
    [{ ...good, origDst: '2001:db8::1' }, 'f[0].origDst'],
    [{ ...good, replySrc: { address: '192.0.2.1', port: -1, negated: false } }, 'f[0].replySrc.port'],
    [{ ...good, replySrc: { address: 'nope', port: 1, negated: false } }, 'f[0].replySrc.address'],
  ];
  for (const [filter, field] of cases) {
    const error = t.throws(() => packConntrackFilters([filter], 'f'), { instanceOf: ValidationError });
    t.is(error?.field, field);
  }
});

/** The entries the conntrack tool lists in the namespace: `proto dport replySrc:replySport`. */
async function entries(ns: TestNetns): Promise<string[]> {
  const { stdout } = await run(systemTool('ip'), ['netns', 'exec', ns.name, 'conntrack', '-L'], { timeout: 10_000 });
  return stdout.split('\n').filter((line) => /^(tcp|udp)/.test(line)).map((line) => {
    const proto = line.split(/\s+/)[0];
    const dports = [...line.matchAll(/dport=(\d+)/g)].map((m) => m[1]);
    const srcs = [...line.matchAll(/src=(\S+)/g)].map((m) => m[1]);
    const sports = [...line.matchAll(/sport=(\d+)/g)].map((m) => m[1]);
    return `${proto} ${dports[0]} ${srcs[1]}:${sports[1]}`;
  }).sort();
}

/**
 * A namespace with a tracked table: traffic from the namespace to itself,
 * udp and tcp to 192.0.2.1 port 7001 DNATed to 192.0.2.2:7002, port 7003 not.
 * The tcp connections are real (python3, bounded by a 5 s timeout).
 */
async function trackedNamespace(t: Parameters<typeof createNetns>[0]): Promise<TestNetns> {
  const ns = await createNetns(t, 'ct');
  await ns.run('ip', 'link', 'set', 'lo', 'up');
  await ns.run('ip', 'address', 'add', '192.0.2.1/32', 'dev', 'lo');
  await ns.run('ip', 'address', 'add', '192.0.2.2/32', 'dev', 'lo');
  await ns.run('nft', 'add table ip t');
  await ns.run('nft', 'add chain ip t out { type nat hook output priority -100; }');
  await ns.run('nft', 'add rule ip t out ip daddr 192.0.2.1 meta l4proto { tcp, udp } th dport 7001 dnat to 192.0.2.2:7002');
  await ns.run('bash', '-c', 'for p in 7001 7003; do echo x > /dev/udp/192.0.2.1/$p; done');
  // Connections made and closed: their entries stay listed (TIME_WAIT) for minutes.
  await ns.run('python3', '-c', [
    'import socket',
    "servers = [socket.create_server((a, p)) for a, p in (('192.0.2.2', 7002), ('192.0.2.1', 7003))]",
    "clients = [socket.create_connection(('192.0.2.1', p), timeout=5) for p in (7001, 7003)]",
    'accepted = [s.accept()[0] for s in servers]',
    'for c in clients + accepted + servers: c.close()',
  ].join('\n'));
  return ns;
}

kernelTest('the addon deletes exactly the entries its filters match, read back with the conntrack tool', async (t) => {
  const ns = await trackedNamespace(t);
  t.deepEqual(await entries(ns), ['tcp 7001 192.0.2.2:7002', 'tcp 7003 192.0.2.1:7003', 'udp 7001 192.0.2.2:7002', 'udp 7003 192.0.2.1:7003']);
  const target = { address: '192.0.2.2', port: 7002 };
  const filters: ConntrackFilter[] = [
    // Nothing: the DNATed entries answer from the target; the other address is not theirs.
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 7001, last: 7001 }, replySrc: { ...target, negated: true } },
    { family: 'ipv4', proto: 'tcp', origDstPorts: { first: 7001, last: 7001 }, origDst: '192.0.2.9' },
    // Nothing: tcp 7003 was not translated.
    { family: 'ipv4', proto: 'tcp', origDstPorts: { first: 7003, last: 7003 }, replySrc: { ...target, negated: true }, dstTranslated: true },
    // Nothing: another family.
    { family: 'ipv6', proto: 'udp', origDstPorts: { first: 7003, last: 7003 } },
    // Deleted: udp 7003 (answered by the host), tcp 7001 (answered by the target).
    { family: 'ipv4', proto: 'udp', origDstPorts: { first: 7003, last: 7003 }, origDst: '192.0.2.1', replySrc: { ...target, negated: true } },
    { family: 'ipv4', proto: 'tcp', origDstPorts: { first: 7001, last: 7001 }, replySrc: { ...target, negated: false } },
  ];
  const connection = await binding.openNftConnection(ns.path);
  t.teardown(() => connection.close());
  const cleared = await callNative(() => connection.clearConntrack(packConntrackFilters(filters, 'filters')));
  t.is(cleared, 2);
  t.deepEqual(await entries(ns), ['tcp 7003 192.0.2.1:7003', 'udp 7001 192.0.2.2:7002']);
});

kernelTest('malformed packed filters fail with EINVAL naming the filter, and the table is untouched', async (t) => {
  const ns = await trackedNamespace(t);
  const before = await entries(ns);
  const good = packConntrackFilters([{ family: 'ipv4', proto: 'udp', origDstPorts: { first: 7003, last: 7003 } }], 'f');
  const cases: [string, Uint8Array, RegExp][] = [
    ['a family of 7', Buffer.from([1, 0, 0, 0, 7, 17, 0x5b, 0x1b, 0x5b, 0x1b, 0]), /filters\[0\]: family 7/],
    ['an empty port range', Buffer.from([1, 0, 0, 0, 2, 17, 0x5b, 0x1b, 0x5a, 0x1b, 0]), /filters\[0\]: the port range 7003-7002 is empty/],
    ['unknown flags', Buffer.from([1, 0, 0, 0, 2, 17, 0x5b, 0x1b, 0x5b, 0x1b, 0x40]), /filters\[0\]: unknown flags/],
    ['a negated reply source without one', Buffer.from([1, 0, 0, 0, 2, 17, 0x5b, 0x1b, 0x5b, 0x1b, 4]), /without one/],
    ['an address cut short', Buffer.from([1, 0, 0, 0, 2, 17, 0x5b, 0x1b, 0x5b, 0x1b, 1, 192, 0]), /original destination needs 4 bytes/],
    ['reply ports past 65535', Buffer.from([1, 0, 0, 0, 2, 17, 1, 0, 2, 0, 2, 192, 0, 2, 1, 0xff, 0xff]), /reply source ports run past 65535/],
    ['a count past the bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 2, 17, 0x5b, 0x1b, 0x5b, 0x1b, 0]), /filters\[0\]: a count of 4294967295/],
    ['more ports than the cap', Buffer.concat([Buffer.of(40, 0, 0, 0), ...Array.from({ length: 40 }, () => Buffer.of(2, 17, 1, 0, 0xff, 0xff, 0))]), /more than 2097152 ports in all/],
    ['a byte after the last filter', Buffer.concat([good, Buffer.of(0)]), /1 bytes after the last filter/],
  ];
  const connection = await binding.openNftConnection(ns.path);
  t.teardown(() => connection.close());
  for (const [what, packed, message] of cases) {
    const error = await t.throwsAsync(callNative(() => connection.clearConntrack(packed)), { instanceOf: NetfilterError }, what);
    t.is(error?.code, 'EINVAL', what);
    t.regex(error?.message ?? '', message, what);
  }
  t.deepEqual(await entries(ns), before);
});

kernelTest('without connection tracking netlink the commit stands and the result says so: WCONNTRACK, on every backend', async (t) => {
  for (const backend of ['nftables', 'iptables', 'iptables-nft'] as const) {
    const ns = await createNetns(t, `noct-${backend[0]}`);
    await trackOneEntry(ns);
    const { result, published, error } = await applyWithoutCtnetlink(ns, backend);
    t.is(error, undefined, backend);
    t.true((result?.commits ?? 0) >= 1, `${backend}: committed`);
    t.true(published, `${backend}: the mapping is in the kernel`);
    t.deepEqual(result?.conntrack, { cleared: 0 });
    const warning = result?.warnings.find((w) => w.code === 'WCONNTRACK');
    t.regex(warning?.message ?? '', /no connection tracking netlink \(EINVAL from conntrack\.dump; load nf_conntrack_netlink\)/, backend);
  }
});

kernelTest('a first apply in a namespace that tracks no connection looks for none to clear', async (t) => {
  // Without connection tracking netlink, looking would warn (above): here nothing is looked at, so nothing warns.
  const ns = await createNetns(t, 'noct-none');
  const { result, published, error } = await applyWithoutCtnetlink(ns, 'nftables');
  t.is(error, undefined);
  t.true(published);
  t.like(result, { commits: 1, conntrack: { cleared: 0 } });
  t.is(result?.warnings.find((w) => w.code === 'WCONNTRACK'), undefined);
});

/** One entry in the namespace's connection tracking table: a UDP packet the host sends itself, seen by a ruleset that tracks. */
async function trackOneEntry(ns: TestNetns): Promise<void> {
  await ns.run('ip', 'link', 'set', 'lo', 'up');
  await ns.run('ip', 'address', 'add', '192.0.2.1/32', 'dev', 'lo');
  await ns.run('nft', 'add table ip track; add chain ip track out { type filter hook output priority 0; }; add rule ip track out ct state new accept');
  await ns.run('bash', '-c', 'echo x > /dev/udp/192.0.2.1/7001');
}

/** A fresh process applies one UDP mapping with connection tracking netlink failing (preload), and says what it got. */
async function applyWithoutCtnetlink(ns: TestNetns, backend: FirewallBackend): Promise<{
  result?: { commits: number; conntrack: { cleared: number }; warnings: { code: string; message: string }[] }; published?: boolean; error?: string;
}> {
  const script = `
    const { Firewall } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'firewall.js'))});
    (async () => {
      const firewall = await Firewall.open({ netns: ${JSON.stringify(ns.path)} });
      const result = await firewall.apply(${JSON.stringify(spec({ a: [UDP] }, backend))});
      const shown = (await firewall.show(${JSON.stringify(backend)})).text;
      firewall.close();
      process.stdout.write(JSON.stringify({ result, published: shown.includes('8053') }));
    })().catch((error) => { process.stdout.write(JSON.stringify({ error: String(error), code: error.code })); });`;
  const env = withPreload('no-ctnetlink');
  const { stdout } = await run(process.execPath, ['-e', script], { env, timeout: 60_000 });
  return JSON.parse(stdout) as Awaited<ReturnType<typeof applyWithoutCtnetlink>>;
}
