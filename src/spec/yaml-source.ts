// The YAML layer: a parsed document whose every node knows its place (yaml-parse.ts makes one, with
// the limits that keep hostile files cheap); answers "where is this node / this character".
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';

/** Files above this are refused before they are parsed (the loader checks the size on disk first). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Aliases the file may hold; yaml's own guard also caps how far they expand. */
export const MAX_ALIAS_COUNT = 100;
/** Nodes the file may hold (aliases not expanded: their expansion is bounded apart). */
export const MAX_NODES = 200_000;
/**
 * How deep collections may nest, aliases and merges expanded. A pipeline needs about 8; the
 * yaml package's toJS() and the validator recurse once per level.
 */
export const MAX_YAML_DEPTH = 64;

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
      // The first call (when the file is parsed) is the one that finds an alias bomb.
      this.plain = this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
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

  /** Never below 1:1, so every diagnostic has a place (linePos says 0 before the first line). */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(Number.isFinite(offset) ? offset : 0);
    return { line: Math.max(1, line), col: Math.max(1, col) };
  }

  /** Where a node starts; the start of the file for a node without a range. */
  start(node: Node | null | undefined): Position {
    return this.at(node?.range?.[0] ?? 0);
  }

  // The yaml package finds an alias's anchor by walking the whole document, each time: keep it.
  private readonly anchors = new WeakMap<Node, Node | null>();

  /** Records where an alias points, found by a walk in document order (see yaml-parse.ts). */
  noteAlias(alias: Node, target: Node | null): void {
    this.anchors.set(alias, target);
  }

  /** Follows an alias to the node it names (the anchor). */
  resolve(node: unknown): Node | null {
    if (!isAlias(node)) return (node as Node | null | undefined) ?? null;
    let target = this.anchors.get(node);
    if (target === undefined) {
      target = (node.resolve(this.doc) as Node | undefined) ?? null;
      this.anchors.set(node, target);
    }
    return target;
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
        // As the yaml package reads it: an alias of a list merges each of the list's mappings.
        const value = this.resolve(item.value);
        const sources = isSeq(value) ? value.items : [item.value];
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

  private readonly located = new WeakMap<Node, ScalarText>();

  /**
   * Where the character `index` of a scalar's value stands in the file. Exact for plain and
   * quoted one-line strings and for block scalars; for the rest (folded text, escapes) it finds
   * the text near the index, else falls back to the scalar's start. The scalar's lines are found
   * once and kept, so a long script with many problems is not searched again for each.
   */
  charAt(node: Node, index: number): Position {
    const range = node.range;
    if (!range || !isScalar(node)) return this.start(node);
    let text = this.located.get(node);
    if (!text) {
      text = new ScalarText(this.text.slice(range[0], range[1]), String((node as Scalar).value));
      this.located.set(node, text);
    }
    const offset = text.offsetOf(index);
    return offset >= 0 ? this.at(range[0] + offset) : this.start(node);
  }
}

/** A scalar's value matched line by line to its text in the file (its `raw`). */
class ScalarText {
  /** where each line of the value starts, in the value */
  private readonly lineStarts: number[] = [0];
  /** where each line of the value was found in raw, for the lines searched so far; -1 not found */
  private readonly found: number[] = [];
  private searchFrom = 0;
  private readonly nearWords = new Map<string, number>();

  constructor(
    private readonly raw: string,
    private readonly value: string,
  ) {
    for (let i = value.indexOf('\n'); i >= 0; i = value.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  /** The offset in raw of the value's character `index`, or -1. */
  offsetOf(index: number): number {
    const line = this.lineOf(index);
    const start = this.lineFound(line);
    if (start >= 0) return start + (index - (this.lineStarts[line] ?? 0));
    // Folded text joins lines: look for the word at the index instead.
    const near = /\S{1,64}/y;
    near.lastIndex = index;
    const word = near.exec(this.value)?.[0] ?? '';
    if (!word) return -1;
    let at = this.nearWords.get(word);
    if (at === undefined) {
      at = this.raw.indexOf(word);
      this.nearWords.set(word, at);
    }
    return at;
  }

  private lineOf(index: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= index) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** Each line is searched after the one before it; once one is missing, so are the rest. */
  private lineFound(line: number): number {
    while (this.found.length <= line) {
      const n = this.found.length;
      const previous = this.found[n - 1];
      if (previous !== undefined && previous < 0) {
        this.found.push(-1);
        continue;
      }
      const start = this.lineStarts[n] ?? 0;
      const end = (this.lineStarts[n + 1] ?? this.value.length + 1) - 1;
      const text = this.value.slice(start, end);
      // An empty line has nothing to find; the next line is searched from the same place.
      const at = text.length ? this.raw.indexOf(text, this.searchFrom) : this.searchFrom;
      this.found.push(at);
      if (at >= 0) this.searchFrom = at + text.length;
    }
    return this.found[line] ?? -1;
  }
}

/**
 * The `<<` key of a YAML merge. With `merge: true` the yaml package reads a plain `<<` as
 * Symbol('<<'); a quoted '<<' is an ordinary key, for it as for us.
 */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol';
}

