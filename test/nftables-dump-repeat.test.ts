/**
 * A read-back in which the kernel gives a set's element twice (a walk of a
 * hash set while its table is resized can, with the generation unchanged)
 * is read again: taken as it came, the repeat would be an element to
 * delete, and the apply would delete a mapping it keeps. The repeat is made
 * by a preload shim (test/helpers/repeated-element.c), in a process of its
 * own, on the read of a fresh Firewall's first apply.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SpecInput } from '../src/input/types.js';
import { createNetns, kernelTest } from './helpers/netns.js';
import { withPreload } from './helpers/preload.js';

const run = promisify(execFile);

const SPEC: SpecInput = {
  backend: 'nftables',
  networks: [{
    bridge: 'br-repeat', ipv4: { subnet: '198.18.3.0/24' },
    endpoints: [{ ipv4: '198.18.3.2', ports: Array.from({ length: 40 }, (_, i) => ({ proto: 'tcp' as const, hostPort: 9000 + i, containerPort: 80 + i })) }],
  }],
};

/** A fresh process's Firewall applies SPEC in the namespace (with the shim preloaded: `repeat` turns it on); its changes, and the shim's word. */
async function applyInFreshProcess(netns: string, repeat: boolean): Promise<{ outcome: unknown; stderr: string }> {
  const script = `
    const { Firewall } = require(${JSON.stringify(join(__dirname, '..', 'src', 'firewall.js'))});
    (async () => {
      const firewall = await Firewall.open({ netns: ${JSON.stringify(netns)} });
      const { changes } = await firewall.apply(${JSON.stringify(SPEC)});
      firewall.close();
      process.stdout.write(JSON.stringify({ changes }));
    })().catch((error) => { process.stdout.write(JSON.stringify({ error: String(error), code: error.code })); });`;
  const env = { ...withPreload('repeated-element'), ...(repeat ? { BRIDGEWALL_REPEAT_ELEMENT: '1' } : {}) };
  const { stdout, stderr } = await run(process.execPath, ['-e', script], { env, timeout: 60_000 });
  return { outcome: JSON.parse(stdout), stderr };
}

kernelTest('a read-back that gives a set element twice is read again: the apply of what the tables hold changes nothing', async (t) => {
  const ns = await createNetns(t, 'dumprepeat');
  const table = () => ns.run('nft', 'list', 'table', 'ip', 'bridgewall');
  const first = await applyInFreshProcess(ns.path, false);
  t.true(((first.outcome as { changes: number }).changes) > 0, JSON.stringify(first.outcome));
  const held = await table();
  t.is(held.match(/tcp \. 90[0-3]\d counter/g)?.length, 40, held);
  const again = await applyInFreshProcess(ns.path, true);
  t.regex(again.stderr, /repeated-element: a set's elements repeated/, 'the shim repeated a set\'s elements');
  t.deepEqual(again.outcome, { changes: 0 });
  t.is(await table(), held);
});
