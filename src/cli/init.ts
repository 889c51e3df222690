// `slipway init`: looks at a folder, proposes a pipeline for it (detect.ts) and writes it as
// slipway.yaml, or prints it. Never overwrites a pipeline someone wrote unless told to.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { detectProject, FILES_READ, isValidPipelineName, renderPipeline, type FolderSnapshot, type ProposedPipeline } from './detect.js';
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO, type Command } from './io.js';

export const PIPELINE_FILE = 'slipway.yaml';

// Detection reads a handful of small manifests; a bigger file is not one of them.
const MAX_READ_BYTES = 1024 * 1024;

const HELP = `usage: slipway init [DIR] [--name NAME] [--force] [--print] [--schema REF]

Writes a slipway.yaml for the repository in DIR (default: the current folder), from what it finds:
  Dockerfile          a job that builds and pushes the image, and a smoke test that runs it
  package.json        a test job: npm ci (or yarn/pnpm), lint, typecheck, build, test scripts
  go.mod, requirements.txt, Cargo.toml
                      a test job with the toolchain's usual commands
  Makefile            make test (or make) when no language manifest is found
  nothing             a minimal pipeline with one busybox job

options:
  --name NAME     the pipeline name (default: the folder's name)
  --force, -f     overwrite an existing slipway.yaml
  --print         write the pipeline to stdout instead of the file
  --schema REF    the JSON Schema named in the file's first line, for editors
                  (default: the schema shipped with slipway; 'none' leaves the line out)
  --help, -h      this help
`;

export const init: Command = async (argv, io) => {
  const { values, positionals } = parseFlags(argv);
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one folder, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.name !== undefined && !isValidPipelineName(values.name)) {
    throw new UsageError(`--name '${values.name}' is not a pipeline name: use letters, digits, _ . - (starting with a letter or digit)`);
  }

  const folder = path.resolve(io.cwd, positionals[0] ?? '.');
  const folderStat = await stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new UsageError(`${folder} is not a folder`);

  const snapshot = await readFolder(folder);
  const pipeline = detectProject(snapshot, values.name !== undefined ? { name: values.name } : {});
  const schema = values.schema === 'none' ? undefined : (values.schema ?? defaultSchemaRef(folder));
  const text = renderPipeline(pipeline, schema !== undefined ? { schema } : {});

  if (values.print) {
    // stdout carries only the YAML, so `slipway init --print > x.yaml` works; the report goes aside
    io.stdout.write(text);
    io.stderr.write(report(pipeline));
    return EXIT_OK;
  }

  const target = path.join(folder, PIPELINE_FILE);
  const shown = path.relative(io.cwd, target) || PIPELINE_FILE;
  try {
    // 'wx' fails if the file exists: the check and the write are one step, so nothing written
    // meanwhile by someone else is lost
    await writeFile(target, text, { flag: values.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      io.stderr.write(
        `slipway init: ${shown} already exists; not overwritten.\n` +
          `  --force replaces it, --print shows the proposal without writing.\n`,
      );
      return EXIT_USAGE;
    }
    throw err;
  }
  io.stdout.write(report(pipeline));
  io.stdout.write(`wrote ${shown} (jobs: ${pipeline.jobs.map((job) => job.name).join(', ')})\n`);
  io.stdout.write(`next: 'slipway validate' checks it, 'slipway run' runs it here\n`);
  return EXIT_OK;
};

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        force: { type: 'boolean', short: 'f' },
        print: { type: 'boolean' },
        schema: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
}

/** The folder's top-level names and the contents of the files detection reads. */
export async function readFolder(folder: string): Promise<FolderSnapshot> {
  const dirents = await readdir(folder, { withFileTypes: true });
  const entries = dirents.map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
  const files: Record<string, string> = {};
  const wanted = new Set<string>(FILES_READ);
  for (const dirent of dirents) {
    if (!wanted.has(dirent.name) || dirent.isDirectory()) continue;
    const file = path.join(folder, dirent.name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || info.size > MAX_READ_BYTES) continue;
    files[dirent.name] = await readFile(file, 'utf8');
  }
  return { name: path.basename(folder), entries, files };
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const packageSchema = path.join(packageRoot, 'schema', 'slipway.schema.json');

/**
 * Where the editor finds the schema: relative when the folder and the slipway package are one
 * inside the other (a project with slipway in node_modules; our own examples), so the line holds
 * for everyone who checks the repository out; otherwise this machine's absolute path.
 */
export function defaultSchemaRef(folder: string): string {
  const relative = path.relative(folder, packageSchema);
  const related = !relative.startsWith('..') || !path.relative(packageRoot, folder).startsWith('..');
  return related ? relative.split(path.sep).join('/') : packageSchema;
}

function report(pipeline: ProposedPipeline): string {
  const lines = pipeline.findings.map((f) => `  ${f.used ? '+' : '-'} ${f.file}: ${f.message}`);
  return `detected:\n${lines.join('\n')}\n`;
}

