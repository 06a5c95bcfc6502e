/** The package's JSON Schemas (schema/), compiled by Ajv for draft 2020-12: a check returns the errors, none when valid. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';

const SCHEMA_DIR = path.resolve(__dirname, '..', '..', '..', 'schema');

export function schemaText(name: 'spec' | 'show'): string {
  return readFileSync(path.join(SCHEMA_DIR, `${name}.json`), 'utf8');
}

/**
 * `strict`: a keyword Ajv does not know, or a schema that contradicts itself,
 * fails the compile; but `required` may name properties declared beside the
 * `anyOf` / `oneOf` it is in (one of two subnets, text or why none).
 */
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });

export function schemaCheck(name: 'spec' | 'show'): (value: unknown) => string[] {
  const validate = ajv.compile(JSON.parse(schemaText(name)));
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`));
}
