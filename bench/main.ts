/**
 * `npm run bench [-- --quick] [-- --reps=N] [-- --only=GROUP,…]`: bridgewall against
 * iptables-restore, nft -f and one process per rule, on the same content, in
 * throwaway network namespaces, in one run. Prints one JSON line per figure as
 * it is measured and a table at the end. Needs root.
 *
 * Each group of rows (below) runs in a process of its own, one after
 * another: no row pays for the heap the rows before it left (a garbage
 * collection of the nftables cases' 100,000 mappings had landed in the
 * legacy bulk), as no user's process runs every backend's cases at once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { planChanges } from '../src/backends/iptables/apply.js';
import { diffTable } from '../src/backends/nftables/diff.js';
import { TABLE } from '../src/backends/nftables/layout.js';
import { planNftables } from '../src/backends/nftables/plan.js';
import { decodeTable } from '../src/backends/nftables/read.js';
import { Transaction } from '../src/backends/nftables/transaction.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { Firewall } from '../src/firewall.js';
import type { BackendName } from '../src/backends/backend.js';
import { encodeOperations } from '../src/iptc/encode.js';
import type { IptcOperation } from '../src/iptc/operation.js';
import type { IptTableName } from '../src/iptc/rule.js';
import { ruleText } from '../src/iptc/rule-text.js';
import { defaultLockFile, IptcTable, type IptChain, type IptcTableChange } from '../src/iptc/table.js';
import { IptnftTables } from '../src/iptnft/table.js';
import { binding } from '../src/native/binding.js';
import { NftConnection } from '../src/nft/connection.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { withNetns, type BenchNetns } from './netns.js';
import { figures, median, record, table, type Figure } from './report.js';
import {
  benchSpec, BRIDGE, emptySpec, endpointOf, EXTRA, extraMappingCommands, extraMappingRules, identityRange, identityRangeSpec, iptablesCommands, iptablesSave,
  mapping, nftRulePerPort, portOf, type NftablesPath,
} from './workload.js';

const quick = process.argv.includes('--quick');
const repsArgument = process.argv.find((a) => a.startsWith('--reps='));
const REPS = repsArgument ? Number(repsArgument.slice(7)) : quick ? 1 : 5;
const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const SMALL_CALLS = quick ? 1_000 : 10_000;
/** One process per rule is measured at this size only and extrapolated, as it takes seconds per thousand. */
const FORK_N = 1_000;

const NFT = '/usr/sbin/nft';
const LEGACY_RESTORE = '/usr/sbin/iptables-legacy-restore';
const NFT_RESTORE = '/usr/sbin/iptables-nft-restore';
/** The nft flavour: what Docker forks on this host. */
const IPTABLES = '/usr/sbin/iptables-nft';

async function repeat(reps: number, once: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push(await once());
  return samples;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function openFirewall(ns: BenchNetns, backend: BackendName): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  await firewall.apply(benchSpec(backend, 0));
  return firewall;
}

/**
 * Publish-unpublish pairs of the extra mapping measured on top of each bulk
 * (the median of all is reported): several for nftables, where one pair takes
 * under a millisecond; five for either iptables flavour, whose first port call
 * after a bulk also indexes the port chains' rules once (port-path.ts).
 */
const INCREMENTAL_PAIRS: Record<BackendName, number> = { nftables: 10, 'iptables-nft': 5, iptables: 5 };

/**
 * Bulk publish through the Firewall, then the incremental case on top of each
 * bulk, in this process: warm. A first repetition, not counted, warms it up
 * at this size (V8 compiles, and some code compiled at the size before is
 * compiled again, during the first two or three bulks of ten times as many
 * rules: the legacy bulk at 10,000 took 160, 140 and 120 ms before settling
 * at 90), except where `reps` is 1: there one repetition takes most of a
 * minute. The cold rows measure a fresh process's first call.
 */
