/** The one warning channel: each warning once, and the CLI's line for it. */
import test from 'ava';
import { formatWarning, Warnings } from '../src/warnings.js';

test('a warning said twice (two families, two calls) is listed once, in order', (t) => {
  const warnings = new Warnings();
  warnings.add('WFORWARDDROP', 'policy DROP');
  warnings.addAll([{ code: 'WCONNTRACK', message: 'no ctnetlink' }, { code: 'WFORWARDDROP', message: 'policy DROP' }]);
  warnings.addAll(undefined);
  t.deepEqual(warnings.list(), [
    { code: 'WFORWARDDROP', message: 'policy DROP' },
    { code: 'WCONNTRACK', message: 'no ctnetlink' },
  ]);
});

test('the CLI line is one line: warning: CODE: message', (t) => {
  t.is(formatWarning({ code: 'WFORWARDINGOFF', message: 'forwarding is off\n  nothing is forwarded' }),
    'warning: WFORWARDINGOFF: forwarding is off nothing is forwarded');
});
