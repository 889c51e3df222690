// Checks a parsed slipway.yaml: a walk of the YAML nodes against the TypeBox schema (types, keys,
// ranges, with did-you-mean), the leaf checks the schema names (durations, globs, expressions,
// paths), then the whole-file rules (job kinds, the needs graph, what expressions may read).
// It collects every problem; nothing stops at the first.
import { isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import type { DiagnosticList, SpecCode } from './diagnostics.js';
import { parseDuration } from './durations.js';
import { checkExpression, ExpressionError, parseCondition, parseTemplate, type Expr, type ExpressionScope } from './expressions.js';
import { checkGlob } from './globs.js';
import { annotatedPipelineSchema } from './schema.generated.js';
import type { SchemaNode } from './schema-node.js';
import { closest, didYouMean } from './suggest.js';
import type { Position, YamlPath, YamlSource } from './yaml-source.js';

type Kind = 'mapping' | 'list' | 'string' | 'number' | 'boolean' | 'null';
type Schema = SchemaNode;

/** A value holding expressions, kept for the checks that need the whole job graph. */
interface ExpressionSite {
  path: YamlPath;
  node: Node;
  exprs: Expr[];
}

export type JobKind = 'steps' | 'build' | 'deploy';

/** Validates the document; true when the compiler may run (no error-severity problem). */
export function validatePipeline(src: YamlSource, diags: DiagnosticList): boolean {
  const sites: ExpressionSite[] = [];
  const root = src.resolve(src.doc.contents);
  if (root === null || (isScalar(root) && root.value === null)) {
    diags.error('SPEC_MISSING_KEY', 'the file is empty: a pipeline needs at least version: 1, name and jobs', { line: 1, col: 1 });
    return false;
  }
  if (!isMap(root)) {
    diags.error('SPEC_TYPE', `the file must be a mapping with version, name and jobs at the top level, not ${describeNode(root)}`, src.start(root));
    return false;
  }
  new SchemaWalker(src, diags, sites).walk(annotatedPipelineSchema, root, [], undefined);
  checkGraph(src, diags, sites);
  return !diags.hasErrors;
}

// ---- where things are, in words ----

function dotted(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** "in job 'test'", "in step 2 of job 'test'", "in 'deploy.health' of job 'web'", … */
export function placeOf(path: YamlPath): string {
  if (path.length === 0) return 'at the top level';
  const [first, job, ...rest] = path;
  if (first !== 'jobs' || job === undefined) return `in '${dotted(path)}'`;
  const ofJob = `job '${job}'`;
  if (rest.length === 0) return `in ${ofJob}`;
  const [section, item, ...more] = rest;
  if (section === 'steps' && typeof item === 'number') {
    const step = `step ${item + 1} of ${ofJob}`;
    return more.length ? `in '${dotted(more)}' of ${step}` : `in ${step}`;
  }
  if (section === 'services' && item !== undefined) {
    const service = `service '${item}' of ${ofJob}`;
    return more.length ? `in '${dotted(more)}' of ${service}` : `in ${service}`;
  }
  return `in '${dotted(rest)}' of ${ofJob}`;
}

/** The value at `path` named for a message: "'timeout' in job 'test'", "item 2 of 'secrets'". */
export function labelOf(path: YamlPath): string {
  const last = path[path.length - 1];
  const parent = path.slice(0, -1);
  if (last === undefined) return 'the file';
  if (typeof last === 'string') {
    if (parent.length === 1 && parent[0] === 'jobs') return `job '${last}'`;
    if (parent.length === 3 && parent[0] === 'jobs' && parent[2] === 'services') return `service '${last}' of job '${String(parent[1])}'`;
    return parent.length ? `'${last}' ${placeOf(parent)}` : `'${last}'`;
  }
  if (parent.length === 3 && parent[0] === 'jobs' && parent[2] === 'steps') return `step ${last + 1} of job '${String(parent[1])}'`;
  const owner = parent[parent.length - 1];
  const where = parent.length > 1 ? ` ${placeOf(parent.slice(0, -1))}` : '';
  return `item ${last + 1} of '${String(owner)}'${where}`;
}

function kindOf(node: Node | null): Kind {
  if (node === null) return 'null';
  if (isMap(node)) return 'mapping';
  if (isSeq(node)) return 'list';
  const value = (node as Scalar).value;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'string';
}

function describeNode(node: Node | null): string {
  const kind = kindOf(node);
  if (kind === 'mapping') return 'a mapping';
  if (kind === 'list') return 'a list';
  if (kind === 'null') return 'empty';
  const value = (node as Scalar).value;
  if (kind === 'string') {
    const text = String(value);
    return `the string '${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`;
  }
  return kind === 'number' ? `the number ${String(value)}` : String(value);
}

function schemaKinds(s: Schema): Kind[] {
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).flatMap(schemaKinds);
  switch (s.type) {
    case 'object':
      return ['mapping'];
    case 'array':
      return ['list'];
    case 'integer':
    case 'number':
      return ['number'];
    case 'boolean':
      return ['boolean'];
    case 'null':
      return ['null'];
    default:
      return ['string'];
  }
}

function isEnum(s: Schema): s is Schema & { anyOf: Schema[] } {
  return Array.isArray(s.anyOf) && (s.anyOf as Schema[]).every((m) => m.const !== undefined);
}

function quote(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** How a good value is described in messages: "a whole number from 0 to 10", "a list of strings". */
function expected(s: Schema): string {
  if (typeof s['x-expected'] === 'string') return s['x-expected'];
  if (s['x-check'] === 'template') return 'a string';
  if (s['x-check'] === 'condition') return "a condition such as branch == 'main'";
  if (s['x-check'] === 'duration' || s['x-check'] === 'durationOrZero') return 'a duration like 10s, 1m30s or 2h';
  if (isEnum(s)) return orList(s.anyOf.map((m) => quote(m.const)));
  if (Array.isArray(s.anyOf)) return orList((s.anyOf as Schema[]).filter((m) => m.type !== 'null').map(expected));
  if (s.const !== undefined) return quote(s.const);
  switch (s.type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return `a list of ${plural(s.items as Schema)}`;
    case 'integer': {
      const range = typeof s.minimum === 'number' && typeof s.maximum === 'number' ? ` from ${s.minimum} to ${s.maximum}` : '';
      return `a whole number${range}`;
    }
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return 'a string';
  }
}

function plural(s: Schema): string {
  if (s.type === 'object') return 'mappings';
  if (s.type === 'integer' || s.type === 'number') return 'numbers';
  return 'strings';
}

function firstSentence(text: unknown): string {
  if (typeof text !== 'string') return '';
  const sentence = text.split(/(?<=\.)\s(?=[A-Z])/)[0] ?? text;
  return sentence.charAt(0).toLowerCase() + sentence.slice(1).replace(/\.$/, '');
}

class SchemaWalker {
  constructor(
    private readonly src: YamlSource,
    private readonly diags: DiagnosticList,
    private readonly sites: ExpressionSite[],
  ) {}

  walk(s: Schema, raw: Node | null, path: YamlPath, keyPos: Position | undefined): void {
    const node = this.src.resolve(raw);
    const kind = kindOf(node);
    const at = node ? this.src.start(node) : keyPos ?? { line: 1, col: 1 };

    if (isEnum(s)) {
      const value = isScalar(node) ? node.value : undefined;
      if (!s.anyOf.some((m) => m.const === value)) {
        const choices = s.anyOf.map((m) => String(m.const));
        const guess = typeof value === 'string' ? didYouMean(value, choices) : '';
        this.diags.error(kind === 'string' ? 'SPEC_VALUE' : 'SPEC_TYPE', `${labelOf(path)} must be ${expected(s)}, not ${describeNode(node)}${guess}`, at);
      }
      return;
    }
    // An empty schema ({}) accepts anything: the x- extension keys that hold anchors.
    if (s.type === undefined && s.anyOf === undefined && s.const === undefined) return;
    const kinds = schemaKinds(s);
    if (!kinds.includes(kind)) {
      this.typeError(s, node, path, at);
      return;
    }
    if (Array.isArray(s.anyOf)) {
      // Members differ by type, so the node's type picks the member.
      const member = (s.anyOf as Schema[]).find((m) => schemaKinds(m).includes(kind));
      if (member) this.walk({ ...member, 'x-check': member['x-check'] ?? s['x-check'] } as Schema, node, path, keyPos);
      return;
    }
    switch (kind) {
      case 'mapping':
        return this.walkMapping(s, node!, path, keyPos);
      case 'list':
        return this.walkList(s, node!, path);
      default:
        return this.walkScalar(s, node as Scalar | null, path, at);
    }
  }

  private typeError(s: Schema, node: Node | null, path: YamlPath, at: Position): void {
    const isDuration = s['x-check'] === 'duration' || s['x-check'] === 'durationOrZero';
    const code: SpecCode = isDuration ? 'SPEC_DURATION' : s['x-code'] === 'SPEC_VERSION' ? 'SPEC_VERSION' : 'SPEC_TYPE';
    let hint = '';
    const kinds = schemaKinds(s);
    if (isDuration && isScalar(node) && typeof node.value === 'number') hint = `; add a unit, e.g. ${node.value}s or ${node.value}m`;
    else if (kinds.includes('list') && !kinds.includes('string') && isScalar(node) && node.value !== null) hint = `; write [${String(node.value)}] for a list of one`;
    else if (kinds.includes('string') && isScalar(node) && typeof node.value !== 'string' && node.value !== null && (typeof s.pattern !== 'string' || new RegExp(s.pattern).test(String(node.value)))) {
      hint = `; quote it: "${String(node.value)}"`;
    }
    const subject = path.length === 0 ? 'the file' : labelOf(path);
    if (code === 'SPEC_VERSION') {
      this.diags.error(code, `version must be the number 1, not ${describeNode(node)}`, at);
      return;
    }
    if (kindOf(node) === 'null') {
      this.diags.error(code, `${subject} is empty; expected ${expected(s)}`, at);
      return;
    }
    this.diags.error(code, `${subject} must be ${expected(s)}, not ${describeNode(node)}${hint}`, at);
  }

  private walkMapping(s: Schema, node: Node, path: YamlPath, keyPos: Position | undefined): void {
    if (!isMap(node)) return;
    const properties = s.properties as Record<string, Schema> | undefined;
    const patterns = s.patternProperties as Record<string, Schema> | undefined;
    const seen = new Set<string>();
    // Keys an unknown key's did-you-mean already names: no "missing key" for them on top.
    const suggested = new Set<string>();
    for (const pair of this.src.pairs(node)) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.diags.error('SPEC_TYPE', `keys must be plain names ${placeOf(path)}`, this.src.start(keyNode));
        continue;
      }
      const key = String(keyNode.value);
      const keyAt = this.src.start(keyNode);
      seen.add(key);
      const childPath = [...path, key];
      if (properties) {
        const child = properties[key];
        if (child) {
          this.walk(child, pair.value as Node | null, childPath, keyAt);
          continue;
        }
        const extension = patterns && Object.entries(patterns).find(([pattern]) => new RegExp(pattern).test(key));
        if (extension) {
          this.walk(extension[1], pair.value as Node | null, childPath, keyAt);
          continue;
        }
        const guess = this.unknownKey(key, Object.keys(properties), path, keyAt, pair.value as Node | null);
        if (guess) suggested.add(guess);
        continue;
      }
      if (patterns) {
        const [pattern, child] = Object.entries(patterns)[0] ?? [];
        if (pattern && child) {
          if (!new RegExp(pattern).test(key)) {
            const code = (s['x-key-code'] as SpecCode | undefined) ?? 'SPEC_NAME';
            this.diags.error(code, `invalid name '${key}' ${placeOf(path)}: expected ${String(s['x-key-expected'] ?? `a name matching ${pattern}`)}`, keyAt);
          }
          this.walk(child, pair.value as Node | null, childPath, keyAt);
        }
      }
    }
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    for (const key of required) {
      if (seen.has(key) || suggested.has(key)) continue;
      const what = firstSentence(properties?.[key]?.description);
      this.diags.error('SPEC_MISSING_KEY', `missing key '${key}' ${placeOf(path)}${what ? ` (${what})` : ''}`, keyPos ?? this.src.start(node));
    }
    if (typeof s.minProperties === 'number' && seen.size < s.minProperties) {
      this.diags.error('SPEC_VALUE', `${labelOf(path)} is empty: add at least one entry`, keyPos ?? this.src.start(node));
    }
  }

  private unknownKey(key: string, valid: string[], path: YamlPath, at: Position, value: Node | null): string | undefined {
    const guess = closest(key, valid);
    let message = `unknown key '${key}' ${placeOf(path)}`;
    if (guess) message += ` (did you mean '${guess}'?)`;
    else if (path.length === 0 && isMap(this.src.resolve(value)) && ['steps', 'build', 'deploy', 'image'].some((k) => this.src.pair(value, k))) {
      message += `; jobs go under 'jobs:'`;
    } else message += `; expected one of: ${valid.join(', ')}`;
    this.diags.error('SPEC_UNKNOWN_KEY', message, at);
    return guess;
  }

  private walkList(s: Schema, node: Node, path: YamlPath): void {
    if (!isSeq(node)) return;
    const items = s.items as Schema | undefined;
    if (typeof s.minItems === 'number' && node.items.length < s.minItems) {
      this.diags.error('SPEC_VALUE', `${labelOf(path)} is an empty list; add at least ${s.minItems === 1 ? 'one item' : `${s.minItems} items`}`, this.src.start(node));
    }
    if (!items) return;
    node.items.forEach((item, index) => this.walk(items, item as Node | null, [...path, index], this.src.start(node)));
  }

  private walkScalar(s: Schema, node: Scalar | null, path: YamlPath, at: Position): void {
    const value = node?.value;
    const check = s['x-check'];
    if (s.const !== undefined && value !== s.const) {
      if (s['x-code'] === 'SPEC_VERSION') this.diags.error('SPEC_VERSION', `unsupported version ${String(value)}: this Slipway reads version: 1`, at);
      else this.diags.error('SPEC_VALUE', `${labelOf(path)} must be ${quote(s.const)}, not ${describeNode(node)}`, at);
      return;
    }
    if (typeof value === 'number') {
      if (s.type === 'integer' && !Number.isInteger(value)) {
        this.diags.error('SPEC_TYPE', `${labelOf(path)} must be a whole number, not ${value}`, at);
      } else if ((typeof s.minimum === 'number' && value < s.minimum) || (typeof s.maximum === 'number' && value > s.maximum)) {
        this.diags.error('SPEC_VALUE', `${labelOf(path)} must be ${expected(s)}, not ${value}`, at);
      }
    }
    if (check === 'template' && node) return this.checkTemplate(node, path);
    if (check === 'condition' && node) return this.checkCondition(node, path);
    if (typeof value !== 'string') return;
    if (typeof s.minLength === 'number' && value.length < s.minLength) {
      this.diags.error((s['x-code'] as SpecCode | undefined) ?? 'SPEC_VALUE', `${labelOf(path)} must not be empty`, at);
      return;
    }
    switch (check) {
      case 'duration':
      case 'durationOrZero': {
        const ms = parseDuration(value);
        if (ms === undefined) {
          const unitless = /^[0-9]+(\.[0-9]+)?$/.test(value) ? `; add a unit, e.g. ${value}s` : '';
          this.diags.error('SPEC_DURATION', `${labelOf(path)} must be a duration like 500ms, 10s, 1m30s or 2h, not '${value}'${unitless}`, at);
        } else if (ms === 0 && check === 'duration') {
          this.diags.error('SPEC_DURATION', `${labelOf(path)} must be longer than 0`, at);
        }
        return;
      }
      case 'glob': {
        const problem = checkGlob(value);
        if (problem) this.diags.error('SPEC_GLOB', `bad pattern '${value}' ${placeOf(path.slice(0, -1))}: ${problem}`, at);
        return;
      }
      case 'relativePath':
        if (value.startsWith('/') || value.split('/').includes('..')) {
          this.diags.error('SPEC_VALUE', `${labelOf(path)} must be a path inside the repository (relative, without '..'), not '${value}'`, at);
        }
        return;
    }
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) {
      const code = (s['x-code'] as SpecCode | undefined) ?? 'SPEC_VALUE';
      this.diags.error(code, `${labelOf(path)} must be ${String(s['x-expected'] ?? `a string matching ${s.pattern}`)}, not '${value}'`, at);
    }
  }

  private checkTemplate(node: Scalar, path: YamlPath): void {
    if (typeof node.value !== 'string') return;
    try {
      const parts = parseTemplate(node.value);
      const exprs = parts.flatMap((p) => ('expr' in p ? [p.expr] : []));
      if (exprs.length) this.sites.push({ path, node, exprs });
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      this.diags.error('SPEC_EXPRESSION', `${labelOf(path)}: ${err.message}`, this.src.charAt(node, err.offset));
    }
  }

  private checkCondition(node: Scalar, path: YamlPath): void {
    if (typeof node.value !== 'string') return;
    if (node.value.trim() === '') {
      this.diags.error('SPEC_EXPRESSION', `${labelOf(path)} is an empty condition; remove it or write one such as branch == 'main'`, this.src.start(node));
      return;
    }
    try {
      this.sites.push({ path, node, exprs: [parseCondition(node.value)] });
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      this.diags.error('SPEC_EXPRESSION', `${labelOf(path)}: ${err.message}`, this.src.charAt(node, err.offset));
    }
  }
}