async function bridgewall(backend: BackendName, n: number, reps = REPS): Promise<void> {
  const spec = benchSpec(backend, n);
  const bulk: number[] = [];
  const publish: number[] = [];
  const unpublish: number[] = [];
  for (let rep = reps > 1 ? -1 : 0; rep < reps; rep++) {
    const keep = rep >= 0 ? (samples: number[], ms: number) => samples.push(ms) : () => undefined;
    await withNetns(async (ns) => {
      const firewall = await openFirewall(ns, backend);
      try {
        keep(bulk, await timed(() => firewall.apply(spec)));
        // The extra mapping goes to an endpoint of the spec, on a host address no bulk uses.
        for (let pair = 0; pair < INCREMENTAL_PAIRS[backend]; pair++) {
          keep(publish, await timed(() => firewall.addPorts(BRIDGE, endpointOf(EXTRA), [portOf(EXTRA)])));
          keep(unpublish, await timed(() => firewall.removePorts(BRIDGE, endpointOf(EXTRA), [portOf(EXTRA)])));
        }
      } finally {
        firewall.close();
      }
    });
  }
  record({ case: `bulk bridgewall ${backend}`, n, ms: median(bulk), reps });
  record({ case: `incremental publish bridgewall ${backend}`, n, ms: median(publish), reps });
  record({ case: `incremental unpublish bridgewall ${backend}`, n, ms: median(unpublish), reps });
}

/**
 * The floor of the iptables backend's bulk publish: the same changes, planned
 * and encoded beforehand, handed to the addon's libiptc transaction alone
 * (libiptc building and compiling the tables, and the kernel replacing them).
 */
async function iptablesFloor(n: number): Promise<void> {
  const spec = benchSpec('iptables', n);
  const samples = await repeat(REPS, () => withNetns(async (ns) => {
    const firewall = await openFirewall(ns, 'iptables');
    firewall.close();
    const tables = await IptcTable.open({ netns: ns.path });
    const changes = await planChanges(tables, planIptables(buildModel(parseSpec(spec))));
    tables.close();
    const encoded = changes.map((change) => ({
      family: change.family, table: change.table, operations: encodeOperations(change.family, change.table, change.operations),
    }));
    const native = await binding.openIptcTable(ns.path);
    try {
      return await timed(() => native.transaction(encoded, defaultLockFile(), 10_000));
    } finally {
      native.close();
    }
  }));
  record({ case: 'bulk iptables floor: libiptc transaction of the pre-encoded rules', n, ms: median(samples), reps: REPS });
}

/**
 * Docker's way of publishing and unpublishing one mapping while n are
 * published: three `iptables` processes each (extraMappingCommands), on top
 * of the flavour's restore of the n mappings.
 */
async function dockerOneMapping(flavour: 'legacy' | 'nft', n: number, save: string): Promise<void> {
  const { publish, unpublish } = extraMappingCommands();
  const tool = `/usr/sbin/iptables-${flavour}`;
  const published: number[] = [];
  const unpublished: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    await withNetns(async (ns) => {
      ns.time(flavour === 'legacy' ? LEGACY_RESTORE : NFT_RESTORE, ['--noflush'], save);
      for (let pair = 0; pair < 3; pair++) {
        published.push(publish.reduce((ms, args) => ms + ns.time(tool, args), 0));
        unpublished.push(unpublish.reduce((ms, args) => ms + ns.time(tool, args), 0));
      }
    });
  }
  record({ case: `incremental publish, Docker's way: three iptables-${flavour} processes`, n, ms: median(published), reps: REPS });
  record({ case: `incremental unpublish, Docker's way: three iptables-${flavour} processes`, n, ms: median(unpublished), reps: REPS });
}

/**
 * The floor of one mapping while n are published, per iptables flavour: its
 * three rules, planned beforehand, added to the tables and deleted again by
 * the flavour's commit alone (legacy: the libiptc transaction, which reads
 * and replaces nat and filter whole; iptables-nft: the three rules encoded,
 * one kernel transaction, which prepares each chain it changes anew).
 */
