// `slipway init`: the detection rules (pure, over literal folder snapshots), the YAML they become
// (read back, and checked by the pipeline validator), and the command in real temporary folders.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { parsePipeline } from '../spec/index.js';
import { examplesDir } from '../../test/support/paths.js';
import {
  detectProject,
  exposedPort,
  makeTargets,
  pipelineNameFrom,
  renderPipeline,
  repositoryNameFrom,
  scalar,
  type FolderSnapshot,
  type ProposedPipeline,
  type ProposedStepsJob,
} from './detect.js';
import { defaultSchemaRef, init, readFolder } from './init.js';
import type { CliIO } from './io.js';

// --- fixtures -----------------------------------------------------------------------------------

function snapshot(name: string, files: Record<string, string>, extraEntries: string[] = []): FolderSnapshot {
  return { name, entries: [...Object.keys(files), ...extraEntries].sort(), files };
}

const DOCKERFILE = 'FROM node:20\nWORKDIR /app\nCOPY . .\nARG VERSION=dev\nEXPOSE 3000\nCMD ["node", "server.js"]\n';
const PACKAGE_JSON = JSON.stringify({
  name: 'shop',
  scripts: { lint: 'eslint .', build: 'tsc', test: 'node --test' },
  devDependencies: { typescript: '^5' },
});

/** Every variant detection can produce: each must validate with no diagnostics. */
const VARIANTS: Record<string, FolderSnapshot> = {
  empty: snapshot('empty-repo', {}),
  dockerfileOnly: snapshot('My App', { Dockerfile: 'FROM busybox:latest\nCMD ["sh"]\n' }),
  nodeNpm: snapshot('shop', { 'package.json': PACKAGE_JSON }, ['package-lock.json']),
  nodeYarn: snapshot('shop', { 'package.json': PACKAGE_JSON }, ['yarn.lock']),
  nodePnpmWithNvmrc: snapshot('shop', { 'package.json': PACKAGE_JSON, '.nvmrc': 'v22.3.0\n' }, ['pnpm-lock.yaml']),
  nodeNoLock: snapshot('shop', { 'package.json': JSON.stringify({ scripts: { test: 'node --test' } }) }),
  nodeAndDocker: snapshot('shop', { 'package.json': PACKAGE_JSON, Dockerfile: DOCKERFILE }, ['package-lock.json']),
  makefile: snapshot('tool', { Makefile: 'CC := gcc\nall: tool\ntool: main.c\n\t$(CC) -o tool main.c\ntest: tool\n\t./tool --selftest\n' }),
  makefileNoTest: snapshot('tool', { Makefile: 'all:\n\techo hi\n' }),
  go: snapshot('svc', { 'go.mod': 'module example.com/svc\n\ngo 1.22.4\n' }),
  python: snapshot('py', { 'requirements.txt': 'flask==3.0\npytest>=8\n' }, ['tests/']),
  rust: snapshot('rs', { 'Cargo.toml': '[package]\nname = "rs"\n' }, ['Cargo.lock']),
  polyglotWithDocker: snapshot('mono', {
    'package.json': PACKAGE_JSON,
    'go.mod': 'module m\n\ngo 1.21\n',
    Makefile: 'test:\n\tgo test ./...\n',
    Containerfile: 'FROM scratch\nEXPOSE 9000/tcp\n',
  }, ['package-lock.json']),
  oddName: snapshot('--Weird Name__!', { Dockerfile: 'FROM busybox:latest\n' }),
};

function jobNames(pipeline: ProposedPipeline): string[] {
  return pipeline.jobs.map((job) => job.name);
}

function stepsJob(pipeline: ProposedPipeline, name: string): ProposedStepsJob {
  const job = pipeline.jobs.find((j) => j.name === name);
  assert.ok(job && job.kind === 'steps', `no steps job '${name}' in ${jobNames(pipeline).join(', ')}`);
  return job;
}

function runs(job: ProposedStepsJob): string[] {
  return job.steps.map((step) => step.run);
}

// --- detection ----------------------------------------------------------------------------------