// ---- whole-file rules ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The keys a job may have, from the schema: jobs is a record whose one pattern maps to the job.
const JOB_KEYS = ((Object.values((annotatedPipelineSchema.properties as Record<string, SchemaNode>).jobs?.patternProperties as Record<string, SchemaNode>)[0]?.properties ?? {}) as Record<string, SchemaNode>);
const STEPS_ONLY_KEYS = ['image', 'services', 'steps', 'cache', 'artifacts'] as const;

/** The kind a job's keys make it, for the rules and for the expression checks. */
export function jobKindOf(job: Record<string, unknown>): JobKind | undefined {
  if (job.build !== undefined) return 'build';
  if (job.deploy !== undefined) return 'deploy';
  if (job.steps !== undefined || job.image !== undefined) return 'steps';
  return undefined;
}

function needsOf(job: Record<string, unknown>): Array<{ name: string; path: YamlPath }> {
  if (typeof job.needs === 'string') return [{ name: job.needs, path: ['needs'] }];
  if (!Array.isArray(job.needs)) return [];
  return job.needs.flatMap((name, i) => (typeof name === 'string' ? [{ name, path: ['needs', i] }] : []));
}

/** A push password must come from a secret the file declares, so that it is masked and never stored. */
function checkPushSecret(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>, secrets: unknown[]): void {
  const push = isRecord(job.build) && isRecord(job.build.push) ? job.build.push : undefined;
  const secret = push?.passwordSecret;
  if (typeof secret !== 'string' || secrets.includes(secret)) return;
  diags.error(
    'SPEC_VALUE',
    `job '${name}' pushes with secret '${secret}', which is not listed under secrets:; add it there (its value comes from the server or --secret)`,
    src.valueAt(['jobs', name, 'build', 'push', 'passwordSecret']),
  );
}