async function oneMappingFloor(flavour: 'legacy' | 'nft', n: number, save: string): Promise<void> {
  const rules = extraMappingRules();
  const added: number[] = [];
  const deleted: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    await withNetns(async (ns) => {
      ns.time(flavour === 'legacy' ? LEGACY_RESTORE : NFT_RESTORE, ['--noflush'], save);
      const tables = flavour === 'legacy' ? await IptcTable.open({ netns: ns.path }) : await IptnftTables.open({ netns: ns.path });
      try {
        for (let pair = 0; pair < 3; pair++) {
          const changes = async (operations: (table: IptTableName, chains: readonly IptChain[]) => IptcOperation[]) => {
            const changed: IptcTableChange[] = [];
            for (const table of ['nat', 'filter'] as const) {
              const { chains, fingerprint } = await tables.readWithFingerprint('ipv4', table);
              changed.push({ family: 'ipv4', table, operations: operations(table, chains), fingerprint });
            }
            return changed;
          };
          const adds = await changes((table) => rules.filter((r) => r.table === table).map(({ chain, rule }) =>
            (table === 'filter' ? { op: 'insert', chain, index: 0, rule } : { op: 'append', chain, rule })));
          added.push(await timed(() => tables.commit(adds)));
          const deletes = await changes((table, chains) => rules.filter((r) => r.table === table).map(({ chain, rule }) => ({
            op: 'deleteAt', chain,
            index: chains.find((c) => c.name === chain)!.rules.findIndex((entry) => entry.rule && ruleText('ipv4', entry.rule) === ruleText('ipv4', rule)),
          })));
          deleted.push(await timed(() => tables.commit(deletes)));
        }
      } finally {
        tables.close();
      }
    });
  }
  const name = flavour === 'legacy' ? 'iptables' : 'iptables-nft';
  record({ case: `incremental publish ${name} floor: the three rules committed alone`, n, ms: median(added), reps: REPS });
  record({ case: `incremental unpublish ${name} floor: the three rules deleted alone`, n, ms: median(deleted), reps: REPS });
}

/**
 * The kernel's floor of one legacy mapping while n are published: x_tables
 * replaces tables whole, so adding or deleting a mapping's rules costs at
 * least reading nat and filter and replacing each, here done with nothing
 * else by a small C program (bench/floor/replace-tables.c, built on first
 * use), each table replaced with what it read, timed by its own clock.
 */
async function legacyKernelFloor(n: number, save: string): Promise<void> {
  const program = replaceTablesProgram();
  const samples = await repeat(REPS, () => withNetns(async (ns) => {
    ns.time(LEGACY_RESTORE, ['--noflush'], save);
    return Number(ns.output(program, ['5', 'nat', 'filter']));
  }));
  record({ case: 'incremental iptables kernel floor: nat and filter read and replaced as they are (C)', n, ms: median(samples), reps: REPS });
}

let replaceTables: string | undefined;
function replaceTablesProgram(): string {
  if (replaceTables === undefined) {
    const directory = mkdtempSync(join(tmpdir(), 'bwbench-c-'));
    replaceTables = join(directory, 'replace-tables');
    execFileSync('cc', ['-O2', '-o', replaceTables, `${__dirname}/../../bench/floor/replace-tables.c`]);
    process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  }
  return replaceTables;
}

async function tool(name: string, n: number, run: (ns: BenchNetns) => number): Promise<void> {
  const samples = await repeat(REPS, () => withNetns(async (ns) => run(ns)));
  record({ case: `bulk ${name}`, n, ms: median(samples), reps: REPS });
}

/** The nft -f script of bridgewall's own layout with maps, as its dry run prints it for an empty namespace. */
async function nftMapsScript(n: number): Promise<string> {
  return withNetns(async (ns) => {
    const firewall = await Firewall.open({ netns: ns.path });
    try {
      return (await firewall.dryRun(benchSpec('nftables', n))).text.replace(/^#.*\n/, '');
    } finally {
      firewall.close();
    }
  });
}

async function forkPerRule(): Promise<void> {
  const commands = iptablesCommands(iptablesSave(FORK_N));
  const ms = await withNetns(async (ns) => {
    let total = 0;
    for (const args of commands) total += ns.time(IPTABLES, args);
    return total;
  });
  record({ case: 'bulk one iptables (nft) process per rule', n: FORK_N, ms, reps: 1, processes: commands.length });
  // Extrapolated linearly: each process also re-reads the growing ruleset, so this is a lower bound.
  record({ case: 'bulk one iptables (nft) process per rule, extrapolated', n: 10_000, ms: ms * 10, reps: 1, extrapolatedFrom: FORK_N });
}

/**
 * Issue #18's "a range is one element": one identity range of n ports
 * (`-p A-B:A-B`), published by apply and by addPorts, against the bulk of n
 * single ports on the same host address and ports (bulk bridgewall nftables).
 */
async function identityRangeCase(n: number): Promise<void> {
  const spec = identityRangeSpec('nftables', n);
  const { endpoint, port } = identityRange(n);
  const applied: number[] = [];
  const added: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    await withNetns(async (ns) => {
      const firewall = await openFirewall(ns, 'nftables');
      try {
        applied.push(await timed(() => firewall.apply(spec)));
        await firewall.removePorts(BRIDGE, endpoint, [port]);
        added.push(await timed(() => firewall.addPorts(BRIDGE, endpoint, [port])));
      } finally {
        firewall.close();
      }
    });
  }
  const singles = figures.find((f) => f.case === 'bulk bridgewall nftables' && f.n === n)?.ms;
  const ratio = (ms: number) => (singles === undefined ? {} : { vsSinglePorts: Number((ms / singles).toFixed(4)) });
  record({ case: 'identity range bridgewall nftables, apply', n, ms: median(applied), reps: REPS, ...ratio(median(applied)) });
  record({ case: 'identity range bridgewall nftables, addPorts', n, ms: median(added), reps: REPS, ...ratio(median(added)) });
}

