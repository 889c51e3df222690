// Checks a parsed slipway.yaml: a walk of the YAML nodes against the TypeBox schema (types, keys,
// ranges, with did-you-mean), the leaf checks the schema names (durations, globs, expressions,
// paths), then the whole-file rules (job kinds, the needs graph, what expressions may read).
// It collects every problem; nothing stops at the first.
import { isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import { clip, type DiagnosticList, type SpecCode } from './diagnostics.js';
import { parseDuration } from './durations.js';
import { ExpressionError, parseCondition, parseTemplate } from './expressions.js';
import { checkGlob } from './globs.js';
import { checkPathGlob } from './path-filters.js';
import { environmentProblem, isPreviewEnvironment } from './preview.js';
import { checkTriggerFilters } from './triggers.js';
import { checkGraph, MAX_JOBS, type ExpressionSite } from './rules.js';
import { annotatedPipelineSchema } from './schema.generated.js';
import type { SchemaNode } from './schema-node.js';
import { closest, didYouMean } from './suggest.js';
import type { Position, YamlPath, YamlSource } from './yaml-source.js';
import { labelOf, placeOf } from './places.js';
import { checkSchedules, scheduleValueProblem } from './schedule.js';

// 'other': a scalar a YAML tag made into something else (a !!timestamp, !!binary, …).
type Kind = 'mapping' | 'list' | 'string' | 'number' | 'boolean' | 'null' | 'other';
type Schema = SchemaNode;

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
  // A cap before any per-job work: the graph checks cost up to jobs × jobs.
  const jobs = src.resolve(src.pair(root, 'jobs')?.value ?? null);
  const jobPairs = isMap(jobs) ? src.pairs(jobs) : [];
  if (jobPairs.length > MAX_JOBS) {
    diags.error('SPEC_TOO_LARGE', `the file declares ${jobPairs.length} jobs; a pipeline may have at most ${MAX_JOBS}: split it into several pipelines`, src.start(jobPairs[MAX_JOBS]?.key as Node));
    return false;
  }
  new SchemaWalker(src, diags, sites).walk(annotatedPipelineSchema, root, [], undefined);
  checkGraph(src, diags, sites);
  checkTriggerFilters(src, diags);
  checkSchedules(src, diags);
  return !diags.hasErrors;
}

function kindOf(node: Node | null): Kind {
  if (node === null) return 'null';
  if (isMap(node)) return 'mapping';
  if (isSeq(node)) return 'list';
  const value = (node as Scalar).value;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return typeof value === 'string' ? 'string' : 'other';
}

