/**
 * Thousands of random and hostile specs through validation and planning,
 * without a kernel: each is accepted and plans without throwing, or rejected
 * with a ValidationError whose `field` is a path into the spec. The kernel
 * half (a rejection commits nothing) is in the reliability suite.
 */
import test from 'ava';
import { planIptables } from '../src/docker/iptables/plan.js';
import { buildModel } from '../src/docker/model.js';
import { ValidationError } from '../src/errors.js';
import { parseSpec } from '../src/spec/validate.js';
import { hostileSpec, random } from './reliability/hostile.js';

const SPECS = 5_000;
const FIELD = /^[a-zA-Z][a-zA-Z0-9]*(\[\d+\])?(\.[a-zA-Z][a-zA-Z0-9]*(\[\d+\])?)*$/;

test(`${SPECS} hostile specs are planned or rejected with the field named`, (t) => {
  const next = random(0x5eed);
  let accepted = 0;
  for (let i = 0; i < SPECS; i++) {
    const spec = hostileSpec(next);
    try {
      planIptables(buildModel(parseSpec(spec)));
      accepted++;
    } catch (error) {
      if (!(error instanceof ValidationError)) {
        t.fail(`spec ${i} threw ${String(error)}: ${JSON.stringify(spec)}`);
        return;
      }
      t.regex(error.field, FIELD, `spec ${i}: ${error.message}`);
    }
  }
  t.log(`${accepted} of ${SPECS} accepted`);
  t.true(accepted > 0);
});