/**
 * The floor of an nftables apply of `spec` onto what the namespace holds:
 * the addon's commit of the change in one batch, planned (read back and
 * diffed) and encoded beforehand.
 */
async function preparedCommit(ns: BenchNetns, spec: SpecInput): Promise<number> {
  const connection = await NftConnection.open({ netns: ns.path });
  try {
    const tx = new Transaction();
    const current = decodeTable('ip', await connection.readTable('ip', TABLE));
    diffTable(tx, current, planNftables(buildModel(parseSpec(spec)))[0]!);
    return await timed(() => connection.commit(tx.batch));
  } finally {
    connection.close();
  }
}

/** An nftables path's apply of n ports as the first call of a fresh process (bench/cold.ts), in the namespace `ns` prepared for it. */
function coldApply(ns: BenchNetns, n: number, path: NftablesPath): number {
  const spec = JSON.stringify(benchSpec('nftables', n));
  return (JSON.parse(execFileSync(process.execPath, [`${__dirname}/cold.js`, ns.path, path], { encoding: 'utf8', input: spec })) as { ms: number }).ms;
}

/**
 * The nftables bulk publish against its floor, warm and cold: the floor is
 * the addon's commit of the same elements in one batch, planned (read back
 * and diffed) and encoded beforehand; cold is the same call as `bulk
 * bridgewall nftables` made first in a fresh process (bench/cold.ts).
 */
async function nftablesFloorAndCold(n: number): Promise<void> {
  const spec = benchSpec('nftables', n);
  const floor = await repeat(REPS, () => withNetns(async (ns) => {
    (await openFirewall(ns, 'nftables')).close();
    return preparedCommit(ns, spec);
  }));
  const floorMs = median(floor);
  record({ case: 'bulk nftables floor: the addon\'s commit of the same elements, planned and encoded beforehand', n, ms: floorMs, reps: REPS });
  const warm = figures.find((f) => f.case === 'bulk bridgewall nftables' && f.n === n)?.ms;
  if (warm !== undefined) record({ case: 'bulk bridgewall nftables (warm) vs floor', n, reps: REPS, ratio: Number((warm / floorMs).toFixed(2)) });
  const cold = await repeat(REPS, () => withNetns(async (ns) => coldApply(ns, n, 'endpoint')));
  record({ case: 'bulk bridgewall nftables, first call in a fresh process (cold)', n, ms: median(cold), reps: REPS,
    vsFloor: Number((median(cold) / floorMs).toFixed(2)) });
}

/**
 * Issue #18's other nftables paths, warm (in this process) and cold (first
 * call of a fresh process), against their floors, n ports each:
 * - network: a whole network with its endpoints and ports applied onto a
 *   namespace holding none (emptySpec applied); its floor is the addon's
 *   commit of the same elements, planned and encoded beforehand;
 * - restart: a fresh Firewall applying the spec the namespace already holds
 *   (another Firewall applied it and closed): it reads back and commits
 *   nothing; its floor is the addon's read-back of the table.
 */
