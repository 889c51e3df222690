// What `slipway init` proposes for a folder: pure functions from a snapshot of the folder (its
// top-level names and the few files detection reads) to a pipeline, and from that to YAML text.
// Kept free of I/O so every detection rule is a table-driven unit test.

/** What detection looks at. Built by the command from the real folder, by tests from literals. */
export interface FolderSnapshot {
  /** the folder's base name: the default pipeline name and image repository */
  name: string;
  /** top-level entries; folders end with `/` (e.g. `tests/`) */
  entries: readonly string[];
  /** contents of the entries named in FILES_READ that exist, by name */
  files: Readonly<Record<string, string>>;
}

/** The files whose content detection reads; anything else is judged by its name alone. */
export const FILES_READ = [
  'package.json',
  '.nvmrc',
  '.node-version',
  'Dockerfile',
  'Containerfile',
  'Makefile',
  'makefile',
  'GNUmakefile',
  'go.mod',
  'requirements.txt',
  'Cargo.toml',
] as const;

export interface ProposedStep {
  name: string;
  run: string;
}

export interface ProposedStepsJob {
  kind: 'steps';
  name: string;
  /** one line written above the job */
  comment?: string;
  needs: string[];
  image: string;
  /** written beside the image: why this one, and that it can be changed */
  imageComment?: string;
  steps: ProposedStep[];
  cache?: { key: string; paths: string[] };
}

export interface ProposedBuildJob {
  kind: 'build';
  name: string;
  comment?: string;
  needs: string[];
  dockerfile: string;
  repository: string;
  tags: string[];
  args: Record<string, string>;
}

export type ProposedJob = ProposedStepsJob | ProposedBuildJob;

/** One thing detection found (or chose not to use), for the command to report. */
export interface Finding {
  file: string;
  message: string;
  /** false: seen but not turned into a job; `message` says why */
  used: boolean;
}

export interface ProposedPipeline {
  name: string;
  jobs: ProposedJob[];
  findings: Finding[];
  /** set when an image is built: the deploy job written as a commented-out suggestion */
  deployHint?: { buildJob: string; after: string; port?: number };
}

export interface DetectOptions {
  /** the pipeline name; default: the folder's name made valid */
  name?: string;
}

/** The default image of a Node project's test job: what real users have (our tests use node:20-slipway). */
export const DEFAULT_NODE_IMAGE = 'node:20';
/** Has make, a C toolchain and git: what a Makefile most often needs. */
export const DEFAULT_MAKE_IMAGE = 'buildpack-deps:bookworm';
export const DEFAULT_GO_IMAGE = 'golang:1';
export const DEFAULT_PYTHON_IMAGE = 'python:3.12';
export const DEFAULT_RUST_IMAGE = 'rust:1';
export const FALLBACK_IMAGE = 'busybox:latest';

// The same grammar the pipeline file accepts for `name:`.
const PIPELINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Whether `name` is accepted as a pipeline name (`--name`). */
export function isValidPipelineName(name: string): boolean {
  return PIPELINE_NAME.test(name);
}

/** A folder name made into a valid pipeline name. */
export function pipelineNameFrom(folder: string): string {
  // accents dropped rather than the letter: 'Ünïcode' → 'Unicode', not 'n-code'
  const cleaned = folder
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '').replace(/[-.]+$/, '');
  return cleaned === '' ? 'app' : cleaned;
}

/**
 * A name made into an image repository: Docker's reference grammar wants lower case, and
 * separators (`.`, `_`, `__`, `-`) only between letters and digits.
 */
export function repositoryNameFrom(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, (run) => (/^-+$/.test(run) ? run : '-'))
    .replace(/^[._-]+|[._-]+$/g, '');
  return cleaned === '' ? 'app' : cleaned;
}

