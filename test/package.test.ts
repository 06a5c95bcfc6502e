/**
 * What `npm pack` ships: the addon's sources and build file, the compiled
 * library (JavaScript and declarations), the JSON Schemas, README and LICENSE; never the tests,
 * their fixtures (Docker's goldens) or compiled tests.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

test('the package holds the addon sources, the compiled library, the JSON Schemas, README and LICENSE, and no tests', async (t) => {
  // --ignore-scripts: `prepare` would compile into dist/ while other tests run from it.
  const { stdout } = await execFileAsync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 120_000 });
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  const files = pack!.files.map((file) => file.path);
  for (const required of [
    'package.json', 'README.md', 'LICENSE', 'binding.gyp', 'native/addon.cc', 'native/sysctl.cc', 'native/pkg-config.js',
    'native/error_codes.js', 'native/error_codes.json',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/src/firewall.d.ts', 'schema/spec.json', 'schema/show.json',
  ]) t.true(files.includes(required), required);
  t.deepEqual(files.filter((file) => /^(test|bench|build|dist\/test|dist\/bench|\.ci)\//.test(file) || /fixtures|golden/.test(file)), []);
  // The library is its JavaScript and declarations only (a source map would point at TypeScript that is not shipped).
  t.deepEqual(files.filter((file) => file.startsWith('dist/') && !/^dist\/src\/.*(\.js|\.d\.ts)$/.test(file)), []);
  const modules = files.filter((file) => file.endsWith('.js') && file.startsWith('dist/'));
  t.deepEqual(modules.filter((file) => !files.includes(file.replace(/\.js$/, '.d.ts'))), []);
  t.deepEqual(files.filter((file) => !/^(dist\/src|native|schema)\//.test(file)).sort(), ['LICENSE', 'README.md', 'binding.gyp', 'package.json']);
  t.deepEqual(files.filter((file) => file.startsWith('schema/')).sort(), ['schema/show.json', 'schema/spec.json']);
});