function checkGraph(src: YamlSource, diags: DiagnosticList, sites: ExpressionSite[]): void {
  const raw: unknown = src.toJS();
  if (!isRecord(raw)) return;
  const jobs = isRecord(raw.jobs) ? raw.jobs : {};
  const names = Object.keys(jobs);
  const kinds = new Map<string, JobKind | undefined>();
  const edges = new Map<string, string[]>();

  for (const name of names) {
    const job = jobs[name];
    if (!isRecord(job)) continue;
    kinds.set(name, jobKindOf(job));
    checkJobKind(src, diags, name, job);
    checkDeploy(src, diags, name, job);
    checkPushSecret(src, diags, name, job, Array.isArray(raw.secrets) ? raw.secrets : []);

    const seen = new Set<string>();
    const valid: string[] = [];
    for (const need of needsOf(job)) {
      const at = src.valueAt(['jobs', name, ...need.path]);
      if (need.name === name) {
        diags.error('SPEC_NEEDS_CYCLE', `job '${name}' needs itself: a job cannot wait for itself; remove '${name}' from its needs`, at);
      } else if (!(need.name in jobs)) {
        const guess = closest(need.name, names.filter((n) => n !== name));
        diags.error('SPEC_NEEDS_UNKNOWN', `job '${name}' needs '${need.name}', which is not a job${guess ? ` (did you mean '${guess}'?)` : `; the jobs are ${names.join(', ')}`}`, at);
      } else if (seen.has(need.name)) {
        diags.warning('SPEC_NEEDS_DUPLICATE', `job '${name}' lists '${need.name}' in needs twice; once is enough`, at);
      } else {
        valid.push(need.name);
      }
      seen.add(need.name);
    }
    edges.set(name, valid);
  }
  reportCycles(src, diags, names, edges);

  // What each job may read through jobs.X: everything upstream of it.
  const upstream = new Map<string, Set<string>>();
  const upstreamOf = (name: string): Set<string> => {
    let set = upstream.get(name);
    if (set) return set;
    set = new Set();
    upstream.set(name, set); // set before the walk: cycles (already reported) end here
    for (const need of edges.get(name) ?? []) {
      set.add(need);
      for (const further of upstreamOf(need)) set.add(further);
    }
    return set;
  };

  for (const site of sites) {
    const job = site.path[0] === 'jobs' && typeof site.path[1] === 'string' ? site.path[1] : undefined;
    // Upstream sets are built only when an expression names a job: most name none, and the sets of
    // a long chain of jobs are quadratic to build.
    const scope: ExpressionScope = { jobs: kinds, job, upstream: { has: (name) => job !== undefined && upstreamOf(job).has(name) } };
    for (const expr of site.exprs) {
      for (const issue of checkExpression(expr, scope)) {
        const at = src.charAt(site.node, issue.offset);
        if (issue.severity === 'error') diags.error('SPEC_EXPRESSION', issue.message, at);
        else diags.warning('SPEC_EXPRESSION', issue.message, at);
      }
    }
  }
}

