/**
 * Declarative apply from a JSON file: print what would change, apply it,
 * apply again to show that nothing changes the second time.
 *
 *   node dist/src/examples/apply-json.js /run/netns/NAME src/examples/web.json
 */
import { readFileSync } from 'node:fs';
import { Firewall, type SpecInput } from '../index.js'; // in your project: from 'bridgewall'
import { BACKEND, netnsArgument } from './backend.js';

async function main(): Promise<void> {
  const netns = netnsArgument('apply-json.js NETNS_PATH SPEC.json');
  const file = process.argv[3] ?? 'src/examples/web.json';
  const spec = { backend: BACKEND, ...JSON.parse(readFileSync(file, 'utf8')) } as SpecInput;
  const firewall = await Firewall.open({ netns });
  try {
    process.stdout.write((await firewall.dryRun(spec)).text);
    const first = await firewall.apply(spec);
    console.log(`applied with ${first.backend}: ${first.counts.rules.added} rules added, ${first.counts.elements.added} set elements added`);
    const again = await firewall.apply(spec);
    console.log(`applied again: ${again.counts.rules.added + again.counts.rules.deleted} rules changed`);
  } finally {
    firewall.close();
  }
}

main().catch((error: { code?: string; message: string }) => {
  console.error(`error: ${error.code ?? 'UNKNOWN'}: ${error.message}`);
  process.exitCode = 1;
});