async function nftablesPath(path: 'network' | 'restart', n: number): Promise<void> {
  const spec = benchSpec('nftables', n);
  /** The namespace as the path finds it, and the Firewall that will apply (already open for network, as an engine's is). */
  const prepare = async (ns: BenchNetns): Promise<Firewall | undefined> => {
    const firewall = await Firewall.open({ netns: ns.path });
    await firewall.apply(path === 'network' ? emptySpec('nftables') : spec);
    if (path === 'network') return firewall;
    firewall.close();
    return undefined;
  };
  const warm = await repeat(REPS, () => withNetns(async (ns) => {
    const firewall = (await prepare(ns)) ?? await Firewall.open({ netns: ns.path });
    try {
      return await timed(() => firewall.apply(spec));
    } finally {
      firewall.close();
    }
  }));
  const floor = await repeat(REPS, () => withNetns(async (ns) => {
    (await prepare(ns))?.close();
    if (path === 'network') return preparedCommit(ns, spec);
    const connection = await NftConnection.open({ netns: ns.path });
    try {
      return await timed(() => connection.readTable('ip', TABLE));
    } finally {
      connection.close();
    }
  }));
  const cold = await repeat(REPS, () => withNetns(async (ns) => {
    (await prepare(ns))?.close();
    return coldApply(ns, n, path);
  }));
  const floorMs = median(floor);
  const name = path === 'network' ? 'new network with its endpoints' : 'declarative apply after a restart (no change)';
  record({ case: `${name} nftables floor: ${path === 'network' ? 'the addon\'s commit of the same elements, planned and encoded beforehand' : 'the addon\'s read-back of the table'}`,
    n, ms: floorMs, reps: REPS });
  record({ case: `${name} bridgewall nftables (warm)`, n, ms: median(warm), reps: REPS, vsFloor: Number((median(warm) / floorMs).toFixed(2)) });
  record({ case: `${name} bridgewall nftables, first call in a fresh process (cold)`, n, ms: median(cold), reps: REPS,
    vsFloor: Number((median(cold) / floorMs).toFixed(2)) });
}

/**
 * The CLI's own cost of n ports: `bridgewall apply SPEC --netns PATH
 * --quiet` of the spec with n ports minus the same of the spec without
 * ports, each a fresh process onto a fresh namespace (start-up, module
 * loading, reading, parsing and validating the spec, planning, committing),
 * against `nft -f` of bridgewall's layout with maps (the row before it).
 */
async function cliCost(n: number): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'bwbench-'));
  try {
    const specFile = (count: number) => {
      const file = join(directory, `spec-${count}.json`);
      writeFileSync(file, JSON.stringify(benchSpec('nftables', count)));
      return file;
    };
    const [none, all] = [specFile(0), specFile(n)];
    const cli = (file: string) => withNetns(async (ns) => timed(async () => {
      // Not through ns.time: the CLI enters the namespace itself, and refuses its own.
      const result = spawnSync(process.execPath, [`${__dirname}/../src/cli/main.js`, 'apply', file, '--netns', ns.path, '--quiet'], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`bridgewall apply ${file} failed (${result.status}): ${result.stderr}`);
    }));
    const costs: number[] = [];
    const startUps: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const whole = await cli(all);
      const bare = await cli(none);
      costs.push(whole - bare);
      startUps.push(bare);
    }
    const maps = figures.find((f) => f.case === 'bulk nft -f, maps' && f.n === n)?.ms;
    // What the subtraction leaves out is the user's cost too: the process's start-up, module loading and the spec's networks and endpoints.
    record({ case: 'CLI cost: bridgewall apply of n ports minus apply of none', n, ms: median(costs), reps: REPS,
      ...(maps === undefined ? {} : { vsNftMaps: Number((median(costs) / maps).toFixed(2)) }), applyOfNoneMs: Number(median(startUps).toFixed(1)) });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function manySmallCalls(backend: BackendName): Promise<void> {
  const samples = await repeat(REPS, () => withNetns(async (ns) => {
    const firewall = await openFirewall(ns, backend);
    try {
      return await timed(() => Promise.all(Array.from({ length: SMALL_CALLS }, (_, i) => {
        const m = mapping(i);
        return firewall.addPorts(BRIDGE, endpointOf(m), [portOf(m)]);
      })));
    } finally {
      firewall.close();
    }
  }));
  const ms = median(samples);
  record({ case: `many small calls bridgewall ${backend}`, n: SMALL_CALLS, ms, reps: REPS, mappingsPerSecond: Math.round(SMALL_CALLS / (ms / 1000)) });
}