describe('detectProject', () => {
  test('an empty folder gets one busybox job named after the folder', () => {
    const p = detectProject(VARIANTS['empty']!);
    assert.equal(p.name, 'empty-repo');
    assert.deepEqual(jobNames(p), ['hello']);
    assert.equal(stepsJob(p, 'hello').image, 'busybox:latest');
    assert.equal(p.deployHint, undefined);
  });

  test('a Dockerfile gives a build job with the folder as repository, and a smoke job on its image', () => {
    const p = detectProject(VARIANTS['dockerfileOnly']!);
    assert.equal(p.name, 'My-App');
    assert.deepEqual(jobNames(p), ['image', 'smoke']);
    const build = p.jobs[0]!;
    assert.equal(build.kind, 'build');
    assert.equal(build.kind === 'build' && build.repository, 'my-app');
    assert.deepEqual(build.needs, []);
    const smoke = stepsJob(p, 'smoke');
    assert.equal(smoke.image, '${{ jobs.image.image }}');
    assert.deepEqual(smoke.needs, ['image']);
    assert.deepEqual(p.deployHint, { buildJob: 'image', after: 'smoke' });
  });

  test('ARG VERSION in the Dockerfile becomes a build arg set to the commit, EXPOSE the deploy port', () => {
    const p = detectProject(VARIANTS['nodeAndDocker']!);
    const build = p.jobs.find((j) => j.kind === 'build');
    assert.ok(build?.kind === 'build');
    assert.deepEqual(build.args, { VERSION: '${{ commit }}' });
    assert.deepEqual(build.needs, ['test'], 'the image is built only after the code passed its tests');
    assert.equal(p.deployHint?.port, 3000);
  });

  test('package.json with a lock file: npm ci, then lint, build, test, cached on the lock file', () => {
    const p = detectProject(VARIANTS['nodeNpm']!);
    const job = stepsJob(p, 'test');
    assert.equal(job.image, 'node:20');
    assert.match(job.imageComment ?? '', /change/);
    assert.deepEqual(runs(job), ['npm ci', 'npm run lint', 'npm run build', 'npm test']);
    assert.deepEqual(job.cache, { key: 'package-lock.json', paths: ['node_modules'] });
  });

  test('yarn.lock and pnpm-lock.yaml pick their package manager; .nvmrc picks the node image', () => {
    assert.deepEqual(runs(stepsJob(detectProject(VARIANTS['nodeYarn']!), 'test')), [
      'corepack enable && yarn install --frozen-lockfile',
      'yarn run lint',
      'yarn run build',
      'yarn run test',
    ]);
    const pnpm = stepsJob(detectProject(VARIANTS['nodePnpmWithNvmrc']!), 'test');
    assert.equal(pnpm.image, 'node:22');
    assert.equal(pnpm.steps[0]!.run, 'corepack enable && pnpm install --frozen-lockfile');
    assert.deepEqual(pnpm.cache, { key: 'pnpm-lock.yaml', paths: ['node_modules'] });
  });

  test('package.json without a lock file or dependencies runs its scripts without install or cache', () => {
    const job = stepsJob(detectProject(VARIANTS['nodeNoLock']!), 'test');
    assert.deepEqual(runs(job), ['npm test']);
    assert.equal(job.cache, undefined);
  });

  test("npm's placeholder test script and a script-less package.json are not turned into jobs", () => {
    const placeholder = detectProject(snapshot('x', { 'package.json': JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }) }));
    assert.deepEqual(jobNames(placeholder), ['hello']);
    assert.ok(placeholder.findings.some((f) => f.file === 'package.json' && !f.used));
    const broken = detectProject(snapshot('x', { 'package.json': '{ not json' }));
    assert.match(broken.findings.find((f) => f.file === 'package.json')?.message ?? '', /not valid JSON/);
  });

  test('a Makefile runs make test when it has a test target, else make', () => {
    assert.deepEqual(runs(stepsJob(detectProject(VARIANTS['makefile']!), 'test')), ['make test']);
    assert.deepEqual(runs(stepsJob(detectProject(VARIANTS['makefileNoTest']!), 'test')), ['make']);
    assert.deepEqual([...makeTargets('CC := gcc\nall build: x\n.PHONY: all\nx = 1\ntest:: a\n')].sort(), ['.PHONY', 'all', 'build', 'test']);
  });

  test('go.mod, requirements.txt and Cargo.toml get their toolchain and usual commands', () => {
    const go = stepsJob(detectProject(VARIANTS['go']!), 'test');
    assert.equal(go.image, 'golang:1.22');
    assert.deepEqual(runs(go), ['go vet ./...', 'go test ./...']);
    const py = stepsJob(detectProject(VARIANTS['python']!), 'test');
    assert.equal(py.steps.at(-1)!.run, '.venv/bin/python -m pytest');
    assert.deepEqual(py.cache, { key: 'requirements.txt', paths: ['.venv'] });
    const rs = stepsJob(detectProject(VARIANTS['rust']!), 'test');
    assert.deepEqual(runs(rs), ['cargo test --locked']);
  });

  test('several toolchains get one job each; a Makefile beside them is reported, not used', () => {
    const p = detectProject(VARIANTS['polyglotWithDocker']!);
    assert.deepEqual(jobNames(p), ['test-node', 'test-go', 'image', 'smoke']);
    const build = p.jobs.find((j) => j.kind === 'build');
    assert.ok(build?.kind === 'build');
    assert.deepEqual(build.needs, ['test-node', 'test-go']);
    assert.equal(build.dockerfile, 'Containerfile');
    assert.equal(p.deployHint?.port, 9000);
    assert.equal(p.findings.find((f) => f.file === 'Makefile')?.used, false);
  });

  test('--name replaces the folder name, and the repository follows it', () => {
    const p = detectProject(VARIANTS['dockerfileOnly']!, { name: 'Web.Front_end' });
    assert.equal(p.name, 'Web.Front_end');
    const build = p.jobs[0]!;
    assert.equal(build.kind === 'build' && build.repository, 'web.front_end');
  });

  test('the smoke test runs /app/selftest when the Dockerfile copies a selftest into WORKDIR /app', () => {
    const p = detectProject(snapshot('hw', { Dockerfile: 'FROM x\nWORKDIR /app/\nCOPY server.js selftest ./\n' }, ['selftest']));
    assert.deepEqual(runs(stepsJob(p, 'smoke')), ['/app/selftest']);
  });

  test('detection is deterministic', () => {
    for (const folder of Object.values(VARIANTS)) {
      assert.equal(renderPipeline(detectProject(folder)), renderPipeline(detectProject(folder)));
    }
  });
});

