// Writes schema/slipway.schema.json from the TypeBox definition; run by `npm run build` so the
// published schema can never drift from what the validator accepts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipelineJsonSchema } from './schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const target = path.join(root, 'schema', 'slipway.schema.json');
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
