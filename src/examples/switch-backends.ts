/**
 * Switching backends: the same spec applied with iptables, then with
 * nftables. Applying with one backend removes what the other programmed in
 * the namespace, so a host moves over in one call and never holds both.
 *
 *   node dist/src/examples/switch-backends.js /run/netns/NAME
 */
import { BACKEND_NAMES, Firewall, type SpecInput } from '../index.js'; // in your project: from 'bridgewall'
import { netnsArgument } from './backend.js';

const SPEC: SpecInput = {
  networks: [{
    bridge: 'br-web',
    ipv4: { subnet: '198.18.1.0/24' },
    endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] }],
  }],
};

async function main(): Promise<void> {
  const firewall = await Firewall.open({ netns: netnsArgument('switch-backends.js NETNS_PATH') });
  try {
    for (const backend of BACKEND_NAMES) {
      const result = await firewall.apply({ ...SPEC, backend });
      console.log(`${backend}: ${result.counts.rules.added} rules added; ${result.otherBackendCounts.rules.deleted} rules of the other backends deleted`);
      process.stdout.write((await firewall.show(backend)).text);
    }
  } finally {
    firewall.close();
  }
}

main().catch((error: { code?: string; message: string }) => {
  console.error(`error: ${error.code ?? 'UNKNOWN'}: ${error.message}`);
  process.exitCode = 1;
});
