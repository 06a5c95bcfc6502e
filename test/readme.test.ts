/**
 * The README is the newcomer's only guide: its quick start is exactly the two
 * commands CI and the demo test rely on, and its API reference names every
 * export of the package.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The text of a `## TITLE` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) return '';
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

function exportedNames(): string[] {
  const entry = path.join(ROOT, 'src', 'index.ts');
  const program = ts.createProgram([entry], { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, strict: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(module).map((symbol) => symbol.name);
}

test('the quick start is two commands: the demo and the tests, each installing everything', (t) => {
  const block = /```sh\n([\s\S]*?)```/.exec(section('Quick start'))?.[1] ?? '';
  const commands = block.split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, ''));
  t.deepEqual(commands, ['bash .ci/quickstart demo', 'bash .ci/quickstart test']);
  t.regex(section('Quick start'), /root/);
  t.regex(section('Quick start'), /CAP_NET_ADMIN and CAP_SYS_ADMIN/);
});

test('the API reference names every export', (t) => {
  const reference = section('API reference');
  const missing = exportedNames().filter((name) => !reference.includes(`\`${name}\``));
  t.deepEqual(missing, []);
});

test('the architecture section maps every top-level folder', (t) => {
  const architecture = section('Architecture');
  for (const folder of ['native/', 'src/', 'test/', 'bench/', '.ci/']) t.true(architecture.includes(`\`${folder}\``), folder);
});
