import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExpressionContext } from './model.js';
import {
  checkExpression,
  evaluate,
  evaluateCondition,
  ExpressionError,
  makeCondition,
  makeTemplate,
  parseCondition,
  parseExpression,
  parseTemplate,
  renderTemplate,
} from './expressions.js';

const at = { file: 'slipway.yaml', line: 1, col: 1 };
const ctx: ExpressionContext = {
  branch: 'main',
  event: 'push',
  commit: 'abc123',
  env: { GREETING: 'hello', EMPTY: '' },
  jobs: { image: { result: 'success', image: 'reg/app@sha256:1', digest: 'sha256:1', tags: 'latest' } },
};

function run(text: string): unknown {
  return evaluate(parseExpression(text), ctx);
}

test('expressions compare, combine and call functions like GitHub Actions', () => {
  assert.equal(run("branch == 'main'"), true);
  assert.equal(run("branch != 'main'"), false);
  assert.equal(run("branch == 'main' && event == 'push'"), true);
  assert.equal(run("branch == 'dev' || event == 'push'"), true);
  assert.equal(run("!(branch == 'dev')"), true);
  assert.equal(run("startsWith(branch, 'ma') && endsWith(commit, '123') && contains(env.GREETING, 'ell')"), true);
  assert.equal(run("env.MISSING || 'fallback'"), 'fallback');
  assert.equal(run("env.GREETING && 'yes'"), 'yes');
  assert.equal(run('1 == true'), true, 'mixed types compare as numbers');
  assert.equal(run("'' == 0"), true);
  assert.equal(run('null == env.MISSING'), true);
  assert.equal(run("'It''s' == \"It's\""), true, 'both quote styles and their escapes');
  assert.equal(run("jobs.image.result == 'success'"), true);
  assert.equal(run('jobs.build-image.image'), null, 'unknown values are null');
});

test('&& binds tighter than ||, and ! applies to the next operand', () => {
  assert.equal(run("false && false || true"), true);
  assert.equal(run("true || false && false"), true);
  assert.equal(run('!false == true'), true);
});

test('templates render their expressions, unknown values as empty', () => {
  const t = makeTemplate('img ${{ jobs.image.image }} on ${{ branch }}${{ env.NOPE }}!', at);
  assert.equal(t.isLiteral, false);
  assert.equal(renderTemplate(t, ctx), 'img reg/app@sha256:1 on main!');
  const literal = makeTemplate('echo ${SHELL_VAR} }}', at);
  assert.equal(literal.isLiteral, true);
  assert.equal(renderTemplate(literal, ctx), 'echo ${SHELL_VAR} }}');
  assert.equal(renderTemplate(makeTemplate("${{ '}}' }}", at), ctx), '}}', "'}}' inside a string does not close");
});

test('templates and conditions that went through JSON are parsed again', () => {
  const t = JSON.parse(JSON.stringify(makeTemplate('${{ branch }}', at))) as ReturnType<typeof makeTemplate>;
  assert.equal(renderTemplate(t, ctx), 'main');
  const c = JSON.parse(JSON.stringify(makeCondition("${{ branch == 'main' }}", at))) as ReturnType<typeof makeCondition>;
  assert.equal(evaluateCondition(c, ctx), true);
});

test('conditions are written bare or wrapped whole, and use truthiness', () => {
  assert.equal(evaluateCondition(makeCondition("branch == 'main'", at), ctx), true);
  assert.equal(evaluateCondition(makeCondition("  ${{ branch == 'dev' }}  ", at), ctx), false);
  assert.equal(evaluateCondition(makeCondition('env.EMPTY', at), ctx), false);
  assert.equal(evaluateCondition(makeCondition('env.GREETING', at), ctx), true);
  assert.equal(evaluateCondition(makeCondition('0', at), ctx), false);
  assert.equal(evaluateCondition(makeCondition('false', at), ctx), false);
  assert.throws(() => parseCondition("${{ branch }} == 'main'"), ExpressionError);
});

test('syntax errors carry the offset of the problem in the string', () => {
  const cases: Array<[string, number, RegExp]> = [
    ["echo ${{ branch == }}", 19, /ends too early/],
    ["${{ branch = 'x' }}", 11, /use '=='/],
    ['${{ (branch }}', 12, /expected '\)'/],
    ["${{ 'open }}", 4, /unterminated string/],
    ['x ${{ branch', 2, /never closed/],
    ['${{ }}', 3, /empty expression/],
    ['${{ a b }}', 6, /after a complete expression/],
  ];
  for (const [text, offset, message] of cases) {
    assert.throws(() => parseTemplate(text), (err: unknown) => err instanceof ExpressionError && err.offset === offset && message.test(err.message), text);
  }
});

