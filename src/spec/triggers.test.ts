// `on.pull_request` and the path filters of `on` in the spec: the forms the file may take, what
// they compile to, the questions the server asks (isPullRequestTriggered, pullRequestConcurrency),
// and where their mistakes are reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPullRequestTriggered, parsePipeline, pullRequestConcurrency, type Pipeline } from './index.js';

const JOBS = 'jobs:\n  test:\n    image: node:20\n    steps: [{ run: npm test }]\n';

function load(on: string): Pipeline {
  const { pipeline, diagnostics } = parsePipeline(`version: 1\nname: app\n${on}${JOBS}`, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  return pipeline;
}

function problems(on: string): string[] {
  return parsePipeline(`version: 1\nname: app\n${on}${JOBS}`, 'slipway.yaml').diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
}

test('on.pull_request as a mapping, empty, or null: base branch globs, path filter, cancel-in-progress (default on)', () => {
  const full = load('on:\n  pull_request:\n    branches: [main, "release/**"]\n    paths: ["src/**"]\n    cancel-in-progress: false\n');
  assert.deepEqual(full.triggers.pullRequest, { branches: ['main', 'release/**'], paths: ['src/**'], cancelInProgress: false });
  assert.equal(full.triggers.push, undefined, 'declaring on: without push turns push runs off, as before');
  for (const form of ['on:\n  pull_request:\n', 'on:\n  pull_request: {}\n', 'on: { pull_request: null }\n']) {
    assert.deepEqual(load(form).triggers.pullRequest, { cancelInProgress: true }, form);
  }
  assert.deepEqual(load('on:\n  push:\n  pull_request:\n').triggers, { push: {}, pullRequest: { cancelInProgress: true } });
});

test('no on.pull_request: pull requests start no run, even with no on at all (which means every push)', () => {
  const none = load('');
  assert.deepEqual(none.triggers, { push: {} });
  assert.equal(isPullRequestTriggered(none, 'main'), false);
  assert.equal(pullRequestConcurrency(none), true);
});

test('isPullRequestTriggered matches the base branch against the globs; no branches means every base', () => {
  const some = load('on:\n  pull_request: { branches: [main, "release/*"] }\n');
  assert.equal(isPullRequestTriggered(some, 'main'), true);
  assert.equal(isPullRequestTriggered(some, 'release/2.0'), true);
  assert.equal(isPullRequestTriggered(some, 'release/2.0/hotfix'), false, '* stays within one segment');
  assert.equal(isPullRequestTriggered(some, 'develop'), false);
  const all = load('on:\n  pull_request:\n');
  assert.equal(isPullRequestTriggered(all, 'anything/at/all'), true);
  assert.equal(pullRequestConcurrency(load('on:\n  pull_request: { cancel-in-progress: false }\n')), false);
});

test('on.push.paths and paths-ignore compile beside branches and tags', () => {
  const p = load('on:\n  push:\n    branches: [main]\n    tags: ["v*"]\n    paths-ignore: ["docs/**", "*.md"]\n');
  assert.deepEqual(p.triggers.push, { branches: ['main'], tags: ['v*'], pathsIgnore: ['docs/**', '*.md'] });
});

test('paths and paths-ignore together is an error at the second, as on GitHub', () => {
  assert.deepEqual(problems('on:\n  push:\n    paths: ["src/**"]\n    paths-ignore: ["docs/**"]\n'), [
    "6:5 error SPEC_VALUE 'on.push' has both 'paths' and 'paths-ignore': use one; to leave files out of paths, list them after the others as '!pattern'",
  ]);
  assert.match(problems('on:\n  pull_request: { paths: [a], paths-ignore: [b] }\n').join('\n'), /^4:31 error SPEC_VALUE 'on.pull_request' has both/);
});

test('bad path patterns are errors where they stand: leading /, ./, .., unbalanced brackets, too many wildcards, empty', () => {
  assert.deepEqual(problems('on:\n  push:\n    paths: ["/src/**", "./docs", "a/../b", "src/[a-", "*a*a*a*b", "!"]\n'), [
    "5:13 error SPEC_GLOB bad pattern '/src/**' in 'on.push.paths': repository paths have no leading '/': write 'src/**'",
    "5:24 error SPEC_GLOB bad pattern './docs' in 'on.push.paths': repository paths have no leading './': write 'docs'",
    "5:34 error SPEC_GLOB bad pattern 'a/../b' in 'on.push.paths': repository paths never hold '..': the pattern would match nothing",
    "5:44 error SPEC_GLOB bad pattern 'src/[a-' in 'on.push.paths': '[' is never closed: add ']' or escape it as '\\['",
    "5:55 error SPEC_GLOB bad pattern '*a*a*a*b' in 'on.push.paths': more than 3 wildcards (*): matching it could take seconds for a long branch name; write several simpler patterns",
    "5:67 error SPEC_GLOB bad pattern '!' in 'on.push.paths': empty pattern: it matches nothing; remove it or write a pattern like \"release/*\"",
  ]);
});

test('wrong types, empty lists, unknown keys and too many patterns are reported with their positions', () => {
  assert.deepEqual(problems('on:\n  pull_request:\n    branches: main\n    paths: []\n    cancel-in-progress: "no"\n    path: [x]\n'), [
    "5:15 error SPEC_TYPE 'branches' in 'on.pull_request' must be a list of strings, not the string 'main'; write [main] for a list of one",
    "6:12 error SPEC_VALUE 'paths' in 'on.pull_request' is an empty list; add at least one item",
    "7:25 error SPEC_TYPE 'cancel-in-progress' in 'on.pull_request' must be true or false, not the string 'no'",
    "8:5 error SPEC_UNKNOWN_KEY unknown key 'path' in 'on.pull_request' (did you mean 'paths'?)",
  ]);
  assert.deepEqual(problems('on:\n  pull-request: {}\n'), ["4:3 error SPEC_UNKNOWN_KEY unknown key 'pull-request' in 'on' (did you mean 'pull_request'?)"]);
  const many = Array.from({ length: 101 }, (_, i) => `"p${i}/**"`).join(', ');
  // the 101st pattern: after `  push: { paths: [` (18 characters), ten of 9 characters and ninety of 10
  assert.deepEqual(problems(`on:\n  push: { paths: [${many}] }\n`), [`4:${19 + 10 * 9 + 90 * 10} error SPEC_VALUE 'paths' in 'on.push' has 101 items; at most 100 are allowed`]);
});

test('a list of only ! patterns is an error: nothing would ever match, or nothing be ignored', () => {
  assert.deepEqual(problems('on:\n  push: { paths: ["!docs/**"] }\n  pull_request: { paths-ignore: ["!src/**"] }\n'), [
    "4:18 error SPEC_VALUE 'on.push.paths' has only '!' patterns, which take back what the patterns before them matched: nothing matches, so no push would run; list the files that count first (e.g. 'src/**')",
    "5:33 error SPEC_VALUE 'on.pull_request.paths-ignore' has only '!' patterns, which take back what the patterns before them matched: nothing is ignored; list the files to ignore first",
  ]);
});

test("'**' inside a segment (a**b) is a warning: it stays within one folder; '**.md' and 'docs**' cross folders as on GitHub", () => {
  assert.deepEqual(problems('on:\n  push: { paths: ["**.md", "docs**", "src/a**b"] }\n'), [
    "4:38 warning SPEC_GLOB pattern 'src/a**b' in 'on.push.paths': '**' inside 'a**b' matches within one folder, as '*' does; to cross folders, give '**' a segment of its own (e.g. 'a*/**/*b')",
  ]);
});
