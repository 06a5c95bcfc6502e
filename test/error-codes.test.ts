/**
 * The error codes have one table, native/error_codes.json: binding.gyp
 * generates the addon's header from it (native/error_codes.js). This keeps
 * the codes' TypeScript type, NetfilterErrorCode in src/errors.ts, in step.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const TABLE: { errno: string[]; named: Record<string, string> } = JSON.parse(readFileSync(path.join(ROOT, 'native', 'error_codes.json'), 'utf8'));
/** Codes the TypeScript side raises itself, and the addon's fallback for an errno the table lacks. */
const OWN_CODES = ['ECONFLICT', 'ENOFORWARDING', 'UNKNOWN'];

function typedCodes(): string[] {
  const file = path.join(ROOT, 'src', 'errors.ts');
  const program = ts.createProgram([file], { strict: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const symbol = checker.getExportsOfModule(module).find((exported) => exported.name === 'NetfilterErrorCode')!;
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  return (type.isUnion() ? type.types : [type]).map((member) => (member as ts.StringLiteralType).value);
}

test('NetfilterErrorCode names exactly the codes of native/error_codes.json and bridgewall\'s own', (t) => {
  const table = [...TABLE.errno, ...Object.values(TABLE.named), ...OWN_CODES];
  t.is(new Set(table).size, table.length, 'no code twice');
  t.deepEqual(typedCodes().sort(), table.sort());
});
