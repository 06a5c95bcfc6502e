/**
 * A Firewall that will read the nftables tables whole (it holds no spec of
 * that backend yet) begins the kernel's dump before it validates the spec,
 * and hands that read to its apply: the kernel works while the spec is
 * validated, and the tables are read once. The read serves that one apply.
 */
import { Firewall } from '../src/firewall.js';
import { HeldSpec } from '../src/held/held-spec.js';
import type { SpecInput } from '../src/input/types.js';
import { NftConnection } from '../src/nft/connection.js';
import { createNetns, kernelTest } from './helpers/netns.js';

/** What happened in order: table reads (`read FAMILY TABLE`) and spec validations (`validate`), for the one test running at a time here. */
const events: string[] = [];
const readTable = NftConnection.prototype.readTable;
NftConnection.prototype.readTable = function (this: NftConnection, ...args: Parameters<typeof readTable>) {
  events.push(`read ${args[0]} ${args[1]}`);
  return readTable.apply(this, args);
};
const parse = HeldSpec.parse;
HeldSpec.parse = function (...args: Parameters<typeof parse>) {
  events.push('validate');
  return parse.apply(HeldSpec, args);
};

const NETWORK = { bridge: 'br-ahead', ipv4: { subnet: '198.18.7.0/24' }, endpoints: [{ ipv4: '198.18.7.2', ports: ['8080:80'] }] };
const SPEC: SpecInput = { backend: 'nftables', ipForward: false, networks: [NETWORK] };

kernelTest('a fresh Firewall reads the tables before it validates the spec, once, and that read serves only that apply', async (t) => {
  const ns = await createNetns(t, 'nftahead');
  const writer = await Firewall.open({ netns: ns.path });
  t.teardown(() => writer.close());
  await writer.apply(SPEC);

  const fresh = await Firewall.open({ netns: ns.path });
  t.teardown(() => fresh.close());
  events.length = 0;
  t.like(await fresh.apply(SPEC), { commits: 0 }, 'the kernel already holds the spec');
  t.deepEqual(events, ['read ip bridgewall', 'read ip6 bridgewall', 'validate'], 'read first, and only once');

  // A refused spec's read is not the next apply's: the kernel changes in between.
  const refusing = await Firewall.open({ netns: ns.path });
  t.teardown(() => refusing.close());
  await t.throwsAsync(refusing.apply({ ...SPEC, networks: [{ ...NETWORK, icc: 'yes' }] } as unknown as SpecInput), { code: 'EVALIDATION' });
  await writer.addPorts('br-ahead', { ipv4: '198.18.7.2' }, ['8081:81']);
  t.like(await refusing.apply(SPEC), { commits: 1 }, 'the port the spec does not list is removed');
  t.notRegex(await ns.run('nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address'), /8081/);
});
