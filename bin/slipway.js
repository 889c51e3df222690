#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

if (process.env.SLIPWAY_REPORT_MAX_RSS) {
  // for tests and benchmarks that check memory stays bounded
  process.on('exit', () => process.stderr.write(`slipway-max-rss-kb: ${process.resourceUsage().maxRSS}\n`));
}
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