function describeNode(node: Node | null): string {
  const kind = kindOf(node);
  if (kind === 'mapping') return 'a mapping';
  if (kind === 'list') return 'a list';
  if (kind === 'null') return 'empty';
  if (kind === 'other') return `a ${((node as Scalar).tag ?? 'non-string').replace('tag:yaml.org,2002:', '!!')} value`;
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
    else if (kinds.includes('string') && isScalar(node) && kindOf(node) !== 'other' && typeof node.value !== 'string' && node.value !== null && (typeof s.pattern !== 'string' || new RegExp(s.pattern).test(String(node.value)))) {
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
        // Own keys only: a key named 'constructor' is unknown, not Object's constructor.
        const child = Object.hasOwn(properties, key) ? properties[key] : undefined;
        if (child) {
          this.walk(child, pair.value as Node | null, childPath, keyAt);
          continue;
        }
        const extension = patterns && Object.entries(patterns).find(([pattern]) => new RegExp(pattern).test(key));
        if (extension) {
          this.walk(extension[1], pair.value as Node | null, childPath, keyAt);
          continue;
        }
        // Free names beside fixed keys (a matrix's keys beside include/exclude).
        const free = s.additionalProperties;
        if (free !== null && typeof free === 'object') {
          // 'inclde: [{ … }]' is a misspelt fixed key, not a free name with odd values.
          const value = this.src.resolve(pair.value);
          if (isSeq(value) && value.items.some((item) => isMap(this.src.resolve(item))) && closest(key, Object.keys(properties))) {
            this.unknownKey(key, Object.keys(properties), path, keyAt, pair.value as Node | null);
            continue;
          }
          this.checkName(s, (s.propertyNames as Schema | undefined)?.pattern, key, path, keyAt);
          this.walk(free as Schema, pair.value as Node | null, childPath, keyAt);
          continue;
        }
        const guess = this.unknownKey(key, Object.keys(properties), path, keyAt, pair.value as Node | null);
        if (guess) suggested.add(guess);
        continue;
      }
      if (patterns) {
        const [pattern, child] = Object.entries(patterns)[0] ?? [];
        if (pattern && child) {
          this.checkName(s, pattern, key, path, keyAt);
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
      // an item of a list is pointed at itself, a mapping under a key at its key
      const at = typeof path[path.length - 1] === 'number' ? this.src.start(node) : keyPos ?? this.src.start(node);
      this.diags.error('SPEC_VALUE', `${labelOf(path)} is empty: add at least one entry`, at);
    }
  }

  private checkName(s: Schema, pattern: unknown, key: string, path: YamlPath, at: Position): void {
    if (typeof pattern !== 'string' || new RegExp(pattern).test(key)) return;
    const code = (s['x-key-code'] as SpecCode | undefined) ?? 'SPEC_NAME';
    this.diags.error(code, `invalid name '${clip(key)}' ${placeOf(path)}: expected ${String(s['x-key-expected'] ?? `a name matching ${pattern}`)}`, at);
  }

  private unknownKey(key: string, valid: string[], path: YamlPath, at: Position, value: Node | null): string | undefined {
    const guess = closest(key, valid);
    let message = `unknown key '${clip(key)}' ${placeOf(path)}`;
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
      this.diags.error((s['x-code'] as SpecCode | undefined) ?? 'SPEC_VALUE', `${labelOf(path)} is an empty list; add at least ${s.minItems === 1 ? 'one item' : `${s.minItems} items`}`, this.src.start(node));
    }
    if (typeof s.maxItems === 'number' && node.items.length > s.maxItems) {
      // Reported at the first item too many; the items past the limit are not checked one by one.
      this.diags.error((s['x-code'] as SpecCode | undefined) ?? 'SPEC_VALUE', `${labelOf(path)} has ${node.items.length} items; at most ${s.maxItems} are allowed`, this.src.start(node.items[s.maxItems] as Node));
      return;
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
          this.diags.error('SPEC_DURATION', `${labelOf(path)} must be a duration like 500ms, 10s, 1m30s or 2h, not '${clip(value)}'${unitless}`, at);
        } else if (ms === 0 && check === 'duration') {
          this.diags.error('SPEC_DURATION', `${labelOf(path)} must be longer than 0`, at);
        }
        return;
      }
      case 'glob':
      case 'pathGlob': {
        const problem = check === 'glob' ? checkGlob(value) : checkPathGlob(value);
        if (problem) this.diags.error('SPEC_GLOB', `bad pattern '${clip(value)}' ${placeOf(path.slice(0, -1))}: ${problem}`, at);
        return;
      }
      case 'environment': {
        const problem = environmentProblem(value);
        if (problem?.kind === 'expression' && node) this.diags.error('SPEC_EXPRESSION', `${labelOf(path)}: ${problem.message}`, this.src.charAt(node, problem.index));
        const preview = isPreviewEnvironment(value) ? ' with ${{ pr.number }} in it' : '';
        if (problem?.kind === 'name') this.diags.error('SPEC_VALUE', `${labelOf(path)} must be ${String(s['x-expected'])}${preview}, not '${clip(value)}'`, at);
        return;
      }
      case 'cron':
      case 'timezone': {
        const problem = scheduleValueProblem(check, value);
        // the column of the field at fault, when the problem is one field of the cron expression
        const where = problem?.index !== undefined && node ? this.src.charAt(node, problem.index) : at;
        if (problem) this.diags.error('SPEC_SCHEDULE', `${check} '${clip(value)}' ${placeOf(path.slice(0, -1))}: ${problem.message}`, where);
        return;
      }
      case 'relativePath':
        if (value.startsWith('/') || value.split('/').includes('..')) {
          this.diags.error('SPEC_VALUE', `${labelOf(path)} must be a path inside the repository (relative, without '..'), not '${clip(value)}'`, at);
        }
        return;
    }
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) {
      const code = (s['x-code'] as SpecCode | undefined) ?? 'SPEC_VALUE';
      this.diags.error(code, `${labelOf(path)} must be ${String(s['x-expected'] ?? `a string matching ${s.pattern}`)}, not '${clip(value)}'`, at);
    }
  }

  private checkTemplate(node: Scalar, path: YamlPath): void {
    if (typeof node.value !== 'string') return;
    try {
      const parts = parseTemplate(node.value);
      const exprs = parts.flatMap((p) => ('expr' in p ? [p.expr] : []));
      if (exprs.length) this.sites.push({ path, node, exprs });
    } catch (err) {
      this.expressionError(err, node, path);
    }
  }

  private expressionError(err: unknown, node: Scalar, path: YamlPath): void {
    if (!(err instanceof ExpressionError)) throw err;
    const code = err.kind === 'limit' ? 'SPEC_EXPRESSION_LIMIT' : 'SPEC_EXPRESSION';
    this.diags.error(code, `${labelOf(path)}: ${err.message}`, this.src.charAt(node, err.offset));
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
      this.expressionError(err, node, path);
    }
  }
}

