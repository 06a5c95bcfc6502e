/**
 * `npm run bench:conntrack` (root): what clearing connection tracking entries
 * after a commit (src/conntrack.ts) adds to one nftables port call (a UDP
 * mapping published and unpublished) with 10,000 mappings published, with
 * the namespace's table empty, holding one entry and holding 10,000, and the
 * clearing alone. Prints one JSON line per figure and a table.
 */
import { performance } from 'node:perf_hooks';
import { filtersOf } from '../src/conntrack.js';
import { Firewall } from '../src/firewall.js';
import { binding } from '../src/native/binding.js';
import { packConntrackFilters } from '../src/native/conntrack.js';
import { HeldSpec } from '../src/held/held-spec.js';
import { withNetns } from './netns.js';
import { median, record, table } from './report.js';
import { benchSpec, BRIDGE, endpointOf, EXTRA, portOf } from './workload.js';

const N = 10_000;
const PAIRS = 20;
const ENTRIES = 10_000;
/** The extra mapping is UDP here (the bench's is TCP): a TCP port published on a known spec clears nothing, so costs nothing. */
const UDP_EXTRA = { ...portOf(EXTRA), proto: 'udp' as const };

/** `count` more UDP entries: datagrams from the namespace to as many ports of its own loopback (unanswered, tracked). */
function fill(from: number, count: number): string {
  return `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(${20_000 + from}, ${20_000 + from + count}):
    s.sendto(b'x', ('127.0.0.1', port))`;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function main(): Promise<void> {
  await withNetns(async (ns) => {
    const firewall = await Firewall.open({ netns: ns.path });
    const connection = await binding.openNftConnection(ns.path);
    try {
      await firewall.apply(benchSpec('nftables', N));
      // The filter the extra mapping's publication gives, cleared alone.
      const extra = benchSpec('nftables', 0);
      extra.networks![0]!.endpoints!.find((e) => e.ipv4 === EXTRA.containerAddress)!.ports = [UDP_EXTRA];
      const filters = packConntrackFilters(filtersOf({ before: undefined, after: HeldSpec.parse(extra).spec }), 'filters');
      let filled = 0;
      for (const entries of [0, 1, ENTRIES]) {
        ns.time('/usr/bin/python3', ['-c', fill(filled, entries - filled)]);
        filled = entries;
        const table = `${entries} entries`;
        const publish: number[] = [];
        const unpublish: number[] = [];
        const clearing: number[] = [];
        let cleared = 0;
        for (let pair = 0; pair < PAIRS; pair++) {
          publish.push(await timed(async () => {
            cleared += (await firewall.addPorts(BRIDGE, endpointOf(EXTRA), [UDP_EXTRA])).conntrack.cleared;
          }));
          unpublish.push(await timed(() => firewall.removePorts(BRIDGE, endpointOf(EXTRA), [UDP_EXTRA])));
          clearing.push(await timed(() => connection.clearConntrack(filters)));
        }
        record({ case: `incremental publish bridgewall nftables, conntrack table ${table}`, n: N, ms: median(publish), reps: PAIRS, cleared });
        record({ case: `incremental unpublish bridgewall nftables, conntrack table ${table}`, n: N, ms: median(unpublish), reps: PAIRS });
        record({ case: `the clearing alone (dump and match), conntrack table ${table}`, n: N, ms: median(clearing), reps: PAIRS });
      }
    } finally {
      connection.close();
      firewall.close();
    }
  });
  console.log(`\n${table()}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