function checkJobKind(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>): void {
  const present = (['steps', 'build', 'deploy'] as const).filter((k) => job[k] !== undefined);
  const jobAt = src.keyAt(['jobs', name]);
  if (present.length > 1) {
    const second = present[1] ?? 'build';
    diags.error(
      'SPEC_JOB_KIND',
      `job '${name}' has both '${present[0]}' and '${second}': a job is exactly one of steps, build or deploy; split it into two jobs joined by needs`,
      src.keyAt(['jobs', name, second]),
    );
    return;
  }
  const kind = present[0];
  const misspelt = Object.keys(job).flatMap((key) => (key in JOB_KEYS ? [] : [closest(key, Object.keys(JOB_KEYS)) ?? '']));
  if (kind === undefined) {
    // A misspelt 'steps' already has its did-you-mean; "does nothing" on top would be noise.
    if (misspelt.some((key) => key === 'steps' || key === 'build' || key === 'deploy')) return;
    if (job.image !== undefined) diags.error('SPEC_MISSING_KEY', `job '${name}' has an image but no steps: add steps: [{ run: ... }]`, jobAt);
    else diags.error('SPEC_JOB_KIND', `job '${name}' does nothing: give it steps (with an image), a build, or a deploy`, jobAt);
    return;
  }
  if (kind === 'steps') {
    if (job.image === undefined && !misspelt.includes('image')) diags.error('SPEC_MISSING_KEY', `job '${name}' has steps but no image to run them in: add image: (e.g. image: node:20)`, jobAt);
    return;
  }
  for (const key of STEPS_ONLY_KEYS) {
    if (job[key] !== undefined) {
      diags.error('SPEC_JOB_KIND', `'${key}' belongs to steps jobs, but job '${name}' is a ${kind} job; move it to a job of its own`, src.keyAt(['jobs', name, key]));
    }
  }
}

