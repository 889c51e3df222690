// `${{ expression }}` in strings and `if:` conditions: templates and conditions built on the parser
// (expression-parser.ts), the load-time checks (names that exist, jobs that are really upstream), and
// evaluation with GitHub Actions' coercion and truthiness, which most users already know.
import type { Condition, ExpressionContext, SourcePosition, Template } from './model.js';
import { ExpressionError, parseExpression, type Expr, type Value } from './expression-parser.js';
import { closest, listOf } from './suggest.js';

export { ExpressionError, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, parseExpression, type Expr, type Value } from './expression-parser.js';

export type TemplatePart = { literal: string } | { expr: Expr };

export const ROOTS = ['branch', 'event', 'commit', 'env', 'jobs', 'matrix', 'pr', 'secrets'] as const;
/** What `pr.` reads: the pull request of a pull-request run (empty strings in other runs). */
export const PR_FIELDS = ['number', 'base', 'head'] as const;
export const FUNCTIONS: Record<string, number> = { startsWith: 2, endsWith: 2, contains: 2 };
export const JOB_OUTPUTS = ['image', 'digest', 'tags', 'result'] as const;

// Parsed forms by source text: pipelines repeat the same expressions, and the validator and the
// compiler both parse each one. ASTs are never mutated, so sharing them is safe.
const templateCache = new Map<string, TemplatePart[]>();
const conditionCache = new Map<string, Expr>();
const CACHE_LIMIT = 5000;
// Long texts (whole scripts) are parsed again rather than kept: a long-lived server would otherwise
// hold up to CACHE_LIMIT of them, of any size, from every file it has read.
const CACHED_TEXT_LIMIT = 4096;

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (key.length > CACHED_TEXT_LIMIT) return value;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/** Splits a string into literal text and `${{ }}` expressions. */
export function parseTemplate(text: string): TemplatePart[] {
  const cached = templateCache.get(text);
  if (cached) return cached;
  if (!text.includes('${{')) return remember(templateCache, text, [{ literal: text }]);
  return remember(templateCache, text, parseTemplateText(text));
}

function parseTemplateText(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${{', i);
    if (open < 0) {
      parts.push({ literal: text.slice(i) });
      break;
    }
    if (open > i) parts.push({ literal: text.slice(i, open) });
    // The closing braces are the first '}}' outside a string literal.
    let j = open + 3;
    let quote: string | undefined;
    for (; j < text.length; j++) {
      const ch = text[j];
      if (quote) {
        if (ch === '\\' && quote === '"') j++;
        else if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '}' && text[j + 1] === '}') break;
    }
    if (j >= text.length) {
      // An open quote swallowed the '}}': parse up to the first one so the error names the quote.
      const plain = quote ? text.indexOf('}}', open + 3) : -1;
      if (plain < 0) throw new ExpressionError("'${{' is never closed: add '}}'", open);
      j = plain;
    }
    parts.push({ expr: parseExpression(text, open + 3, j) });
    i = j + 2;
  }
  return parts;
}

/**
 * An `if:` is one expression, written bare (`branch == 'main'`) or wrapped whole
 * (`${{ branch == 'main' }}`). Returns the expression.
 */
export function parseCondition(text: string): Expr {
  return conditionCache.get(text) ?? remember(conditionCache, text, parseConditionText(text));
}

function parseConditionText(text: string): Expr {
  const trimmed = text.trim();
  if (trimmed.includes('${{')) {
    const parts = parseTemplate(text);
    const exprs = parts.filter((p): p is { expr: Expr } => 'expr' in p);
    const onlySpaceAround = parts.every((p) => 'expr' in p || p.literal.trim() === '');
    if (exprs.length === 1 && onlySpaceAround && exprs[0]) return exprs[0].expr;
    throw new ExpressionError("write the condition as one expression, bare or wrapped whole in '${{ }}', e.g. branch == 'main' && event == 'push'", text.indexOf('${{'));
  }
  return parseExpression(text);
}

/** What an expression may read at one place of the file. */
export interface ExpressionScope {
  /** every job of the pipeline, with its kind */
  jobs: ReadonlyMap<string, 'steps' | 'build' | 'deploy' | undefined>;
  /** the job the expression belongs to; undefined at the pipeline level */
  job?: string;
  /** the jobs it transitively needs */
  upstream: Pick<ReadonlySet<string>, 'has'>;
  /** the keys of the job's matrix; absent when the job has none */
  matrix?: ReadonlySet<string>;
  /** the expression is the job's `if:`, which decides for all its combinations at once */
  isJobCondition?: boolean;
  /** the names under `secrets:` */
  secrets?: ReadonlySet<string>;
  /** the value reaches a process as an env value or a step's script, masked in its log: secrets.X may be read */
  secretsAllowed?: boolean;
}

export interface ExpressionIssue {
  message: string;
  offset: number;
  severity: 'error' | 'warning';
}

/** Load-time checks: known names and functions, argument counts, jobs that are upstream. */
export function checkExpression(expr: Expr, scope: ExpressionScope): ExpressionIssue[] {
  const issues: ExpressionIssue[] = [];
  const error = (message: string, offset: number): void => void issues.push({ message, offset, severity: 'error' });
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'literal':
        return;
      case 'not':
        return visit(e.operand);
      case 'binary':
        visit(e.left);
        return visit(e.right);
      case 'logical':
        return e.operands.forEach(visit);
      case 'call': {
        // Own keys only: 'constructor' is not a function of the language.
        const arity = Object.hasOwn(FUNCTIONS, e.name) ? FUNCTIONS[e.name] : undefined;
        if (arity === undefined) {
          const guess = closest(e.name, Object.keys(FUNCTIONS));
          error(`unknown function '${e.name}'${guess ? ` (did you mean '${guess}'?)` : `; the functions are ${Object.keys(FUNCTIONS).join(', ')}`}`, e.start);
        } else if (e.args.length !== arity) {
          error(`${e.name}() takes ${arity} arguments, got ${e.args.length}`, e.start);
        }
        e.args.forEach(visit);
        return;
      }
      case 'path':
        return checkPath(e, scope, issues);
    }
  };
  visit(expr);
  return issues;
}

