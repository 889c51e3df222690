// Text to a YAML document safe to walk: the yaml package's errors and warnings as diagnostics, then
// one iterative walk before anything recursive touches the document. The walk counts nodes and
// aliases, finds duplicate keys and `<<` merges of non-mappings, and measures how deep the document
// nests once aliases are expanded; the yaml package's toJS() and every later walk recurse, so a
// document that passes here is safe for them.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Alias, type Document, type Node, type YAMLMap } from 'yaml';
import type { DiagnosticList } from './diagnostics.js';
import { isMergeKey, MAX_ALIAS_COUNT, MAX_FILE_BYTES, MAX_NODES, MAX_YAML_DEPTH, YamlSource } from './yaml-source.js';

export interface TreeReport {
  /** the walk found a problem that makes the document unsafe or meaningless to walk further */
  fatal: boolean;
  aliases: number;
  /** the alias earliest in the file, for the alias-limit message */
  firstAlias: Node | undefined;
}

type Child = unknown;

function childrenOf(node: unknown): Child[] {
  if (isMap(node) || isSeq(node)) {
    const out: Child[] = [];
    for (const item of node.items) {
      if (isPair(item)) out.push(item.key, item.value);
      else out.push(item);
    }
    return out;
  }
  return [];
}

function offsetOf(node: unknown): number {
  return (node as Node | null | undefined)?.range?.[0] ?? 0;
}

/** How a merge source reads in a message. */
function describeMergeSource(node: unknown, target: unknown): string {
  const what = (n: unknown): string => {
    if (isSeq(n)) return 'a list';
    if (isMap(n)) return 'a mapping';
    if (!isScalar(n) || n.value === null || n.value === undefined) return 'an empty value';
    if (typeof n.value === 'number') return `the number ${n.value}`;
    if (typeof n.value === 'string') return `the string '${n.value.length > 40 ? `${n.value.slice(0, 40)}…` : n.value}'`;
    return String(n.value);
  };
  return isAlias(node) ? `*${node.source}, which names ${what(target)}` : what(node);
}

