// Hostile pipeline files made from real ones: the examples' and docs' pipelines and the corpus,
// mutated by a seeded PRNG with the shapes that broke the front end before (deep nesting, `!` runs,
// long || chains, merges of scalars, aliases) and plain noise (byte flips, NULs, tabs, unicode).
// The same seed always gives the same files, so a failure replays from its seed and index.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePipeline } from '../../src/spec/index.js';
import { pick, type Random } from '../support/random.js';

export { prng, type Random } from '../support/random.js';

function int(random: Random, max: number): number {
  return Math.floor(random() * max);
}

/**
 * A size that is usually small and now and then large: most files stay cheap (the fuzz has a time
 * budget), a few go past the limits (nesting, expression length, jobs).
 */
function size(random: Random, max: number): number {
  return Math.floor(max ** (random() ** 2));
}

export interface SeedPool {
  all: string[];
  /** the ones that load as they are */
  valid: string[];
}

/** Every pipeline file the repository holds: examples, the docs' YAML blocks, the corpus. */
export function seedFiles(repoRoot: string): SeedPool {
  const files: string[] = [];
  const examples = path.join(repoRoot, 'examples');
  for (const dir of readdirSync(examples, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    try {
      files.push(readFileSync(path.join(examples, dir.name, 'slipway.yaml'), 'utf8'));
    } catch {
      // an example without a pipeline file
    }
  }
  const docs = path.join(repoRoot, 'docs');
  for (const entry of readdirSync(docs, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.md')) continue;
    const text = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const block of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) files.push(block[1] ?? '');
  }
  const corpus = path.join(repoRoot, 'test', 'spec-corpus');
  for (const dir of [corpus, path.join(corpus, 'valid')]) {
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) files.push(readFileSync(path.join(dir, name), 'utf8'));
  }
  const all = files.filter((f) => f.trim().length > 0);
  return { all, valid: all.filter((f) => parsePipeline(f, 'seed.yaml').pipeline !== undefined) };
}

const SCALARS = ['5', '~', '', 'null', '.nan', '-.inf', '0x1F', '1e999', '-0', 'true', 'constructor', '__proto__', 'toString', "'<<'", '"\\u0000"', '!!binary aGVsbG8=', '!!timestamp 2001-12-14', '!!str', '!!map', '!custom x', '&', '*', '*nope', '|', '>-', '? x', '[', '{', ']', '}', '"', "'", '`', '#', '%', '@', '\\'];
const UNICODE = ['\u0000', '\u0001', '\u0007', '\t', '\r', '\r\n', '\u000b', '\u0085', '\u00a0', '\u2028', '\u2029', '\u202e', '\u200b', '\ufeff', '\ufffd', '\ud800', '\udfff', '\u{1F4A9}', 'é', 'ﬃ', '\u0301', 'İ'];
const EXPR_PIECES = ['branch', 'env.X', 'jobs.test.result', 'jobs.image.image', "'a'", '1', 'null', 'true', 'contains(branch, \'m\')', 'startsWith(', ')', '(', '!', '==', '!=', '&&', '||', ',', '.', "'", '"', '}}', '${{'];

