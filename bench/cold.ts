/**
 * An nftables path's apply as the first call of a fresh process: run as its
 * own process, so that nothing of it is compiled or cached yet but what
 * opening the Firewall (and, before the measured call, what the path's
 * engine has applied already) needs. The paths (PATH, default `endpoint`):
 * - endpoint: the network without ports applied first, then its endpoints
 *   arrive with their ports (what an engine has done before its containers'
 *   endpoints arrive);
 * - network: a spec without networks applied first, then the whole network
 *   with its endpoints and ports;
 * - restart: nothing applied by this process, the namespace already holding
 *   the spec (the caller applied it): the declarative apply after a restart.
 * The spec to apply comes as JSON on standard input and is parsed as JSON,
 * as an engine restoring its state reads it: built here by the bench's own
 * loops, their compiling would run on the machine's two cores during the
 * measured call.
 * Prints one JSON object: the JS call to resolved promise, in ms.
 * Usage: node dist/bench/cold.js NETNS_PATH [PATH] < SPEC.json
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { benchSpec, emptySpec, type NftablesPath } from './workload.js';

async function main(): Promise<void> {
  const [netns, path = 'endpoint'] = process.argv.slice(2) as [string, NftablesPath?];
  const spec = JSON.parse(readFileSync(0, 'utf8')) as SpecInput;
  const firewall = await Firewall.open({ netns });
  if (path === 'endpoint') await firewall.apply(benchSpec('nftables', 0));
  if (path === 'network') await firewall.apply(emptySpec('nftables'));
  const start = performance.now();
  await firewall.apply(spec);
  console.log(JSON.stringify({ ms: performance.now() - start }));
  firewall.close();
}

void main();
