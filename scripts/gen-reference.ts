/** Regenerates the README's YAML reference from the schema. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReference, spliceReference } from './reference.js';

const schema = JSON.parse(readFileSync(new URL('../schemas/migration.schema.json', import.meta.url), 'utf8')) as Parameters<
  typeof renderReference
>[0];
const readmeUrl = new URL('../README.md', import.meta.url);
writeFileSync(readmeUrl, spliceReference(readFileSync(readmeUrl, 'utf8'), renderReference(schema)));