function checkPath(e: Extract<Expr, { kind: 'path' }>, scope: ExpressionScope, issues: ExpressionIssue[]): void {
  const [root, ...rest] = e.parts;
  const at = (i: number): number => e.partStarts[i] ?? e.start;
  const error = (message: string, offset: number): void => void issues.push({ message, offset, severity: 'error' });
  if (root === undefined) return;
  if (!(ROOTS as readonly string[]).includes(root)) {
    const guess = closest(root, ROOTS);
    error(`unknown name '${root}'${guess ? ` (did you mean '${guess}'?)` : ''}; expressions read ${ROOTS.join(', ')} (strings are quoted: '${root}')`, e.start);
    return;
  }
  if (root === 'branch' || root === 'event' || root === 'commit') {
    if (rest.length > 0) error(`'${root}' is a string and has no '.${rest[0]}'`, at(1));
    return;
  }
  if (root === 'matrix') return checkMatrixPath(rest, at, scope, error);
  if (root === 'pr') return checkPullRequestPath(rest, e.end, at, error);
  if (root === 'secrets') return checkSecretPath(rest, e.end, at, scope, error);
  if (root === 'env') {
    if (rest.length !== 1) error(rest.length === 0 ? "'env' needs a variable name: env.NAME" : `env.${rest[0]} is a string and has no '.${rest[1]}'`, rest.length === 0 ? e.end : at(2));
    return;
  }
  // jobs.<name>.<output>
  const [job, output, extra] = rest;
  if (job === undefined || output === undefined) {
    error(`'jobs' needs a job and an output: jobs.<job>.${JOB_OUTPUTS.join('|')}`, e.start);
    return;
  }
  if (scope.job === undefined) {
    error(`pipeline-level values cannot read jobs.${job}: no job has run when they are set; move it into the job's own env`, e.start);
    return;
  }
  if (!scope.jobs.has(job)) {
    const guess = closest(job, scope.jobs.keys());
    error(`unknown job '${job}'${guess ? ` (did you mean '${guess}'?)` : `; the jobs are ${listOf([...scope.jobs.keys()])}`}`, at(1));
    return;
  }
  if (job === scope.job) {
    error(`job '${scope.job}' cannot read its own outputs (jobs.${job}.${output}): they exist only once it has finished`, at(1));
    return;
  }
  if (!scope.upstream.has(job)) {
    error(`job '${scope.job}' reads jobs.${job} but does not need it; add it to needs`, at(1));
    return;
  }
  if (!(JOB_OUTPUTS as readonly string[]).includes(output)) {
    const guess = closest(output, JOB_OUTPUTS);
    error(`unknown output '${output}' of job '${job}'${guess ? ` (did you mean '${guess}'?)` : ''}; jobs have ${JOB_OUTPUTS.join(', ')}`, at(2));
    return;
  }
  if (extra !== undefined) {
    error(`jobs.${job}.${output} is a string and has no '.${extra}'`, at(3));
    return;
  }
  if (output !== 'result' && scope.jobs.get(job) !== 'build') {
    issues.push({ message: `jobs.${job}.${output} is only set by build jobs, and '${job}' is not one: it will be empty`, offset: at(2), severity: 'warning' });
  }
}

