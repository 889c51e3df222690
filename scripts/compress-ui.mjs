// Precompresses the built UI's assets (dist/ui/assets/*.{js,css,svg,json}) as .br and .gz siblings,
// so the server sends them compressed without compressing per request; prints the initial
// JavaScript size (what the 100 KB gzipped budget is about).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../dist/ui');
const assets = path.join(dir, 'assets');
let initialGzip = 0;
const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
for (const name of readdirSync(assets)) {
  if (!/\.(js|css|svg|json|map)$/.test(name)) continue;
  const file = path.join(assets, name);
  const body = readFileSync(file);
  const gz = gzipSync(body, { level: 9 });
  writeFileSync(`${file}.gz`, gz);
  writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
  // what index.html loads at once (not the chunks pages import later)
  if (name.endsWith('.js') && html.includes(`/assets/${name}`)) initialGzip += gz.length;
}
console.log(`ui: initial JavaScript ${(initialGzip / 1024).toFixed(1)} KB gzipped (budget 100 KB)`);
if (initialGzip > 100 * 1024) {
  console.error('ui: the initial JavaScript is over its 100 KB gzipped budget');
  process.exit(1);
}
