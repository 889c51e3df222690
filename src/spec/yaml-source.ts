// The YAML layer: parses text into a document whose every node knows its place, with the limits
// that keep hostile files cheap, and answers "where is this node / this character" for diagnostics.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { DiagnosticList } from './diagnostics.js';

/** Files above this are refused before they are parsed (the loader checks the size on disk first). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Aliases the file may hold; yaml's own guard also caps how far they expand. */
export const MAX_ALIAS_COUNT = 100;
/** Nodes the file may hold, aliases expanded: far above any real pipeline, far below a bomb. */
export const MAX_NODES = 200_000;

export interface Position {
  line: number;
  col: number;
}

export type YamlPath = ReadonlyArray<string | number>;

export class YamlSource {
  private readonly lines: LineCounter;

  private plain: unknown;
  private hasPlain = false;

  /** The document as plain data (merges applied), computed once: validation and compile share it. */
  toJS(): unknown {
    if (!this.hasPlain) {
      // Alias expansion was bounded when the file was parsed, so no further limit here.
      this.plain = this.doc.toJS({ maxAliasCount: -1 });
      this.hasPlain = true;
    }
    return this.plain;
  }

  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    lines: LineCounter,
  ) {
    this.lines = lines;
  }

  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  /** Where a node starts; the start of the file for a node without a range. */
  start(node: Node | null | undefined): Position {
    return this.at(node?.range?.[0] ?? 0);
  }

  /** Follows an alias to the node it names (the anchor). */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }

  // Key → pair per mapping, built on first use: lookups by path are frequent (every position the
  // compiler keeps) and a scan of a 200-job mapping for each would be quadratic.
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair<Node, Node | null>>>();

  /** The pair of `key` in a mapping node (the last one, as YAML readers keep the last). */
  pair(map: Node | null, key: string): Pair<Node, Node | null> | undefined {
    const resolved = this.resolve(map);
    if (!isMap(resolved)) return undefined;
    let index = this.pairIndex.get(resolved);
    if (!index) {
      index = new Map();
      this.pairIndex.set(resolved, index);
      for (const pair of this.pairs(resolved)) index.set(String((pair.key as Scalar).value), pair);
    }
    return index.get(key);
  }

  /**
   * The pairs of a mapping with `<<` merge keys expanded, as a YAML reader sees them: the merged
   * mappings' pairs first, then the mapping's own (which win). Pairs keep their own positions.
   */
  pairs(map: Node, depth = 0): Array<Pair<Node, Node | null>> {
    if (!isMap(map) || depth > 20) return [];
    const byKey = new Map<unknown, Pair<Node, Node | null>>();
    const own: Array<Pair<Node, Node | null>> = [];
    for (const item of (map as YAMLMap<Node, Node | null>).items) {
      if (!isPair(item)) continue;
      if (isMergeKey(item.key)) {
        const sources = isSeq(item.value) ? item.value.items : [item.value];
        for (const source of sources) {
          for (const pair of this.pairs(this.resolve(source) as Node, depth + 1)) {
            const key = isScalar(pair.key) ? pair.key.value : pair.key;
            if (!byKey.has(key)) byKey.set(key, pair); // the first merged mapping wins, as in YAML
          }
        }
      } else {
        own.push(item);
      }
    }
    for (const item of own) {
      const key = isScalar(item.key) ? item.key.value : item.key;
      byKey.delete(key);
      byKey.set(key, item);
    }
    return [...byKey.values()];
  }

  /** The node at a path of keys and list indexes, aliases followed. */
  node(path: YamlPath): Node | null {
    let node: Node | null = this.resolve(this.doc.contents);
    for (const step of path) {
      if (typeof step === 'number') {
        node = isSeq(node) ? this.resolve(node.items[step]) : null;
      } else {
        node = this.resolve(this.pair(node, step)?.value);
      }
      if (!node) return null;
    }
    return node;
  }

  /** Where the key of the last path step stands (the value, for a list index). */
  keyAt(path: YamlPath): Position {
    const last = path[path.length - 1];
    if (typeof last === 'string') {
      const pair = this.pair(this.node(path.slice(0, -1)), last);
      if (pair) return this.start(pair.key);
    }
    return this.start(this.node(path));
  }

  valueAt(path: YamlPath): Position {
    return this.start(this.node(path));
  }

  /**
   * Where the character `index` of a scalar's value stands in the file. Exact for plain and
   * quoted one-line strings and for block scalars; for the rest (folded text, escapes) it finds
   * the text near the index, else falls back to the scalar's start.
   */
  charAt(node: Node, index: number): Position {
    const range = node.range;
    if (!range || !isScalar(node)) return this.start(node);
    const raw = this.text.slice(range[0], range[1]);
    const value = String((node as Scalar).value);
    const lineStart = value.lastIndexOf('\n', index - 1) + 1;
    const lineNumber = value.slice(0, lineStart).split('\n').length - 1;
    const valueLines = value.split('\n');
    let searchFrom = 0;
    for (let n = 0; n <= lineNumber; n++) {
      const text = valueLines[n] ?? '';
      const found = text.length ? raw.indexOf(text, searchFrom) : -1;
      if (found < 0) {
        searchFrom = -1;
        break;
      }
      if (n === lineNumber) return this.at(range[0] + found + (index - lineStart));
      searchFrom = found + text.length;
    }
    // Folded text joins lines: look for the word at the index instead.
    const near = /^\S+/.exec(value.slice(index))?.[0] ?? '';
    const found = near ? raw.indexOf(near) : -1;
    return found >= 0 ? this.at(range[0] + found) : this.start(node);
  }
}

