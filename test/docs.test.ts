/**
 * `npm run docs` builds the TypeDoc reference with no warning (typedoc.json
 * treats one as an error): every type an export refers to is documented, the
 * raw addon's shapes are named as intentionally left out.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

test('the TypeDoc reference builds without a warning', async (t) => {
  const typedoc = path.join(ROOT, 'node_modules', '.bin', 'typedoc');
  const { stdout, stderr } = await execFileAsync(typedoc, ['--emit', 'none'], { cwd: ROOT, timeout: 300_000 });
  t.notRegex(`${stdout}${stderr}`, /warning|error/i);
});
