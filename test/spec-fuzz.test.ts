/**
 * Thousands of random and hostile specs through validation and planning,
 * without a kernel: each valid one is accepted and planned by both planners
 * without throwing, each with one invalid field is rejected with a
 * ValidationError naming exactly that field. The kernel half (valid specs
 * are applied as planned, a rejection commits nothing) is in the
 * reliability suite.
 */
import test from 'ava';
import { planNftables } from '../src/backends/nftables/plan.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { ValidationError } from '../src/errors.js';
import { parseSpec } from '../src/input/validate.js';
import { hostileSpec, random, type MutationName } from './reliability/hostile.js';

const SPECS = 5_000;
const BACKENDS = ['iptables', 'iptables-nft', 'nftables'] as const;

test(`${SPECS} hostile specs are planned, or rejected with the one invalid field named`, (t) => {
  const next = random(0x5eed);
  let accepted = 0;
  const rejected = new Map<MutationName, number>();
  for (let i = 0; i < SPECS; i++) {
    const { spec, invalid } = hostileSpec(next, BACKENDS[i % BACKENDS.length]!);
    try {
      const model = buildModel(parseSpec(spec));
      planIptables(model);
      planNftables(model);
    } catch (error) {
      if (!(error instanceof ValidationError)) {
        t.fail(`spec ${i} threw ${String(error)}: ${JSON.stringify(spec)}`);
        return;
      }
      if (error.field !== invalid?.field) {
        t.fail(`spec ${i} (${invalid ? `${invalid.mutation} at ${invalid.field}` : 'valid'}) was rejected at ${error.field}: ${error.message}`);
        return;
      }
      rejected.set(invalid.mutation, (rejected.get(invalid.mutation) ?? 0) + 1);
      continue;
    }
    if (invalid) {
      t.fail(`spec ${i} was accepted, but its ${invalid.field} is invalid (${invalid.mutation}): ${JSON.stringify(spec)}`);
      return;
    }
    accepted++;
  }
  t.log(`${accepted} of ${SPECS} accepted; rejected by mutation: ${[...rejected].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  t.true(accepted > SPECS / 3);
});