describe('names and scalars', () => {
  test('folder names become valid pipeline and repository names', () => {
    const cases: Array<[string, string, string]> = [
      ['hello-web', 'hello-web', 'hello-web'],
      ['My App', 'My-App', 'my-app'],
      ['--Weird Name__!', 'Weird-Name__', 'weird-name'],
      ['a..b', 'a..b', 'a-b'],
      ['!!!', 'app', 'app'],
      ['Ünïcode', 'Unicode', 'unicode'],
    ];
    for (const [folder, name, repository] of cases) {
      assert.equal(pipelineNameFrom(folder), name, folder);
      assert.equal(repositoryNameFrom(pipelineNameFrom(folder)), repository, folder);
    }
  });

  test('scalar() quotes exactly what YAML would read as something else', () => {
    const values = ['npm ci', 'node:20', '${{ commit }}', 'true', 'no', '1.22', '0x1F', '.inf', 'a: b', 'x #y', '- item', '*ref', '', ' lead', 'trail ', 'say "hi"', '.venv/bin/pip install -r requirements.txt', 'corepack enable && yarn'];
    for (const value of values) {
      assert.equal(parseYaml(`v: ${scalar(value)}\n`, { version: '1.1' }).v, value, `1.1: ${value}`);
      assert.equal(parseYaml(`v: ${scalar(value)}\n`).v, value, `1.2: ${value}`);
    }
    assert.equal(scalar('npm ci'), 'npm ci', 'plain where it can be');
  });

  test('exposedPort reads the first EXPOSE', () => {
    assert.equal(exposedPort('FROM x\nexpose 8080/tcp 9090\n'), 8080);
    assert.equal(exposedPort('FROM x\n'), undefined);
    assert.equal(exposedPort('EXPOSE 99999\n'), undefined);
  });
});

// --- the YAML text ------------------------------------------------------------------------------