function lineIndent(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

/** A deeply nested value: flow lists, flow maps, or block mappings. */
function deepValue(random: Random, indent: string): string {
  const depth = size(random, 1500);
  switch (int(random, 3)) {
    case 0:
      return `${'['.repeat(depth)}${random() < 0.8 ? ']'.repeat(depth) : ''}`;
    case 1:
      return `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
    default: {
      const levels = Math.min(depth, 200);
      return `\n${Array.from({ length: levels }, (_, i) => `${indent}${' '.repeat(2 * i + 2)}k:`).join('\n')} 1`;
    }
  }
}

/** A hostile expression: `!` runs, parentheses, long chains, or random pieces. */
function hostileExpression(random: Random): string {
  switch (int(random, 5)) {
    case 0:
      return `${'!'.repeat(size(random, 6000))}true`;
    case 1: {
      const depth = size(random, 6000);
      return `${'('.repeat(depth)}branch${')'.repeat(random() < 0.9 ? depth : int(random, depth))}`;
    }
    case 2:
      return Array.from({ length: size(random, 4000) }, () => pick(random, ["branch == 'a'", 'env.X', 'true'])).join(pick(random, [' || ', ' && ', '||']));
    case 3:
      return `${'contains('.repeat(size(random, 200))}branch, 'x'${')'.repeat(size(random, 200))}`;
    default:
      return Array.from({ length: 1 + int(random, 12) }, () => pick(random, EXPR_PIECES)).join(' ');
  }
}

/** An expression at the edge of the limits, valid: it reaches the evaluator at its deepest. */
function edgeExpression(random: Random): string {
  switch (int(random, 4)) {
    case 0:
      return `${'!'.repeat(32)}true`;
    case 1:
      return `${'('.repeat(31)}branch == 'main'${')'.repeat(31)}`;
    case 2:
      return `${'contains('.repeat(16)}branch, 'a')${", 'b')".repeat(15)}`;
    default:
      return Array.from({ length: 300 }, () => pick(random, ['env.X', "branch == 'x'", 'jobs.test.result'])).join(' || ');
  }
}

type Mutation = (random: Random, lines: string[], pool: SeedPool) => void;

const MUTATIONS: Mutation[] = [
  // noise
  (random, lines) => {
    const i = int(random, lines.length);
    const line = lines[i] ?? '';
    const at = int(random, line.length + 1);
    const char = random() < 0.5 ? String.fromCharCode(int(random, 256)) : pick(random, UNICODE);
    lines[i] = line.slice(0, at) + char + line.slice(at + (random() < 0.5 ? 1 : 0));
  },
  (random, lines) => void lines.splice(int(random, lines.length), 0, lines[int(random, lines.length)] ?? ''),
  (random, lines) => void lines.splice(int(random, lines.length), 1 + int(random, 3)),
  (random, lines) => {
    const a = int(random, lines.length);
    const b = int(random, lines.length);
    [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
  },
  (random, lines) => {
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/^( *)/, (spaces) => (random() < 0.5 ? '\t' : '') + spaces.slice(int(random, spaces.length + 1)));
  },
  (random, lines) => void lines.splice(int(random, lines.length + 1)),
  (random, lines, pool) => {
    const other = pick(random, pool.all).split('\n');
    const from = int(random, other.length);
    lines.splice(int(random, lines.length), 0, ...other.slice(from, from + 1 + int(random, 8)));
  },
  // values
  (random, lines) => {
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/:( .*)?$/, `: ${pick(random, SCALARS)}`);
  },
  (random, lines) => {
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/:( .*)?$/, `: "${'x'.repeat(size(random, 200_000))}"`);
  },
  (random, lines) => {
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/:( .*)?$/, `: ${deepValue(random, lineIndent(lines[i] ?? ''))}`);
  },
  // merges, anchors, aliases
  (random, lines) => {
    const i = int(random, lines.length);
    const merge = pick(random, ['5', '*a', '', '[*a, 1]', '[[]]', '{ timeout: 5m }', '*a0', 'x', '[*a, *a0]', '!!map {}']);
    lines.splice(i, 0, `${lineIndent(lines[i] ?? '')}<<: ${merge}`);
  },
  (random, lines) => {
    const name = pick(random, ['a', 'a0', 'x']);
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/: /, `: &${name} `);
    const j = int(random, lines.length);
    lines[j] = (lines[j] ?? '').replace(/:( .*)?$/, `: *${name}`);
  },
  (random, lines) => {
    const width = 2 + int(random, 9);
    const bomb = Array.from({ length: 3 + int(random, 6) }, (_, k) => `x-b${k}: &b${k} [${Array.from({ length: width }, () => (k ? `*b${k - 1}` : '"lol"')).join(',')}]`);
    lines.splice(int(random, lines.length), 0, ...bomb);
  },
  // expressions
  (random, lines) => {
    const i = int(random, lines.length);
    lines.splice(i, 0, `${lineIndent(lines[i] ?? '')}if: "${hostileExpression(random).replace(/"/g, "'")}"`);
  },
  (random, lines) => {
    const i = int(random, lines.length);
    lines[i] = (lines[i] ?? '').replace(/:( .*)?$/, (_m, rest: string | undefined) => `: ${(rest ?? '').trim()} \${{ ${hostileExpression(random)} }}`);
  },
  (random, lines) => {
    // After a job's name (two spaces in, nothing after the colon): an if: the file stays valid with.
    const jobs = lines.flatMap((line, i) => (/^ {2}[a-z][\w-]*:\s*$/.test(line) ? [i] : []));
    if (jobs.length) lines.splice(pick(random, jobs) + 1, 0, `    if: "${edgeExpression(random)}"`);
  },
  (random, lines) => {
    // Branch patterns: nesting and length are what picomatch's compile time grows with.
    const depth = size(random, 3000);
    const pattern = pick(random, [`${'+('.repeat(depth)}a${')'.repeat(depth)}`, `${'{a,'.repeat(depth)}b${'}'.repeat(depth)}`, '*a'.repeat(depth), `${'[a]'.repeat(depth)}`, `release/${'x'.repeat(depth)}`]);
    lines.splice(int(random, lines.length + 1), 0, `on: { push: { branches: ["${pattern}"], tags: ["${pattern}"] } }`);
  },
  // YAML structure
  (random, lines) => void lines.splice(int(random, lines.length), 0, pick(random, ['---', '...', '%YAML 1.1', '%TAG ! tag:x,2000:', '? [a, b]', ': x', '- x', '!!set', '&a', '*a', '"unclosed', "'unclosed", '|', '# comment'])),
  (random, lines) => {
    const i = int(random, lines.length);
    const key = /^(\s*)([^:#]+):/.exec(lines[i] ?? '');
    if (key) lines.splice(i + 1, 0, `${key[1] ?? ''}${key[2] ?? 'k'}: duplicate`);
  },
  (random, lines) => {
    const count = size(random, 1200);
    const jobs = Array.from({ length: count }, (_, k) => `  j${k}: { needs: [j${int(random, count)}], build: { repository: app } }`);
    lines.push('jobs:', ...jobs);
  },
];

/** One hostile file: a seed file with 1 to 4 mutations, kept under 1 MiB. */
export function mutatedFile(random: Random, pool: SeedPool): string {
  // Half from the files that are valid as they are, so that many mutated files still reach the
  // compiler and the evaluator.
  const lines = pick(random, random() < 0.5 && pool.valid.length ? pool.valid : pool.all).split('\n');
  const count = 1 + int(random, 4);
  for (let n = 0; n < count; n++) pick(random, MUTATIONS)(random, lines, pool);
  const text = lines.join(random() < 0.1 ? '\r\n' : '\n');
  return Buffer.byteLength(text) > 1024 * 1024 ? text.slice(0, 500_000) : text;
}

/** The probe's payloads, verbatim: each crashed `slipway validate` once. */
export function knownCrashers(): Record<string, string> {
  const withIf = (condition: string): string => `version: 1\nname: app\njobs:\n  test:\n    image: node:20\n    if: "${condition}"\n    steps:\n      - run: echo hi\n`;
  return {
    'bangs.yaml': withIf(`${'!'.repeat(5000)}true`),
    'parentheses.yaml': withIf(`${'('.repeat(5000)}true${')'.repeat(5000)}`),
    'or-chain.yaml': withIf(Array.from({ length: 20000 }, () => "branch == 'a'").join(' || ')),
    'merge-number.yaml': 'version: 1\nname: app\n<<: 5\njobs:\n  test:\n    image: node:20\n    steps:\n      - run: echo hi\n',
    'merge-scalar-alias.yaml': 'version: 1\nname: &a app\njobs:\n  test:\n    <<: *a\n    image: node:20\n    steps:\n      - run: echo hi\n',
  };
}