test('load-time checks: known names, functions and arity, jobs that are upstream', () => {
  const jobs = new Map<string, 'steps' | 'build' | 'deploy' | undefined>([
    ['image', 'build'],
    ['test', 'steps'],
    ['deploy', 'deploy'],
  ]);
  const scope = { jobs, job: 'deploy', upstream: new Set(['test']) };
  const messages = (text: string): string[] => checkExpression(parseExpression(text), scope).map((i) => i.message);
  assert.deepEqual(messages("branch == 'main' && env.X"), []);
  assert.match(messages('brnach')[0] ?? '', /did you mean 'branch'/);
  assert.match(messages("startswith(branch, 'x')")[0] ?? '', /did you mean 'startsWith'/);
  assert.match(messages('contains(branch)')[0] ?? '', /takes 2 arguments/);
  assert.deepEqual(messages('jobs.image.image'), ["job 'deploy' reads jobs.image but does not need it; add it to needs"]);
  assert.match(messages('jobs.imag.image')[0] ?? '', /unknown job 'imag' \(did you mean 'image'\?\)/);
  assert.match(messages('jobs.deploy.result')[0] ?? '', /its own outputs/);
  const upstream = { jobs, job: 'deploy', upstream: new Set(['test', 'image']) };
  assert.deepEqual(checkExpression(parseExpression('jobs.image.digest'), upstream), []);
  assert.equal(checkExpression(parseExpression('jobs.test.image'), upstream)[0]?.severity, 'warning');
  assert.match(checkExpression(parseExpression('jobs.image.digset'), upstream)[0]?.message ?? '', /did you mean 'digest'/);
  assert.match(checkExpression(parseExpression('jobs.image.image'), { jobs, upstream: new Set() })[0]?.message ?? '', /pipeline-level/);
});

test('job names with dashes read as one name', () => {
  const expr = parseExpression('jobs.build-image.image');
  assert.equal(expr.kind, 'path');
  assert.deepEqual(expr.kind === 'path' ? expr.parts : [], ['jobs', 'build-image', 'image']);
});

test('a long || or && chain is one flat node, evaluated without recursion, as Actions would', () => {
  const terms = Array.from({ length: 500 }, () => 'env.V');
  const expr = parseExpression(terms.join('||'));
  assert.equal(expr.kind, 'logical');
  assert.equal(expr.kind === 'logical' ? expr.operands.length : 0, 500);
  assert.equal(run(`${terms.slice(1).join('||')}||'last'`), 'last');
  assert.equal(run("env.MISSING || env.GREETING || 'x'"), 'hello', '|| gives the first truthy operand');
  assert.equal(run("env.GREETING && env.EMPTY && 'x'"), '', '&& gives the first falsy operand');
  assert.equal(run("env.GREETING && 'a' && 'b'"), 'b', '&& gives the last when all are truthy');
  assert.equal(run("(false || true) && (true && false) || 'c'"), 'c');
});

test('expressions past 4096 characters or 32 levels are limit errors at a useful offset', () => {
  const tooLong = () => parseExpression(`'${'x'.repeat(5000)}'`);
  assert.throws(tooLong, (err: unknown) => err instanceof ExpressionError && err.kind === 'limit' && err.offset === 0);
  const deep = `${'('.repeat(33)}true${')'.repeat(33)}`;
  assert.throws(() => parseExpression(deep), (err: unknown) => err instanceof ExpressionError && err.kind === 'limit' && err.offset === 32);
  assert.throws(() => parseExpression(Array.from({ length: 34 }, () => 'true').join(' == ')), (err: unknown) => err instanceof ExpressionError && err.kind === 'limit');
  assert.equal(run(`${'('.repeat(32)}true${')'.repeat(32)}`), true);
  assert.throws(() => parseExpression('branch =='), (err: unknown) => err instanceof ExpressionError && err.kind === 'syntax');
});

test("names of Object's prototype read as unset, not as Object's members", () => {
  assert.equal(run('env.constructor'), null);
  assert.equal(run('env.__proto__'), null);
  assert.equal(run('jobs.constructor.name'), null);
  assert.equal(run('jobs.image.constructor'), null);
});

test('matrix.KEY reads the combination’s value with its type; a key it lacks, or a path past it, is null', () => {
  const withMatrix: ExpressionContext = { ...ctx, matrix: { node: 18, db: 'pg', coverage: true } };
  const read = (text: string): unknown => evaluate(parseExpression(text), withMatrix);
  assert.equal(read('matrix.node'), 18);
  assert.equal(read("matrix.node == '18'"), true);
  assert.equal(read('matrix.coverage && matrix.db'), 'pg');
  assert.equal(read('matrix.missing'), null);
  assert.equal(read('matrix.node.major'), null);
  assert.equal(read('matrix.constructor'), null);
  assert.equal(run('matrix.node'), null, 'outside a matrix job');
  assert.equal(renderTemplate(makeTemplate('node:${{ matrix.node }}${{ matrix.missing }}', at), withMatrix), 'node:18');
});