/** matrix.<key>: only inside a matrix job, not in its if: (which is the same for every combination). */
function checkMatrixPath(rest: string[], at: (i: number) => number, scope: ExpressionScope, error: (message: string, offset: number) => void): void {
  const [key, extra] = rest;
  const what = key === undefined ? 'matrix' : `matrix.${key}`;
  if (scope.job === undefined) return error(`pipeline-level values cannot read ${what}: only the steps of a matrix job can; move it into that job`, at(0));
  if (!scope.matrix) return error(`job '${scope.job}' has no matrix, so ${what} is never set; give the job one (matrix: { ${key ?? 'node'}: [...] }) or remove it`, at(0));
  if (scope.isJobCondition) return error(`the if: of job '${scope.job}' cannot read ${what}: it decides for every combination at once; leave combinations out with matrix.exclude`, at(0));
  if (key === undefined) return error(`'matrix' needs a key: matrix.${[...scope.matrix][0] ?? 'NAME'}`, at(0));
  if (!scope.matrix.has(key)) {
    const guess = closest(key, [...scope.matrix]);
    return error(`unknown matrix key '${key}'${guess ? ` (did you mean '${guess}'?)` : ''}; the matrix of job '${scope.job}' has ${listOf([...scope.matrix])}`, at(1));
  }
  if (extra !== undefined) error(`matrix.${key} is a value and has no '.${extra}'`, at(2));
}

/** pr.number, pr.base, pr.head: valid everywhere, empty outside pull-request runs. */
function checkPullRequestPath(rest: string[], end: number, at: (i: number) => number, error: (message: string, offset: number) => void): void {
  const [field, extra] = rest;
  if (field === undefined) return error(`'pr' needs a field: ${PR_FIELDS.map((f) => `pr.${f}`).join(', ')}`, end);
  if (!(PR_FIELDS as readonly string[]).includes(field)) {
    const guess = closest(field, PR_FIELDS);
    return error(`unknown field 'pr.${field}'${guess ? ` (did you mean 'pr.${guess}'?)` : ''}; a pull request has ${PR_FIELDS.join(', ')}`, at(1));
  }
  if (extra !== undefined) error(`pr.${field} is a ${field === 'number' ? 'number' : 'string'} and has no '.${extra}'`, at(2));
}

/** secrets.NAME: a name listed under `secrets:`, read only where the value goes to a process. */
function checkSecretPath(rest: string[], end: number, at: (i: number) => number, scope: ExpressionScope, error: (message: string, offset: number) => void): void {
  const [name, extra] = rest;
  if (!scope.secretsAllowed) {
    const here = scope.isJobCondition ? 'a condition' : 'this value';
    return error(`${here} cannot read secrets: a secret is read only in env values and steps' run, where its value reaches the job's processes and is masked in their logs`, at(0));
  }
  if (name === undefined) return error("'secrets' needs a name: secrets.NAME", end);
  const declared = scope.secrets ?? new Set<string>();
  if (!declared.has(name)) {
    const guess = closest(name, [...declared]);
    return error(`secret '${name}' is not listed under secrets:${guess ? ` (did you mean '${guess}'?)` : ''}; add it there (its value comes from the server or --secret)`, at(1));
  }
  if (extra !== undefined) error(`secrets.${name} is a string and has no '.${extra}'`, at(2));
}

// ---- evaluation ----

function toNumber(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  return v.trim() === '' ? 0 : Number(v);
}

/** How a value reads inside a string: null is empty, as an unknown value must not print 'null'. */
export function valueToString(v: Value): string {
  if (v === null) return '';
  return String(v);
}

/** GitHub Actions truthiness: false, 0, NaN, '' and null are false. */
export function isTruthy(v: Value): boolean {
  if (v === null || v === false || v === '') return false;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  return true;
}