/** Proposes a pipeline for the folder. Deterministic: the same snapshot gives the same pipeline. */
export function detectProject(folder: FolderSnapshot, options: DetectOptions = {}): ProposedPipeline {
  const name = options.name ?? pipelineNameFrom(folder.name);
  const has = (entry: string): boolean => folder.entries.includes(entry);
  const findings: Finding[] = [];

  // One test job per toolchain, in a fixed order so the output is stable.
  const testJobs: ProposedStepsJob[] = [];
  for (const detect of [detectNode, detectGo, detectPython, detectRust]) {
    const job = detect(folder, has, findings);
    if (job) testJobs.push(job);
  }
  const makefile = ['GNUmakefile', 'Makefile', 'makefile'].find(has);
  if (makefile) {
    if (testJobs.length > 0) {
      // A Makefile beside a language manifest mostly wraps that language's own commands, and
      // guessing which image has both toolchains would be wrong more often than right.
      findings.push({ file: makefile, message: 'not used: the language toolchain above is tested directly', used: false });
    } else {
      testJobs.push(detectMake(makefile, folder.files[makefile] ?? '', findings));
    }
  }
  if (testJobs.length > 1) {
    for (const job of testJobs) job.name = `test-${job.name}`;
  } else if (testJobs.length === 1) {
    testJobs[0]!.name = 'test';
  }

  const jobs: ProposedJob[] = [...testJobs];
  let deployHint: ProposedPipeline['deployHint'];
  const dockerfile = ['Dockerfile', 'Containerfile'].find(has);
  if (dockerfile) {
    const text = folder.files[dockerfile] ?? '';
    const repository = repositoryNameFrom(name);
    const args: Record<string, string> = {};
    // A VERSION build arg is the common way to stamp an image; the commit is the honest value.
    if (/^\s*ARG\s+VERSION(\s|=|$)/im.test(text)) args['VERSION'] = '${{ commit }}';
    jobs.push({
      kind: 'build',
      name: 'image',
      comment: `builds ${dockerfile} and pushes <registry>/${repository}:<commit sha>; later jobs use \${{ jobs.image.image }}`,
      needs: testJobs.map((job) => job.name),
      dockerfile,
      repository,
      tags: ['latest'],
      args,
    });
    const selftest = selftestPath(text, has);
    jobs.push({
      kind: 'steps',
      name: 'smoke',
      comment: 'runs the image that was just built: the image, not only the code, is tested',
      needs: ['image'],
      image: '${{ jobs.image.image }}',
      steps: [
        selftest
          ? { name: 'self-test of the image', run: selftest }
          : { name: 'placeholder: replace with a check of your image', run: 'echo "the image starts; replace this step with a real check"' },
      ],
    });
    const port = exposedPort(text);
    deployHint = port === undefined ? { buildJob: 'image', after: 'smoke' } : { buildJob: 'image', after: 'smoke', port };
    const extras = [Object.keys(args).length > 0 ? 'VERSION build arg set to the commit' : '', selftest ? `smoke test runs ${selftest}` : '']
      .filter(Boolean)
      .join('; ');
    findings.push({
      file: dockerfile,
      message: `image build job 'image' (repository ${repository}) and smoke test job 'smoke'${extras ? ` (${extras})` : ''}`,
      used: true,
    });
  }

  if (jobs.length === 0) {
    findings.push({ file: '(nothing)', message: `no Dockerfile, package.json, Makefile, go.mod, requirements.txt or Cargo.toml: a minimal pipeline with one ${FALLBACK_IMAGE} job`, used: true });
    jobs.push({
      kind: 'steps',
      name: 'hello',
      comment: 'nothing to build or test was detected: replace this job with your own',
      needs: [],
      image: FALLBACK_IMAGE,
      steps: [{ name: 'say hello', run: `echo "hello from ${name}"` }],
    });
  }
  return deployHint ? { name, jobs, findings, deployHint } : { name, jobs, findings };
}

type Has = (entry: string) => boolean;

interface PackageJson {
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  packageManager?: unknown;
}

// What `npm init` writes: a test script that always fails is no test.
const NPM_PLACEHOLDER_TEST = /no test specified/;

