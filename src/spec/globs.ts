// Branch, tag and path patterns of `on`: checked when the file loads (a pattern that can never
// match is a bug in the file), matched with picomatch so `*` stops at `/` and `**` does not.
import { createRequire } from 'node:module';
import type Picomatch from 'picomatch';

// Loaded on first use (picomatch is CommonJS, so a synchronous require works): most loads of a
// pipeline file never match a branch, and `slipway validate` should start fast.
let loaded: typeof Picomatch | undefined;
function picomatch(): typeof Picomatch {
  loaded ??= createRequire(import.meta.url)('picomatch') as typeof Picomatch;
  return loaded;
}

/**
 * Branch and tag patterns are short; picomatch's compile time grows faster than linearly with
 * nesting (minutes for 3000 nested `+(`), and it runs when the file is checked.
 */
export const MAX_GLOB_LENGTH = 256;
export const MAX_GLOB_NESTING = 8;
/**
 * picomatch matches `*` with a lazy regex group, so k wildcards backtrack like n^k on a branch
 * name of n characters: against 255 characters 3 take ~12 ms, 4 take ~0.8 s, 5 take ~50 s of the
 * server's event loop. Patterns people write (`release/*`, `v*.*.*`) have three at most.
 */
export const MAX_GLOB_WILDCARDS = 3;

/** Why `pattern` is not a usable glob, or undefined when it is fine. */
export function checkGlob(pattern: string): string | undefined {
  if (pattern.trim().length === 0) return 'empty pattern: it matches nothing; remove it or write a pattern like "release/*"';
  if (pattern.length > MAX_GLOB_LENGTH) return `the pattern is ${pattern.length} characters long; a pattern may be at most ${MAX_GLOB_LENGTH}`;
  const closers: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack: string[] = [];
  let inClass = false;
  let wildcards = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\') {
      i++;
      continue;
    }
    // a run of stars (* or **) is one wildcard; *( is an extglob, matched without backtracking
    if (!inClass && ch === '*' && pattern[i - 1] !== '*' && pattern[i + 1] !== '(' && ++wildcards > MAX_GLOB_WILDCARDS) {
      return `more than ${MAX_GLOB_WILDCARDS} wildcards (*): matching it could take seconds for a long branch name; write several simpler patterns`;
    }
    if (inClass) {
      // Inside [...] every character but the closing bracket is literal.
      if (ch === ']' && pattern[i - 1] !== '[' && !(pattern[i - 1] === '!' && pattern[i - 2] === '[')) {
        inClass = false;
        stack.pop();
      }
      continue;
    }
    if (ch === '[') {
      inClass = true;
      stack.push('[');
    } else if (ch === '{' || ch === '(') {
      stack.push(ch);
      if (stack.length > MAX_GLOB_NESTING) return `brackets nest more than ${MAX_GLOB_NESTING} deep; simplify the pattern`;
    } else if (ch === '}' || ch === ')') {
      const open = stack.pop();
      if (open === undefined || closers[open] !== ch) return `'${ch}' has no matching opening bracket`;
    }
  }
  const open = stack.pop();
  if (open !== undefined) return `'${open}' is never closed: add '${closers[open] ?? ''}' or escape it as '\\${open}'`;
  try {
    picomatch().makeRe(pattern);
  } catch (err) {
    return `not a valid pattern: ${(err as Error).message}`;
  }
  return undefined;
}

const matchers = new Map<string, (value: string) => boolean>();
// A long-lived server reads files from every push and pull request: compiled patterns are kept
// up to this many, not for ever.
const MATCHER_CACHE_LIMIT = 5000;

/** The compiled matcher of one checked pattern (`*` does not cross `/`, dot files match). */
export function globMatcher(pattern: string): (value: string) => boolean {
  let isMatch = matchers.get(pattern);
  if (!isMatch) {
    if (matchers.size >= MATCHER_CACHE_LIMIT) matchers.clear();
    isMatch = picomatch()(pattern, { dot: true });
    matchers.set(pattern, isMatch);
  }
  return isMatch;
}

/** true when `value` matches one of `patterns`. */
export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => globMatcher(pattern)(value));
}