/** The `<<` key of a YAML merge (the yaml package marks it with a MergeValue scalar). */
export function isMergeKey(key: unknown): boolean {
  // With `merge: true` the yaml package reads the key as Symbol('<<').
  return isScalar(key) && (typeof key.value === 'symbol' || key.value === '<<');
}

/**
 * Parses `text`; reports syntax errors, duplicate keys and alias bombs into `diags`. Returns no
 * source when the document cannot be walked safely (syntax errors, bombs); duplicate keys alone
 * still let the walk go on, so the user sees every other problem too.
 */
export function parseYaml(text: string, file: string, diags: DiagnosticList): YamlSource | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    diags.error('SPEC_TOO_LARGE', `the file is ${(bytes / 1048576).toFixed(1)} MiB; a pipeline file may be at most 1 MiB`, { line: 0, col: 0 });
    return undefined;
  }
  const lines = new LineCounter();
  // merge: `<<: *defaults` is how CI files share settings between jobs (YAML 1.1's merge key).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.2', merge: true });
  const source = new YamlSource(file, text, doc, lines);
  let fatal = false;
  for (const error of doc.errors) {
    const at = source.at(error.pos[0]);
    if (error.code === 'DUPLICATE_KEY') {
      const key = /^("[^"]*"|'[^']*'|[^:\s]+)/.exec(text.slice(error.pos[0]))?.[0] ?? 'this key';
      diags.error('SPEC_DUPLICATE_KEY', `duplicate key '${key}': it is already set above in the same mapping; keep one`, at);
    } else if (error.code === 'MULTIPLE_DOCS') {
      fatal = true;
      diags.error('SPEC_YAML_SYNTAX', "the file holds several YAML documents ('---'); a pipeline file is one document", at);
    } else {
      fatal = true;
      diags.error('SPEC_YAML_SYNTAX', `invalid YAML: ${error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`, at);
    }
  }
  if (fatal) return undefined;
  for (const warning of doc.warnings) {
    diags.warning('SPEC_YAML_SYNTAX', warning.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ''), source.at(warning.pos[0]));
  }
  // Aliases are what makes a small file huge: count them and their expansion before any walk.
  let aliases = 0;
  let firstAlias: Node | undefined;
  let nodes = 0;
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (++nodes > MAX_NODES) {
      diags.error('SPEC_TOO_LARGE', `the file holds more than ${MAX_NODES} YAML nodes`, { line: 1, col: 1 });
      return undefined;
    }
    if (isAlias(node)) {
      aliases++;
      if (!firstAlias || (node.range?.[0] ?? 0) < (firstAlias.range?.[0] ?? 0)) firstAlias = node;
    } else if (isMap(node) || isSeq(node)) {
      for (const item of node.items) {
        if (isPair(item)) stack.push(item.key, item.value);
        else stack.push(item);
      }
    }
  }
  if (aliases > 0) {
    let bomb = aliases > MAX_ALIAS_COUNT;
    if (!bomb) {
      try {
        doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        if (!(err instanceof ReferenceError)) throw err;
        bomb = true;
      }
    }
    if (bomb) {
      diags.error(
        'SPEC_ALIAS_LIMIT',
        `YAML aliases (*name) here would expand this file far beyond its size (at most ${MAX_ALIAS_COUNT} aliases, each expanded a bounded number of times); write the values out`,
        source.start(firstAlias),
      );
      return undefined;
    }
  }
  return source;
}