describe('renderPipeline', () => {
  test('the text reads back as the proposed pipeline', () => {
    const p = detectProject(VARIANTS['nodeAndDocker']!);
    const doc = parseYaml(renderPipeline(p)) as Record<string, unknown>;
    assert.deepEqual(doc, {
      version: 1,
      name: 'shop',
      jobs: {
        test: {
          image: 'node:20',
          steps: [
            { name: 'install dependencies', run: 'npm ci' },
            { name: 'lint', run: 'npm run lint' },
            { name: 'build', run: 'npm run build' },
            { name: 'test', run: 'npm test' },
          ],
          cache: { key: 'package-lock.json', paths: ['node_modules'] },
        },
        image: {
          needs: ['test'],
          build: { context: '.', dockerfile: 'Dockerfile', repository: 'shop', tags: ['latest'], args: { VERSION: '${{ commit }}' } },
        },
        smoke: {
          needs: ['image'],
          image: '${{ jobs.image.image }}',
          steps: [{ name: 'placeholder: replace with a check of your image', run: 'echo "the image starts; replace this step with a real check"' }],
        },
      },
    });
  });

  test('the schema line comes first, and the deploy suggestion is there but commented out', () => {
    const text = renderPipeline(detectProject(VARIANTS['nodeAndDocker']!), { schema: '../schema/slipway.schema.json' });
    assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../schema/slipway.schema.json');
    assert.match(text, /^ {2}# deploy:$/m);
    assert.match(text, /^ {2}# {5}port: 3000 /m);
  });

  test('the deploy suggestion, uncommented, is a valid deploy job', () => {
    const text = renderPipeline(detectProject(VARIANTS['nodeAndDocker']!));
    const uncommented = text.replace(/^ {2}# ((?:deploy:| {2}).*)$/gm, '  $1');
    const result = parsePipeline(uncommented, 'slipway.yaml');
    assert.deepEqual(result.diagnostics, []);
    const deploy = result.pipeline?.jobs.find((job) => job.name === 'deploy');
    assert.equal(deploy?.kind, 'deploy');
    assert.equal(deploy?.kind === 'deploy' && deploy.deploy.port, 3000);
  });

  for (const [variant, folder] of Object.entries(VARIANTS)) {
    test(`every generated variant validates with no diagnostics: ${variant}`, () => {
      const text = renderPipeline(detectProject(folder), { schema: 'schema/slipway.schema.json' });
      const result = parsePipeline(text, 'slipway.yaml');
      assert.deepEqual(result.diagnostics, [], text);
      assert.ok(result.pipeline);
      assert.deepEqual(result.pipeline.jobs.map((job) => job.name), jobNames(detectProject(folder)));
    });
  }
});

// --- the command --------------------------------------------------------------------------------

interface Captured {
  io: CliIO;
  stdout: () => string;
  stderr: () => string;
}

function capture(cwd: string): Captured {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    return { stream, text: () => chunks.join('') };
  };
  const out = sink();
  const err = sink();
  return { io: { stdout: out.stream, stderr: err.stream, env: {}, cwd }, stdout: out.text, stderr: err.text };
}

async function tempFolder(name: string, files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'slipway-init-'));
  const folder = path.join(root, name);
  await mkdir(folder);
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(folder, file), content);
  return folder;
}