class TreeInspector {
  /** Height of a node's subtree with aliases expanded (collections count, scalars do not). */
  private readonly heights = new Map<unknown, number>();
  private deepest: { offset: number; message: string } | undefined;
  private fatal = false;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly src: YamlSource,
    private readonly diags: DiagnosticList,
  ) {}

  private resolve(node: unknown): unknown {
    return this.src.resolve(node);
  }

  /**
   * The walk goes in document order (children pushed in reverse), as the yaml package's own alias
   * lookup does: an alias names the last node before it with that anchor. Finding them here once
   * spares the package's lookup, which walks the whole document for every alias.
   */
  inspect(): TreeReport {
    let nodes = 0;
    const aliases: Array<{ alias: Node; depth: number }> = [];
    const anchors = new Map<string, Node>();
    const stack: Array<{ node: unknown; depth: number }> = [{ node: this.doc.contents, depth: 0 }];
    while (stack.length) {
      const { node, depth } = stack.pop()!;
      if (++nodes > MAX_NODES) {
        this.diags.error('SPEC_TOO_LARGE', `the file holds more than ${MAX_NODES} YAML nodes`, this.src.start(node as Node));
        return { fatal: true, aliases: aliases.length, firstAlias: aliases[0]?.alias };
      }
      if (isAlias(node)) {
        this.src.noteAlias(node, anchors.get(node.source) ?? null);
        aliases.push({ alias: node, depth });
        continue;
      }
      const anchor = (node as { anchor?: string } | null)?.anchor;
      if (anchor) anchors.set(anchor, node as Node);
      if (!isMap(node) && !isSeq(node)) continue;
      if (depth + 1 > MAX_YAML_DEPTH) {
        this.tooDeep(offsetOf(node), `the YAML nests more than ${MAX_YAML_DEPTH} levels deep here; a pipeline needs far fewer: flatten it`);
        continue;
      }
      if (isMap(node)) this.checkMapping(node);
      const children = childrenOf(node);
      for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1 });
    }
    // More aliases than allowed is reported as a bomb by the caller; they are not worth measuring.
    if (aliases.length <= MAX_ALIAS_COUNT) for (const { alias, depth } of aliases) this.checkAliasDepth(alias, depth);
    if (this.deepest) {
      this.diags.error('SPEC_TOO_DEEP', this.deepest.message, this.src.at(this.deepest.offset));
      this.fatal = true;
    }
    return { fatal: this.fatal, aliases: aliases.length, firstAlias: aliases[0]?.alias };
  }

  /** Only the problem earliest in the file is reported: one deep branch is enough to fix. */
  private tooDeep(offset: number, message: string): void {
    if (!this.deepest || offset < this.deepest.offset) this.deepest = { offset, message };
  }

  private checkAliasDepth(alias: Node, depth: number): void {
    const target = this.resolve(alias);
    if (target === undefined || target === null) {
      // The yaml package lets this through to toJS(), which throws.
      this.diags.error('SPEC_YAML_SYNTAX', `the alias *${(alias as Alias).source} names no anchor: define &${(alias as Alias).source} on a value before it`, this.src.start(alias));
      this.fatal = true;
      return;
    }
    const height = this.heightOf(target);
    if (height === Infinity) {
      this.diags.error('SPEC_ALIAS_LIMIT', `the alias *${(alias as Alias).source} names a node that contains it: it would expand forever`, this.src.start(alias));
      this.fatal = true;
    } else if (depth + height > MAX_YAML_DEPTH) {
      this.tooDeep(offsetOf(alias), `this alias expands the YAML to more than ${MAX_YAML_DEPTH} levels deep; a pipeline needs far fewer: flatten it`);
    }
  }

  /** Iterative post-order with a memo; an alias back into its own ancestors is a cycle (Infinity). */
  private heightOf(root: unknown): number {
    const known = this.heights.get(root);
    if (known !== undefined) return known;
    const onPath = new Set<unknown>([root]);
    const frames: Array<{ node: unknown; children: Child[]; next: number; best: number }> = [{ node: root, children: childrenOf(root), next: 0, best: 0 }];
    let result = 0;
    while (frames.length) {
      const frame = frames[frames.length - 1]!;
      if (frame.next < frame.children.length) {
        const child = this.resolve(frame.children[frame.next++]);
        const memo = this.heights.get(child);
        if (memo !== undefined) frame.best = Math.max(frame.best, memo);
        else if (onPath.has(child)) frame.best = Infinity;
        else if (isMap(child) || isSeq(child)) {
          onPath.add(child);
          frames.push({ node: child, children: childrenOf(child), next: 0, best: 0 });
        }
        continue;
      }
      frames.pop();
      onPath.delete(frame.node);
      result = isMap(frame.node) || isSeq(frame.node) ? 1 + frame.best : 0;
      this.heights.set(frame.node, result);
      const parent = frames[frames.length - 1];
      if (parent) parent.best = Math.max(parent.best, result);
    }
    return result;
  }

  /**
   * Keys are compared here, once per mapping with a Set, rather than by the yaml package, whose
   * check compares every key with every other (minutes for a mapping of 50 000 keys).
   */
  private checkMapping(map: YAMLMap): void {
    const seen = new Set<unknown>();
    for (const item of map.items) {
      if (!isPair(item)) continue;
      const key = item.key;
      if (isMergeKey(key)) {
        this.checkMerge(item.key as Node, item.value);
        continue;
      }
      // The yaml package's notion of equal keys: the same node, or scalars with equal values.
      const value = isScalar(key) ? key.value : key;
      if (typeof value === 'number' && Number.isNaN(value)) continue;
      if (seen.has(value)) {
        const offset = offsetOf(key);
        const text = /^("[^"]*"|'[^']*'|[^:\s]+)/.exec(this.src.text.slice(offset, offset + 200))?.[0] ?? 'this key';
        this.diags.error('SPEC_DUPLICATE_KEY', `duplicate key '${text}': it is already set above in the same mapping; keep one`, this.src.at(offset));
      }
      seen.add(value);
    }
  }

  /** `<<` takes a mapping, an alias of one, or a list of those; anything else makes toJS() throw. */
  private checkMerge(key: Node, value: unknown): void {
    const resolved = this.resolve(value);
    const sources = isSeq(resolved) ? resolved.items : [value];
    for (const source of sources) {
      const target = this.resolve(source);
      if (isMap(target)) continue;
      const at = (source as Node | null | undefined)?.range ? this.src.start(source as Node) : this.src.start(key);
      this.diags.error(
        'SPEC_TYPE',
        `'<<' merges the keys of a mapping: its value must be a mapping, an alias of one (*name) or a list of those, not ${describeMergeSource(source, target)}`,
        at,
      );
      this.fatal = true;
    }
  }
}