function detectNode(folder: FolderSnapshot, has: Has, findings: Finding[]): ProposedStepsJob | undefined {
  const text = folder.files['package.json'];
  if (text === undefined) return undefined;
  let pkg: PackageJson;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    pkg = parsed as PackageJson;
  } catch (err) {
    findings.push({ file: 'package.json', message: `not used: it is not valid JSON (${(err as Error).message})`, used: false });
    return undefined;
  }
  const scripts = pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {};
  const hasScript = (name: string): boolean => typeof scripts[name] === 'string' && (scripts[name] as string).trim() !== '';
  const packageManager = typeof pkg.packageManager === 'string' ? pkg.packageManager : '';

  type Manager = { install: string; run: (script: string) => string; lock: string };
  let manager: Manager | undefined;
  const corepack = 'corepack enable && ';
  if (has('pnpm-lock.yaml') || packageManager.startsWith('pnpm@')) {
    manager = { install: `${corepack}pnpm install --frozen-lockfile`, run: (s) => `pnpm run ${s}`, lock: 'pnpm-lock.yaml' };
  } else if (has('yarn.lock') || packageManager.startsWith('yarn@')) {
    manager = { install: `${corepack}yarn install --frozen-lockfile`, run: (s) => `yarn run ${s}`, lock: 'yarn.lock' };
  } else if (has('package-lock.json') || has('npm-shrinkwrap.json')) {
    manager = { install: 'npm ci', run: (s) => (s === 'test' ? 'npm test' : `npm run ${s}`), lock: has('package-lock.json') ? 'package-lock.json' : 'npm-shrinkwrap.json' };
  }
  const dependencyCount = Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.devDependencies ?? {}).length;
  const run = manager?.run ?? ((s: string) => (s === 'test' ? 'npm test' : `npm run ${s}`));

  const steps: ProposedStep[] = [];
  if (manager) steps.push({ name: 'install dependencies', run: manager.install });
  else if (dependencyCount > 0) steps.push({ name: 'install dependencies', run: 'npm install' });
  // lint and type checks fail fastest; tests may need what the build makes
  for (const script of ['lint', 'typecheck', 'build']) {
    if (hasScript(script)) steps.push({ name: script, run: run(script) });
  }
  const notes: string[] = [];
  if (hasScript('test') && !NPM_PLACEHOLDER_TEST.test(String(scripts['test']))) steps.push({ name: 'test', run: run('test') });
  else notes.push(hasScript('test') ? "the test script is npm's placeholder" : 'no test script');

  const scriptSteps = steps.filter((step) => step.name !== 'install dependencies');
  if (scriptSteps.length === 0) {
    findings.push({ file: 'package.json', message: 'not used: no test, lint, typecheck or build script to run', used: false });
    return undefined;
  }
  const image = nodeImage(folder);
  const job: ProposedStepsJob = {
    kind: 'steps',
    name: 'node',
    needs: [],
    image: image.image,
    imageComment: image.why,
    steps,
  };
  if (manager) job.cache = { key: manager.lock, paths: ['node_modules'] };
  findings.push({
    file: 'package.json',
    message: `test job on ${image.image}: ${steps.map((step) => step.run).join(', ')}${job.cache ? ` (cache keyed on ${job.cache.key})` : ''}${notes.length ? `; ${notes.join(', ')}` : ''}`,
    used: true,
  });
  return job;
}

function nodeImage(folder: FolderSnapshot): { image: string; why: string } {
  for (const file of ['.nvmrc', '.node-version']) {
    const major = /^\s*v?(\d+)(\.|\s|$)/.exec(folder.files[file] ?? '')?.[1];
    if (major) return { image: `node:${major}`, why: `from ${file}; any image with node and npm works` };
  }
  return { image: DEFAULT_NODE_IMAGE, why: 'any image with node and npm works: change it as you need' };
}

function detectGo(folder: FolderSnapshot, _has: Has, findings: Finding[]): ProposedStepsJob | undefined {
  const text = folder.files['go.mod'];
  if (text === undefined) return undefined;
  const version = /^go\s+(\d+\.\d+)/m.exec(text)?.[1];
  const image = version ? `golang:${version}` : DEFAULT_GO_IMAGE;
  const steps = [
    { name: 'vet', run: 'go vet ./...' },
    { name: 'test', run: 'go test ./...' },
  ];
  findings.push({ file: 'go.mod', message: `test job on ${image}: ${steps.map((s) => s.run).join(', ')}`, used: true });
  return {
    kind: 'steps',
    name: 'go',
    needs: [],
    image,
    imageComment: version ? 'the go version of go.mod' : 'any image with the go toolchain works',
    steps,
  };
}

