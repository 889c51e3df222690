// Paths of the repository from a compiled test (dist/test/...), so fixtures resolve the same way
// whatever folder the test runner was started in.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const slipwayBin = path.join(repoRoot, 'bin', 'slipway.js');
export const examplesDir = path.join(repoRoot, 'examples');