describe('slipway init', () => {
  test('writes slipway.yaml for the folder, says what it detected, and the file validates', async (t) => {
    const folder = await tempFolder('shop', { 'package.json': PACKAGE_JSON, 'package-lock.json': '{}', Dockerfile: DOCKERFILE });
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    const c = capture(folder);
    assert.equal(await init([], c.io), 0);
    const text = await readFile(path.join(folder, 'slipway.yaml'), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\S+schema\/slipway\.schema\.json\n/);
    assert.deepEqual(parsePipeline(text, 'slipway.yaml').diagnostics, []);
    assert.match(c.stdout(), /\+ package\.json: test job on node:20/);
    assert.match(c.stdout(), /\+ Dockerfile: image build job 'image' \(repository shop\)/);
    assert.match(c.stdout(), /wrote slipway\.yaml \(jobs: test, image, smoke\)/);
    assert.equal(c.stderr(), '');
  });

  test('refuses to overwrite an existing slipway.yaml: exit 2, the file untouched', async (t) => {
    const folder = await tempFolder('app', { 'slipway.yaml': 'mine\n' });
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    const c = capture(folder);
    assert.equal(await init([], c.io), 2);
    assert.match(c.stderr(), /slipway\.yaml already exists; not overwritten\.\n.*--force/);
    assert.equal(await readFile(path.join(folder, 'slipway.yaml'), 'utf8'), 'mine\n');
  });

  test('--force overwrites an existing slipway.yaml', async (t) => {
    const folder = await tempFolder('app', { 'slipway.yaml': 'mine\n' });
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    assert.equal(await init(['--force'], capture(folder).io), 0);
    assert.match(await readFile(path.join(folder, 'slipway.yaml'), 'utf8'), /^version: 1$/m);
  });

  test('--print writes the YAML alone to stdout, the report to stderr, and no file', async (t) => {
    const folder = await tempFolder('app', { 'slipway.yaml': 'mine\n' });
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    const c = capture(folder);
    assert.equal(await init(['--print', '--name', 'other', '--schema', 'none'], c.io), 0);
    assert.deepEqual(parsePipeline(c.stdout(), 'slipway.yaml').diagnostics, []);
    assert.doesNotMatch(c.stdout(), /yaml-language-server/);
    assert.equal((parseYaml(c.stdout()) as { name: string }).name, 'other');
    assert.match(c.stderr(), /^detected:\n/);
    assert.equal(await readFile(path.join(folder, 'slipway.yaml'), 'utf8'), 'mine\n');
  });

  test('a folder argument is resolved against the working folder', async (t) => {
    const folder = await tempFolder('svc', { 'go.mod': 'module m\n\ngo 1.22\n' });
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    const c = capture(path.dirname(folder));
    assert.equal(await init(['svc'], c.io), 0);
    assert.match(c.stdout(), /wrote svc\/slipway\.yaml/);
    assert.match(await readFile(path.join(folder, 'slipway.yaml'), 'utf8'), /image: golang:1\.22/);
  });

  test('bad usage is a UsageError (exit 2 through main): unknown flag, bad --name, not a folder', async (t) => {
    const folder = await tempFolder('app', {});
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    await assert.rejects(init(['--bogus'], capture(folder).io), { code: 'CLI_USAGE', message: /bogus/ });
    await assert.rejects(init(['--name', 'no spaces'], capture(folder).io), { code: 'CLI_USAGE', message: /not a pipeline name/ });
    await assert.rejects(init(['missing'], capture(folder).io), { code: 'CLI_USAGE', message: /is not a folder/ });
    await assert.rejects(init(['a', 'b'], capture(folder).io), { code: 'CLI_USAGE', message: /at most one folder/ });
  });

  test('--help prints the usage and writes nothing', async (t) => {
    const folder = await tempFolder('app', {});
    t.after(() => rm(path.dirname(folder), { recursive: true, force: true }));
    const c = capture(folder);
    assert.equal(await init(['--help'], c.io), 0);
    assert.match(c.stdout(), /^usage: slipway init/);
    await assert.rejects(readFile(path.join(folder, 'slipway.yaml')));
  });

  test('on the hello-web example it proposes the pipeline the example ships: test, image with VERSION, smoke running /app/selftest', async () => {
    const folder = path.join(examplesDir, 'hello-web');
    const p = detectProject(await readFolder(folder));
    assert.deepEqual(jobNames(p), ['test', 'image', 'smoke']);
    assert.deepEqual(runs(stepsJob(p, 'test')), ['npm run lint', 'npm test']);
    const build = p.jobs.find((j) => j.kind === 'build');
    assert.ok(build?.kind === 'build');
    assert.equal(build.repository, 'hello-web');
    assert.deepEqual(build.args, { VERSION: '${{ commit }}' });
    assert.deepEqual(runs(stepsJob(p, 'smoke')), ['/app/selftest']);
    assert.equal(p.deployHint?.port, 8080);
    assert.equal(defaultSchemaRef(folder), '../../schema/slipway.schema.json');
  });

  test('the shipped examples validate with no diagnostics', async () => {
    for (const example of ['hello-web', 'failing', 'services']) {
      const file = path.join(examplesDir, example, 'slipway.yaml');
      const result = parsePipeline(await readFile(file, 'utf8'), file);
      assert.deepEqual(result.diagnostics, [], example);
    }
  });
});
