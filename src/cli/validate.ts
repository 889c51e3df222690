// `slipway validate [FILE] [--json]`: checks a pipeline file and prints every problem as
// file:line:col, with a code frame on a terminal. Exit 0 valid, 2 invalid or unreadable, whatever
// the file holds: the spec front end reports problems and never throws.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_OK, EXIT_USAGE, UsageError, type Command } from './io.js';
import { checkPipelineFile, formatDiagnostic, formatDiagnostics } from '../spec/index.js';

const USAGE = `usage: slipway validate [FILE] [--json]

Checks a pipeline file (default: slipway.yaml in this folder) and prints every problem as
file:line:col: message. Exit status: 0 valid, 2 invalid.

options:
  --json     print the result as JSON on stdout: { file, valid, jobs, expandedJobs, diagnostics }
  -h, --help show this help
`;

export const validate: Command = async (argv, io) => {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (parsed.positionals.length > 1) throw new UsageError(`takes one file, got ${parsed.positionals.length}\n\n${USAGE}`);
  const file = parsed.positionals[0] ?? 'slipway.yaml';
  const result = await checkPipelineFile(path.resolve(io.cwd, file), { displayName: file });
  const { valid } = result;

  if (parsed.values.json) {
    const report = { file, valid, jobs: result.jobs, ...(result.expandedJobs ? { expandedJobs: result.expandedJobs } : {}), diagnostics: result.diagnostics };
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return valid ? EXIT_OK : EXIT_USAGE;
  }

  const missing = result.diagnostics.find((d) => d.code === 'SPEC_FILE');
  if (missing && file === 'slipway.yaml' && parsed.positionals.length === 0) {
    io.stderr.write(`${formatDiagnostic(missing)}\n(run 'slipway init' to write one, or name the file: slipway validate FILE)\n`);
    return EXIT_USAGE;
  }
  if (result.diagnostics.length > 0) {
    if (io.stderr.isTTY && !io.env.NO_COLOR) {
      // The frames show the text that was checked (a pipe or /dev/stdin cannot be read twice).
      const source = result.text;
      io.stderr.write(formatDiagnostics(result.diagnostics, { color: true, ...(source !== undefined ? { source } : {}) }));
    } else {
      io.stderr.write(result.diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join(''));
    }
  }
  if (!valid) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    io.stderr.write(`${file}: ${errors} error${errors === 1 ? '' : 's'}\n`);
    return EXIT_USAGE;
  }
  const { jobs, expandedJobs = [] } = result;
  // matrix jobs run as one job per combination: say how many, and name them
  const combinations = expandedJobs.filter((name) => name.includes(' ('));
  const expanded = combinations.length > 0 ? `; ${expandedJobs.length} once matrices are expanded` : '';
  io.stdout.write(`${file} is valid (${jobs} job${jobs === 1 ? '' : 's'}${expanded})\n${combinations.map((name) => `  ${name}\n`).join('')}`);
  return EXIT_OK;
};
