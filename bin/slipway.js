#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// `validate` is a process of a few hundred milliseconds: V8's optimizing compiler would spend more
// CPU compiling the YAML parser than the optimized code could save before the process ends.
if (process.argv[2] === 'validate') setFlagsFromString('--no-opt');
const { main } = await import('../dist/src/cli/main.js');

if (process.env.SLIPWAY_REPORT_MAX_RSS) {
  // for tests and benchmarks that check memory stays bounded
  process.on('exit', () => process.stderr.write(`slipway-max-rss-kb: ${process.resourceUsage().maxRSS}\n`));
}
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
