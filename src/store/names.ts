// The names people give things, checked by one rule each wherever they enter: the API, git
// hosting, the CLI and the store itself. A name refused anywhere is refused everywhere.
import { StoreError } from './types.js';

// A project name is a path segment in /git/<name>.git and an OCI repository name, so it takes
// the narrower of the two grammars.
const PROJECT_NAME = /^[a-z0-9](?:[a-z0-9]|[._-](?=[a-z0-9])){0,62}$/;
export const PROJECT_NAME_RULE = '1–63 lowercase letters, digits and single ".", "_" or "-" between them (e.g. "shop-api")';

/** Why `name` is not a project name, or undefined when it is one. */
export function projectNameProblem(name: string): string | undefined {
  return PROJECT_NAME.test(name) ? undefined : `project name ${JSON.stringify(name.slice(0, 80))} is not valid: use ${PROJECT_NAME_RULE}`;
}

export function checkProjectName(name: string): void {
  const problem = projectNameProblem(name);
  if (problem) throw new StoreError('STORE_NAME_INVALID', problem);
}

export const TOKEN_NAME_MAX_LENGTH = 100;

/**
 * Why `name` is not a token name. Names are shown in listings, audit entries and terminals, so
 * control characters (NUL, escape sequences) and the Unicode format characters that reorder or
 * hide text (bidi overrides, zero-width joiners) are refused: what is shown is what was stored.
 */
export function tokenNameProblem(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed === '') return 'a token needs a name (what or who uses it)';
  if ([...trimmed].length > TOKEN_NAME_MAX_LENGTH) return `a token name has at most ${TOKEN_NAME_MAX_LENGTH} characters`;
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\u2028\u2029]/u.test(trimmed)) return 'a token name may not hold control, format (bidi, zero-width) or unassigned characters';
  return undefined;
}

export function checkTokenName(name: string): string {
  const problem = tokenNameProblem(name);
  if (problem) throw new StoreError('STORE_TOKEN_INVALID', problem);
  return name.trim();
}
