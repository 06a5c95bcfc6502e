/**
 * Self-healing: when someone flushes our rules, a watching Firewall puts them
 * back within a second and says so; close() stops it.
 */
import { once } from 'node:events';
import { Firewall } from '../src/firewall.js';
import { FirewallWatcher } from '../src/watch.js';
import type { FirewallBackend, SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

const spec = (backend: FirewallBackend): SpecInput => ({
  backend,
  networks: [{
    bridge: 'br-heal',
    ipv4: { subnet: '198.18.30.0/24' },
    endpoints: [{ ipv4: '198.18.30.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
});

const FLUSHES = {
  nftables: { tool: 'nft', args: ['flush', 'ruleset'], dump: ['nft', 'list', 'ruleset'] },
  iptables: { tool: 'iptables-legacy', args: ['-t', 'nat', '-F'], dump: ['iptables-legacy-save', '-t', 'nat'] },
  'iptables-nft': { tool: 'iptables-nft', args: ['-t', 'nat', '-F'], dump: ['iptables-nft-save', '-t', 'nat'] },
} as const;

/** The dump without iptables-save's timestamped comments. */
async function dumpOf(ns: TestNetns, command: readonly string[]): Promise<string> {
  return normaliseSave(await ns.run(command[0]!, ...command.slice(1)));
}

for (const backend of ['nftables', 'iptables', 'iptables-nft'] as const) {
  kernelTest(`${backend}: a flushed ruleset is put back within a second, with an event`, async (t) => {
    const ns = await createNetns(t, 'heal');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    await firewall.apply(spec(backend));
    const { tool, args, dump } = FLUSHES[backend];
    const before = await dumpOf(ns, dump);
    t.regex(before, /8080/);

    const watcher = new FirewallWatcher(firewall, { intervalMs: 100 });
    t.teardown(() => watcher.close());
    const repaired = once(watcher, 'repaired');
    const flushedAt = Date.now();
    // No look in between: the watcher may well repair before a dump could run.
    await ns.run(tool, ...args);
    const [result] = await repaired;
    t.true(Date.now() - flushedAt < 1_000, `repaired after ${Date.now() - flushedAt} ms`);
    t.true(result.changes > 0);
    t.is(await dumpOf(ns, dump), before);

    // After close(), a flush stays flushed.
    await watcher.close();
    await watcher.close();
    await ns.run(tool, ...args);
    await new Promise((resolve) => setTimeout(resolve, 400));
    t.notRegex(await dumpOf(ns, dump), /8080/);
  });
}
