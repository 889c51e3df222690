// A node test reporter that writes, at the end, how long each test file's top-level tests took
// (seconds, rounded), as JSON keyed by the file's path under dist/ without `.test.js`. The test
// command merges its lanes' into dist/test-durations.json; scripts/test-durations.json, a copy
// from a CI run, orders the next runs longest first.
import path from 'node:path';

export default async function* durations(source) {
  const dist = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dist') + path.sep;
  const seconds = {};
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0 || !event.data.file) continue;
    const key = event.data.file.replace(dist, '').replace(/\.test\.js$/, '');
    seconds[key] = (seconds[key] ?? 0) + (event.data.details?.duration_ms ?? 0) / 1000;
  }
  const rounded = Object.fromEntries(Object.entries(seconds).map(([key, s]) => [key, Math.round(s * 10) / 10]));
  yield `${JSON.stringify(rounded)}\n`;
}