function checkDeploy(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>): void {
  const deploy = job.deploy;
  if (!isRecord(deploy)) return;
  const base = ['jobs', name, 'deploy'];
  if (isRecord(deploy.health)) {
    const kinds = (['path', 'tcp', 'cmd'] as const).filter((k) => deploy.health && (deploy.health as Record<string, unknown>)[k] !== undefined);
    if (kinds.length > 1) {
      diags.error('SPEC_VALUE', `the health check of job '${name}' has ${kinds.map((k) => `'${k}'`).join(' and ')}: choose one of path, tcp, cmd`, src.keyAt([...base, 'health', kinds[1] ?? 'cmd']));
    }
  }
  if (isRecord(deploy.strategy) && deploy.strategy.maxSurge === 0 && deploy.strategy.maxUnavailable === 0) {
    diags.error('SPEC_VALUE', `maxSurge and maxUnavailable of job '${name}' are both 0: a rollout could never replace a replica; raise one of them`, src.keyAt([...base, 'strategy']));
  }
  const target = deploy.target ?? 'docker';
  // kubernetes settings beside target: docker are fine: the contract's own example keeps them
  // ready for a switch of target. publish has no meaning on Kubernetes, so that one is flagged.
  if (target === 'kubernetes' && deploy.publish !== undefined) {
    diags.warning('SPEC_IGNORED', `'publish' of job '${name}' is ignored by the kubernetes target: the Service exposes the app`, src.keyAt([...base, 'publish']));
  }
}

/** Each cycle once, at the `needs` entry that closes it, named in full: a → b → a. */
function reportCycles(src: YamlSource, diags: DiagnosticList, names: string[], edges: Map<string, string[]>): void {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'active');
    stack.push(name);
    for (const need of edges.get(name) ?? []) {
      const s = state.get(need);
      if (s === 'active') {
        const cycle = [...stack.slice(stack.indexOf(need)), need];
        const job = src.node(['jobs', name]);
        const needsNode = job ? src.node(['jobs', name, 'needs']) : null;
        const index = isSeq(needsNode) ? needsNode.items.findIndex((item) => isScalar(src.resolve(item)) && (src.resolve(item) as Scalar).value === need) : -1;
        const at = index >= 0 ? src.valueAt(['jobs', name, 'needs', index]) : src.valueAt(['jobs', name, 'needs']);
        // Written upstream-first (the order the jobs would have to run in), so it reads as a loop.
        diags.error('SPEC_NEEDS_CYCLE', `needs form a cycle: ${cycle.reverse().join(' → ')}; remove one of these needs`, at);
      } else if (s === undefined) {
        visit(need);
      }
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of names) if (!state.has(name)) visit(name);
}
