// Writes the addon's error-code header from native/error_codes.json, the one
// table of the codes the addon reports (src/errors.ts types them for callers;
// test/error-codes.test.ts keeps the two in step). binding.gyp runs it before
// compiling: node native/error_codes.js native/error_codes.json OUT.h
'use strict';
const fs = require('node:fs');

const [input, output] = process.argv.slice(2);
const { errno, named } = JSON.parse(fs.readFileSync(input, 'utf8'));
const isCode = (code) => /^E[A-Z0-9]+$/.test(code);
if (!errno.every(isCode) || !Object.values(named).every(isCode) || !Object.keys(named).every((name) => /^k[A-Za-z]+$/.test(name))) {
  throw new Error(`${input}: codes are E followed by capitals and digits, named codes' constants kName`);
}
const header = [
  `// Generated from ${input} by native/error_codes.js when the addon is built: edit the JSON.`,
  '#pragma once',
  '',
  '// The errnos reported by their name (X(EPERM) ...); any other reads "UNKNOWN".',
  `#define BRIDGEWALL_ERRNO_CODES(X) ${errno.map((code) => `X(${code})`).join(' ')}`,
  '',
  'namespace bridgewall {',
  '// Codes that name a condition rather than an errno (the errno is kept beside them).',
  ...Object.entries(named).map(([name, code]) => `inline constexpr const char ${name}[] = "${code}";`),
  '}  // namespace bridgewall',
  '',
].join('\n');
// Written only when it changes, so a rebuild does not recompile every file including error.h.
if (!fs.existsSync(output) || fs.readFileSync(output, 'utf8') !== header) fs.writeFileSync(output, header);