function detectPython(folder: FolderSnapshot, has: Has, findings: Finding[]): ProposedStepsJob | undefined {
  const text = folder.files['requirements.txt'];
  if (text === undefined) return undefined;
  const usesPytest = /^\s*pytest\b/im.test(text);
  // A virtual environment inside the workspace is what makes the installed packages cacheable:
  // the cache only holds workspace paths.
  const steps = [
    { name: 'virtual environment', run: 'python -m venv .venv' },
    { name: 'install dependencies', run: '.venv/bin/pip install -r requirements.txt' },
    usesPytest || has('pytest.ini') || has('conftest.py')
      ? { name: 'test', run: '.venv/bin/python -m pytest' }
      : { name: 'test', run: '.venv/bin/python -m unittest discover' },
  ];
  findings.push({ file: 'requirements.txt', message: `test job on ${DEFAULT_PYTHON_IMAGE}: ${steps.map((s) => s.run).join(', ')} (cache keyed on requirements.txt)`, used: true });
  return {
    kind: 'steps',
    name: 'python',
    needs: [],
    image: DEFAULT_PYTHON_IMAGE,
    imageComment: 'any image with python 3 works: change it as you need',
    steps,
    cache: { key: 'requirements.txt', paths: ['.venv'] },
  };
}

function detectRust(folder: FolderSnapshot, has: Has, findings: Finding[]): ProposedStepsJob | undefined {
  if (folder.files['Cargo.toml'] === undefined) return undefined;
  const locked = has('Cargo.lock') ? ' --locked' : '';
  const steps = [{ name: 'test', run: `cargo test${locked}` }];
  const job: ProposedStepsJob = {
    kind: 'steps',
    name: 'rust',
    needs: [],
    image: DEFAULT_RUST_IMAGE,
    imageComment: 'any image with cargo works: change it as you need',
    steps,
  };
  if (locked) job.cache = { key: 'Cargo.lock', paths: ['target'] };
  findings.push({ file: 'Cargo.toml', message: `test job on ${DEFAULT_RUST_IMAGE}: ${steps[0]!.run}${job.cache ? ' (cache keyed on Cargo.lock)' : ''}`, used: true });
  return job;
}

function detectMake(file: string, text: string, findings: Finding[]): ProposedStepsJob {
  const targets = makeTargets(text);
  const run = targets.has('test') ? 'make test' : targets.has('check') ? 'make check' : 'make';
  findings.push({ file, message: `test job on ${DEFAULT_MAKE_IMAGE}: ${run}`, used: true });
  return {
    kind: 'steps',
    name: 'make',
    needs: [],
    image: DEFAULT_MAKE_IMAGE,
    imageComment: 'has make and a C toolchain: change it to the image your build needs',
    steps: [{ name: run, run }],
  };
}

/** The explicit targets of a Makefile (`name:` at the start of a line, not `name :=`). */
export function makeTargets(text: string): Set<string> {
  const targets = new Set<string>();
  for (const match of text.matchAll(/^([A-Za-z0-9_./-]+(?:[ \t]+[A-Za-z0-9_./-]+)*)[ \t]*::?(?!=)/gm)) {
    for (const target of match[1]!.split(/[ \t]+/)) targets.add(target);
  }
  return targets;
}

