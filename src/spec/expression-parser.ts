// The expression language's syntax: a tokenizer and a precedence-climbing parser into a small AST,
// with the limits that keep a hostile file from driving the parser or any walk of the AST past the
// stack: a bounded text length, a bounded nesting depth, and `&&`/`||` chains kept flat.

export type Value = string | number | boolean | null;

/** Offsets are indexes into the string the expression was written in. */
export type Expr =
  | { kind: 'literal'; value: Value; start: number; end: number }
  | { kind: 'path'; parts: string[]; partStarts: number[]; start: number; end: number }
  | { kind: 'not'; operand: Expr; start: number; end: number }
  | { kind: 'binary'; op: '==' | '!='; left: Expr; right: Expr; start: number; end: number }
  // A chain `a || b || c` is one node, so a long chain is wide, not deep.
  | { kind: 'logical'; op: '&&' | '||'; operands: Expr[]; start: number; end: number }
  | { kind: 'call'; name: string; args: Expr[]; start: number; end: number };

/** The longest expression text (one `${{ }}`, or one `if:`), in characters. */
export const MAX_EXPRESSION_LENGTH = 4096;
/**
 * How deep an expression may nest: parentheses, `!`, function calls and operators of different
 * precedence each add a level. Real conditions use a handful; recursive walks of the AST (checks,
 * evaluation) stay far from the stack at this depth.
 */
export const MAX_EXPRESSION_DEPTH = 32;

/**
 * A problem in an expression; `offset` indexes the string the expression sits in. `kind` is
 * 'limit' when the expression is well-formed as far as read but too long or too deep.
 */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly kind: 'syntax' | 'limit' = 'syntax',
  ) {
    super(message);
  }
}

type Token =
  | { type: 'string'; value: string; start: number; end: number }
  | { type: 'number'; value: number; start: number; end: number }
  | { type: 'ident'; value: string; start: number; end: number }
  | { type: 'punct'; value: string; start: number; end: number }
  | { type: 'end'; value: ''; start: number; end: number };

const PUNCT = ['==', '!=', '&&', '||', '!', '(', ')', ',', '.'];

const NUMBER = /[0-9]+(?:\.[0-9]+)?/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** A quoted string starting at `start`: '…' doubles its quote (as GitHub Actions does); "…" uses backslashes. */
function readString(text: string, start: number, to: number): Token {
  const quote = text[start] ?? '';
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= to) throw new ExpressionError(`unterminated string: add the closing ${quote}`, start);
    const c = text[i] ?? '';
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { type: 'string', value, start, end: i + 1 };
    }
    if (quote === '"' && c === '\\' && i + 1 < to) {
      const next = text[i + 1] ?? '';
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      i += 2;
      continue;
    }
    value += c;
    i++;
  }
}

/** Sticky regexes and char codes, not slices: expressions are tokenized on every load. */
function tokenize(text: string, from: number, to: number): Token[] {
  const tokens: Token[] = [];
  let i = from;
  while (i < to) {
    const ch = text[i] ?? '';
    if (isSpace(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"') {
      const token = readString(text, start, to);
      tokens.push(token);
      i = token.end;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(text);
    if (number && NUMBER.lastIndex <= to) {
      i = NUMBER.lastIndex;
      tokens.push({ type: 'number', value: Number(number[0]), start, end: i });
      continue;
    }
    // Job names may hold '-', so identifiers do too (there is no minus operator to confuse).
    IDENT.lastIndex = i;
    const ident = IDENT.exec(text);
    if (ident) {
      i = Math.min(IDENT.lastIndex, to);
      tokens.push({ type: 'ident', value: text.slice(start, i), start, end: i });
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, i) && i + p.length <= to);
    if (punct) {
      i += punct.length;
      tokens.push({ type: 'punct', value: punct, start, end: i });
      continue;
    }
    const hint = ch === '=' ? " (use '==' to compare)" : ch === '&' || ch === '|' ? ` (use '${ch}${ch}')` : '';
    throw new ExpressionError(`unexpected character '${ch}'${hint}`, start);
  }
  tokens.push({ type: 'end', value: '', start: to, end: to });
  return tokens;
}

const BINARY_PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3 };

function tooDeep(offset: number): ExpressionError {
  return new ExpressionError(
    `the expression nests more than ${MAX_EXPRESSION_DEPTH} levels deep (parentheses, '!', function calls, chained '=='); simplify it or split it into several conditions`,
    offset,
    'limit',
  );
}

/** Parses `text.slice(from, to)` as one expression; positions stay relative to `text`. */
export function parseExpression(text: string, from = 0, to = text.length): Expr {
  if (to - from > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(`the expression is ${to - from} characters long; an expression may be at most ${MAX_EXPRESSION_LENGTH}`, from, 'limit');
  }
  return new ExpressionParser(text, tokenize(text, from, to)).parseWhole(from);
}