async function memory(n: number): Promise<void> {
  const result = await withNetns(async (ns) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', `${__dirname}/memory.js`, ns.path, String(n)], { encoding: 'utf8' })));
  record({ case: 'memory bridgewall nftables (node rss)', n, reps: 1, ...result });
}

/**
 * `--only=GROUP,…` runs just those groups (to measure one path while working
 * on it), in this order; a group may read the figures of one before it.
 */
const GROUPS = [
  'nftables', 'nftables-floor', 'network', 'restart', 'range', 'iptables', 'iptables-nft', 'iptables-floor', 'restore', 'docker', 'nft', 'cli', 'fork',
  'small', 'memory',
];
const onlyArgument = process.argv.find((a) => a.startsWith('--only='));
const ONLY = onlyArgument ? new Set(onlyArgument.slice(7).split(',')) : undefined;
const wanted = (group: string): boolean => !ONLY || ONLY.has(group);
/** In a group's own process: the figures measured before it come in BENCH_FIGURES; its own go out as JSON lines. */
const GROUP_PROCESS = process.argv.includes('--group-process');

/** Runs each wanted group in a process of its own, in order, handing each the figures measured before it. */
function runGroups(): void {
  const options = process.argv.slice(2).filter((a) => !a.startsWith('--only='));
  for (const group of GROUPS.filter(wanted)) {
    const result = spawnSync(process.execPath, [__filename, ...options, `--only=${group}`, '--group-process'], {
      env: { ...process.env, BENCH_FIGURES: JSON.stringify(figures) }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
    });
    if (result.status !== 0) throw new Error(`bench group ${group} failed (${result.status ?? result.signal})`);
    for (const line of result.stdout.split('\n')) if (line.startsWith('{')) record(JSON.parse(line) as Figure);
  }
}

async function main(): Promise<void> {
  if (!GROUP_PROCESS) {
    console.log(JSON.stringify({ loadavg: loadavg(), reps: REPS, quick, only: ONLY && [...ONLY] }));
    runGroups();
    console.log(`\n${table()}\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    return;
  }
  figures.push(...(JSON.parse(process.env.BENCH_FIGURES ?? '[]') as Figure[]));
  for (const n of SIZES) {
    if (wanted('nftables')) await bridgewall('nftables', n);
    if (wanted('nftables-floor')) await nftablesFloorAndCold(n);
    if (wanted('network')) await nftablesPath('network', n);
    if (wanted('restart')) await nftablesPath('restart', n);
    // Port numbers run out above 65,535: the range case stops at 10,000.
    if (wanted('range') && n <= 10_000) await identityRangeCase(n);
    if (wanted('iptables')) await bridgewall('iptables', n, n >= 100_000 ? 1 : REPS);
    // iptables-nft's bulk of 100,000 (300,000 rules) takes most of a minute: measured up to 10,000.
    if (wanted('iptables-nft') && n <= 10_000) await bridgewall('iptables-nft', n);
    if (wanted('iptables-floor')) await iptablesFloor(n);
    const save = iptablesSave(n);
    if (wanted('restore')) {
      await tool('iptables-legacy-restore --noflush', n, (ns) => ns.time(LEGACY_RESTORE, ['--noflush'], save));
      await tool('iptables-nft-restore --noflush', n, (ns) => ns.time(NFT_RESTORE, ['--noflush'], save));
    }
    if (wanted('docker')) await dockerOneMapping('legacy', n, save);
    if (wanted('docker') && n <= 10_000) await dockerOneMapping('nft', n, save);
    if (wanted('iptables-floor')) await oneMappingFloor('legacy', n, save);
    if (wanted('iptables-floor')) await legacyKernelFloor(n, save);
    if (wanted('iptables-floor') && n <= 10_000) await oneMappingFloor('nft', n, save);
    if (wanted('nft')) {
      const perRule = nftRulePerPort(n);
      await tool('nft -f, one rule per port', n, (ns) => ns.time(NFT, ['-f', '-'], perRule));
      const maps = await nftMapsScript(n);
      await tool('nft -f, maps', n, (ns) => ns.time(NFT, ['-f', '-'], maps));
    }
    if (wanted('cli')) await cliCost(n);
  }
  if (wanted('fork')) await forkPerRule();
  if (wanted('small')) await manySmallCalls('nftables');
  if (wanted('memory')) await memory(SIZES[SIZES.length - 1]!);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