function looseEquals(a: Value, b: Value): boolean {
  // Same types compare as they are (strings case-sensitively: branch names are); mixed types as numbers.
  if (a === null || b === null) return a === b || toNumber(a) === toNumber(b);
  if (typeof a === typeof b) return a === b;
  return toNumber(a) === toNumber(b);
}

function ownValue(record: Readonly<Record<string, Value>> | undefined, key: string | undefined): Value {
  return record && key !== undefined && Object.hasOwn(record, key) ? record[key] ?? null : null;
}

function lookup(parts: string[], ctx: ExpressionContext): Value {
  const [root, a, b] = parts;
  switch (root) {
    case 'branch':
      return ctx.branch ?? null;
    case 'event':
      return ctx.event ?? null;
    case 'commit':
      return ctx.commit ?? null;
    // Own keys only: env.constructor or jobs.__proto__ must read as unset, not as Object's members.
    case 'env':
      return ownValue(ctx.env, a);
    case 'jobs': {
      const job = ctx.jobs && a !== undefined && Object.hasOwn(ctx.jobs, a) ? ctx.jobs[a] : undefined;
      return ownValue(job, b);
    }
    case 'matrix':
      return b === undefined ? ownValue(ctx.matrix, a) : null;
    case 'pr':
      // outside a pull-request run each field is '' (not null), as documented: it reads the same in a string and a comparison
      if (b !== undefined || a === undefined || !(PR_FIELDS as readonly string[]).includes(a)) return null;
      return ctx.pr ? ctx.pr[a as (typeof PR_FIELDS)[number]] : '';
    case 'secrets':
      return b === undefined ? ownValue(ctx.secrets, a) : null;
    default:
      return null;
  }
}

export function evaluate(e: Expr, ctx: ExpressionContext): Value {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'path':
      return lookup(e.parts, ctx);
    case 'not':
      return !isTruthy(evaluate(e.operand, ctx));
    case 'logical': {
      // && and || return an operand, not a boolean, so `a || 'default'` works as in Actions:
      // the first operand that decides the chain (falsy for &&, truthy for ||), else the last.
      let value: Value = null;
      for (const operand of e.operands) {
        value = evaluate(operand, ctx);
        if (isTruthy(value) === (e.op === '||')) return value;
      }
      return value;
    }
    case 'binary': {
      const equal = looseEquals(evaluate(e.left, ctx), evaluate(e.right, ctx));
      return e.op === '==' ? equal : !equal;
    }
    case 'call': {
      const [a, b] = e.args.map((arg) => valueToString(evaluate(arg, ctx)));
      if (a === undefined || b === undefined) return null;
      if (e.name === 'startsWith') return a.startsWith(b);
      if (e.name === 'endsWith') return a.endsWith(b);
      if (e.name === 'contains') return a.includes(b);
      return null;
    }
  }
}

// ---- the model's Template and Condition, with their parsed form kept aside ----

// Keyed by object so a Template that went through JSON (and lost this) is simply parsed again.
const compiledTemplates = new WeakMap<Template, TemplatePart[]>();
const compiledConditions = new WeakMap<Condition, Expr>();

export function makeTemplate(source: string, position: SourcePosition, parts: TemplatePart[] = parseTemplate(source)): Template {
  const template: Template = { source, position, isLiteral: parts.every((p) => 'literal' in p) };
  compiledTemplates.set(template, parts);
  return template;
}

export function makeCondition(source: string, position: SourcePosition, expr: Expr = parseCondition(source)): Condition {
  const condition: Condition = { source, position };
  compiledConditions.set(condition, expr);
  return condition;
}

/** The string with every `${{ }}` replaced by its value; unknown values render as ''. */
export function renderTemplate(t: Template, ctx: ExpressionContext): string {
  if (t.isLiteral) return t.source;
  let parts = compiledTemplates.get(t);
  if (!parts) {
    parts = parseTemplate(t.source);
    compiledTemplates.set(t, parts);
  }
  return parts.map((p) => ('literal' in p ? p.literal : valueToString(evaluate(p.expr, ctx)))).join('');
}

/** Whether the condition holds, with GitHub Actions' truthiness. */
export function evaluateCondition(c: Condition, ctx: ExpressionContext): boolean {
  let expr = compiledConditions.get(c);
  if (!expr) {
    expr = parseCondition(c.source);
    compiledConditions.set(c, expr);
  }
  return isTruthy(evaluate(expr, ctx));
}