class ExpressionParser {
  private pos = 0;
  /** How many nested constructs the parser is inside: bounds its own recursion. */
  private depth = 0;
  /** The height of each node built (a value is 0): bounds every later recursive walk of the AST. */
  private readonly heights = new WeakMap<Expr, number>();

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parseWhole(from: number): Expr {
    if (this.peek().type === 'end') throw new ExpressionError('empty expression', from);
    const expr = this.binary(0);
    const rest = this.peek();
    if (rest.type !== 'end') {
      const hint = rest.type === 'punct' && rest.value === ')' ? " (an extra ')')" : ': join conditions with && or ||';
      throw new ExpressionError(`unexpected ${this.describe(rest)} after a complete expression${hint}`, rest.start);
    }
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    return this.tokens[this.pos++] ?? this.tokens[this.tokens.length - 1]!;
  }

  private isPunct(value: string): boolean {
    const t = this.peek();
    return t.type === 'punct' && t.value === value;
  }

  private describe(t: Token): string {
    return t.type === 'end' ? 'the end of the expression' : `'${this.text.slice(t.start, t.end)}'`;
  }

  private expect(value: string, what: string): Token {
    const t = this.next();
    if (t.type !== 'punct' || t.value !== value) throw new ExpressionError(`expected ${what}, found ${this.describe(t)}`, t.start);
    return t;
  }

  /** Runs `parse` one level deeper, refusing to go past the limit. */
  private nested<T>(offset: number, parse: () => T): T {
    if (++this.depth > MAX_EXPRESSION_DEPTH) throw tooDeep(offset);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** Records a new node's height (1 + its tallest child) and refuses one past the limit. */
  private built<T extends Expr>(node: T, children: readonly Expr[], offset: number): T {
    let height = 0;
    for (const child of children) height = Math.max(height, this.heights.get(child) ?? 0);
    if (height + 1 > MAX_EXPRESSION_DEPTH) throw tooDeep(offset);
    this.heights.set(node, height + 1);
    return node;
  }

  private primary(): Expr {
    const t = this.next();
    if (t.type === 'string' || t.type === 'number') return { kind: 'literal', value: t.value, start: t.start, end: t.end };
    if (t.type === 'punct' && t.value === '!') {
      const operand = this.nested(t.start, () => this.primary());
      return this.built({ kind: 'not', operand, start: t.start, end: operand.end }, [operand], t.start);
    }
    if (t.type === 'punct' && t.value === '(') {
      const inner = this.nested(t.start, () => this.binary(0));
      const close = this.expect(')', "')'");
      const grouped = { ...inner, start: t.start, end: close.end };
      this.heights.set(grouped, this.heights.get(inner) ?? 0);
      return grouped;
    }
    if (t.type === 'ident') return this.identifier(t);
    throw new ExpressionError(t.type === 'end' ? 'the expression ends too early: a value is missing' : `expected a value, found ${this.describe(t)}`, t.start);
  }

  private identifier(t: Extract<Token, { type: 'ident' }>): Expr {
    if (t.value === 'true' || t.value === 'false') return { kind: 'literal', value: t.value === 'true', start: t.start, end: t.end };
    if (t.value === 'null') return { kind: 'literal', value: null, start: t.start, end: t.end };
    if (this.isPunct('(')) {
      this.next();
      const args = this.nested(t.start, () => this.callArguments());
      const close = this.expect(')', `',' or ')' in the arguments of ${t.value}()`);
      return this.built({ kind: 'call', name: t.value, args, start: t.start, end: close.end }, args, t.start);
    }
    const parts = [t.value];
    const partStarts = [t.start];
    let end = t.end;
    while (this.isPunct('.')) {
      this.next();
      const part = this.next();
      if (part.type !== 'ident' && part.type !== 'number') throw new ExpressionError(`expected a name after '.', found ${this.describe(part)}`, part.start);
      parts.push(String(part.value));
      partStarts.push(part.start);
      end = part.end;
    }
    return { kind: 'path', parts, partStarts, start: t.start, end };
  }

  private callArguments(): Expr[] {
    const args: Expr[] = [];
    if (this.isPunct(')')) return args;
    for (;;) {
      args.push(this.binary(0));
      if (!this.isPunct(',')) return args;
      this.next();
    }
  }

  /**
   * Operators at or above `minPrecedence`. A run of one logical operator is collected in a loop
   * into one node; recursion goes only to a higher precedence, so at most three levels.
   */
  private binary(minPrecedence: number): Expr {
    let left = this.primary();
    for (;;) {
      const t = this.peek();
      const precedence = t.type === 'punct' ? BINARY_PRECEDENCE[t.value] : undefined;
      if (precedence === undefined || precedence <= minPrecedence) return left;
      this.next();
      if (t.value === '&&' || t.value === '||') {
        const operands = [left, this.binary(precedence)];
        while (this.isPunct(t.value)) {
          this.next();
          operands.push(this.binary(precedence));
        }
        const end = operands[operands.length - 1]!.end;
        left = this.built({ kind: 'logical', op: t.value, operands, start: left.start, end }, operands, t.start);
        continue;
      }
      const right = this.binary(precedence);
      left = this.built({ kind: 'binary', op: t.value as '==' | '!=', left, right, start: left.start, end: right.end }, [left, right], t.start);
    }
  }
}