/** The first port an EXPOSE line names (`EXPOSE 8080`, `EXPOSE 8080/tcp`). */
export function exposedPort(dockerfile: string): number | undefined {
  const value = /^\s*EXPOSE\s+(\d+)/im.exec(dockerfile)?.[1];
  const port = value === undefined ? NaN : Number(value);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

// An executable named `selftest` beside the Dockerfile, copied into an absolute WORKDIR, is the
// convention of our examples; when both are there, the smoke test can run it.
function selftestPath(dockerfile: string, has: Has): string | undefined {
  if (!has('selftest')) return undefined;
  const workdirs = [...dockerfile.matchAll(/^\s*WORKDIR\s+(\/\S*)\s*$/gim)].map((m) => m[1]!);
  const workdir = workdirs.at(-1);
  if (!workdir || !/^\s*(COPY|ADD)\s.*\bselftest\b|^\s*(COPY|ADD)\s+(--\S+\s+)*\.\s/im.test(dockerfile)) return undefined;
  return `${workdir.replace(/\/+$/, '')}/selftest`;
}

// --- YAML text ----------------------------------------------------------------------------------

export interface RenderOptions {
  /** written as `# yaml-language-server: $schema=…` so editors complete and check the file */
  schema?: string;
}

/** The pipeline as the text of a slipway.yaml, with comments that explain the choices. */
export function renderPipeline(pipeline: ProposedPipeline, options: RenderOptions = {}): string {
  const out: string[] = [];
  if (options.schema) out.push(`# yaml-language-server: $schema=${options.schema}`);
  out.push(`# Written by \`slipway init\`; detected: ${detectedList(pipeline)}.`);
  out.push('# Check it with `slipway validate`, run it here with `slipway run`.');
  out.push('version: 1');
  out.push(`name: ${scalar(pipeline.name)}`);
  out.push('# on: { push: { branches: [main] } }   # omitted: a push to any branch starts a run');
  out.push('jobs:');
  pipeline.jobs.forEach((job, index) => {
    if (index > 0) out.push('');
    if (job.comment) out.push(`  # ${job.comment}`);
    out.push(`  ${job.name}:`);
    if (job.needs.length > 0) out.push(`    needs: ${flowList(job.needs)}`);
    if (job.kind === 'steps') renderStepsJob(job, out);
    else renderBuildJob(job, out);
  });
  if (pipeline.deployHint) renderDeployHint(pipeline.deployHint, out);
  return `${out.join('\n')}\n`;
}

function renderStepsJob(job: ProposedStepsJob, out: string[]): void {
  out.push(`    image: ${scalar(job.image)}${job.imageComment ? `   # ${job.imageComment}` : ''}`);
  out.push('    steps:');
  for (const step of job.steps) {
    out.push(`      - name: ${scalar(step.name)}`);
    out.push(`        run: ${scalar(step.run)}`);
  }
  if (job.cache) out.push(`    cache: { key: ${scalar(job.cache.key)}, paths: ${flowList(job.cache.paths)} }`);
}

function renderBuildJob(job: ProposedBuildJob, out: string[]): void {
  out.push('    build:');
  out.push('      context: .');
  out.push(`      dockerfile: ${scalar(job.dockerfile)}`);
  out.push(`      repository: ${scalar(job.repository)}`);
  if (job.tags.length > 0) out.push(`      tags: ${flowList(job.tags)}`);
  const args = Object.entries(job.args);
  if (args.length > 0) {
    out.push('      args:');
    for (const [key, value] of args) out.push(`        ${key}: ${scalar(value)}`);
  }
}

function renderDeployHint(hint: NonNullable<ProposedPipeline['deployHint']>, out: string[]): void {
  const port = hint.port ?? 8080;
  out.push('');
  out.push('  # Uncomment to roll the image out with the docker target on this machine (main only):');
  out.push('  # deploy:');
  out.push(`  #   needs: [${hint.after}]`);
  out.push("  #   if: ${{ branch == 'main' }}");
  out.push('  #   deploy:');
  out.push('  #     environment: production');
  out.push(`  #     image: \${{ jobs.${hint.buildJob}.image }}`);
  out.push('  #     replicas: 2');
  out.push(`  #     port: ${port}${hint.port === undefined ? '   # the port your app listens on (no EXPOSE found)' : '   # from the EXPOSE of the Dockerfile'}`);
  out.push('  #     health: { path: /healthz }   # omitted: healthy when the port accepts connections');
}

function detectedList(pipeline: ProposedPipeline): string {
  const used = pipeline.findings.filter((f) => f.used && f.file !== '(nothing)').map((f) => f.file);
  return used.length > 0 ? used.join(', ') : 'nothing to build or test';
}

function flowList(items: readonly string[]): string {
  return `[${items.map(scalar).join(', ')}]`;
}

// Words YAML 1.1 readers (and some editors) take for booleans, null, infinity or not-a-number.
const YAML_WORDS = /^(true|false|yes|no|on|off|y|n|null|~|[-+]?\.inf|\.nan)$/i;
const YAML_NUMBER = /^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$|^0[xo]/i;

/**
 * A string as a YAML scalar: plain when that reads back as the same string, otherwise
 * double-quoted (a JSON string is a valid YAML double-quoted scalar).
 */
export function scalar(value: string): string {
  const isPlain =
    /^[A-Za-z0-9_./][A-Za-z0-9_ ./:=@+-]*$/.test(value) &&
    !/:( |$)/.test(value) &&
    !/\s$/.test(value) &&
    !YAML_WORDS.test(value) &&
    !YAML_NUMBER.test(value);
  return isPlain ? value : JSON.stringify(value);
}