/** The yaml package's messages, without the position it appends (diagnostics carry their own). */
function bareMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
}

/** The yaml package's errors as diagnostics; true when one of them makes the document unusable. */
function reportYamlErrors(doc: Document.Parsed, source: YamlSource, diags: DiagnosticList): boolean {
  for (const error of doc.errors) {
    const at = source.at(error.pos[0]);
    if (error.code === 'MULTIPLE_DOCS') {
      diags.error('SPEC_YAML_SYNTAX', "the file holds several YAML documents ('---'); a pipeline file is one document", at);
    } else if (error.code === 'RESOURCE_EXHAUSTION') {
      // The composer ran out of stack inside a deeply nested collection (parseYaml reports that).
      continue;
    } else {
      diags.error('SPEC_YAML_SYNTAX', `invalid YAML: ${bareMessage(error.message)}`, at);
    }
  }
  for (const warning of doc.warnings) diags.warning('SPEC_YAML_SYNTAX', bareMessage(warning.message), source.at(warning.pos[0]));
  return doc.errors.length > 0;
}

/**
 * Parses `text`; reports syntax errors, duplicate keys, bad merges, deep nesting and alias bombs
 * into `diags`. Returns no source when the document cannot be walked safely; duplicate keys alone
 * still let the walk go on, so the user sees every other problem too.
 */
export function parseYaml(text: string, file: string, diags: DiagnosticList): YamlSource | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    diags.error('SPEC_TOO_LARGE', tooLargeMessage(bytes), { line: 0, col: 0 });
    return undefined;
  }
  const lines = new LineCounter();
  // merge: `<<: *defaults` is how CI files share settings between jobs (YAML 1.1's merge key).
  // uniqueKeys: false, as the walk below finds duplicates in linear time. logLevel: the package
  // would print some warnings (collection keys) to stderr itself.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, version: '1.2', merge: true, logLevel: 'error' });
  const source = new YamlSource(file, text, doc, lines);
  const exhausted = doc.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  if (exhausted) {
    // The yaml package ran out of stack where it did (which depends on the caller's stack); the
    // part it built is deep enough for the walk to name the first level past the limit, the same
    // place every time. The other errors are mostly the cut-off's echoes, so they wait.
    if (!new TreeInspector(doc, source, diags).inspect().fatal) {
      diags.error('SPEC_TOO_DEEP', `the YAML nests too deeply to be read (a pipeline needs far fewer than ${MAX_YAML_DEPTH} levels): flatten it`, source.at(exhausted.pos[0]));
    }
    return undefined;
  }
  if (reportYamlErrors(doc, source, diags)) return undefined;
  const tree = new TreeInspector(doc, source, diags).inspect();
  if (tree.fatal) return undefined;
  // Aliases are what makes a small file huge: their count, then their expansion, bounded.
  let bomb = tree.aliases > MAX_ALIAS_COUNT;
  if (!bomb) {
    try {
      source.toJS();
    } catch (err) {
      if (!(err instanceof ReferenceError) || tree.aliases === 0) {
        diags.error('SPEC_YAML_SYNTAX', `invalid YAML: ${bareMessage(err instanceof Error ? err.message : String(err))}`, source.start(tree.firstAlias));
        return undefined;
      }
      bomb = true;
    }
  }
  if (bomb) {
    diags.error(
      'SPEC_ALIAS_LIMIT',
      `YAML aliases (*name) here would expand this file far beyond its size (at most ${MAX_ALIAS_COUNT} aliases, each expanded a bounded number of times); write the values out`,
      source.start(tree.firstAlias),
    );
    return undefined;
  }
  return source;
}

/** The size refusal, naming the limit (in bytes too: "1.0 MiB" would not explain a refusal of 1 048 577). */
export function tooLargeMessage(bytes: number | undefined): string {
  const limit = `a pipeline file may be at most 1 MiB (${MAX_FILE_BYTES} bytes)`;
  return bytes === undefined ? `the file is larger than 1 MiB; ${limit}` : `the file is ${bytes} bytes (${(bytes / 1048576).toFixed(1)} MiB); ${limit}`;
}
