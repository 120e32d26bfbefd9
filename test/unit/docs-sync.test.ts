/** The committed schema and the README's YAML reference are generated, and kept current. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, renderReference } from '../../scripts/reference.js';
import { ROOT } from '../setup/cli.js';

describe('generated docs are current', () => {
  it('schemas/migration.schema.json matches scripts/schema-src.mjs', async () => {
    const committed = readFileSync(join(ROOT, 'schemas', 'migration.schema.json'), 'utf8');
    const { schemaText } = (await import('../../scripts/schema-src.mjs')) as { schemaText: string };
    expect(committed).toBe(schemaText);
  });

  it('src/config/validators.generated.ts is the schema compiled by ajv (run `npm run gen:schema`)', async () => {
    const committed = readFileSync(join(ROOT, 'src', 'config', 'validators.generated.ts'), 'utf8');
    const { validatorsText } = (await import('../../scripts/schema-src.mjs')) as { validatorsText: () => Promise<string> };
    expect(committed).toBe(await validatorsText());
  });

  it('README YAML reference equals the schema (run `npm run gen:reference`)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'migration.schema.json'), 'utf8')) as Parameters<
      typeof renderReference
    >[0];
    const block = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END) + END.length);
    expect(block).toBe(renderReference(schema));
  });
});
