// Preview environments: `environment: pr-${{ pr.number }}` on a deploy block gives each pull
// request an environment of its own. pr.number is the only expression an environment name may
// hold: the name must be known from the run alone, and nothing else a pull request sets (its
// branch names) is safe in a container or Kubernetes object name.
import { ENVIRONMENT_NAME_PATTERN } from './defaults.js';
import { ExpressionError, parseTemplate, type Expr } from './expressions.js';

const PR_NUMBER = /\$\{\{\s*pr\.number\s*\}\}/g;
const ENVIRONMENT_NAME = new RegExp(ENVIRONMENT_NAME_PATTERN);

export type EnvironmentProblem =
  /** an expression other than pr.number, or a malformed one; `index` is where it starts in the value */
  | { kind: 'expression'; message: string; index: number }
  /** the name it makes (with a pull request's number in it) is not an environment name */
  | { kind: 'name' };

function isPullRequestNumber(expr: Expr): boolean {
  return expr.kind === 'path' && expr.parts.length === 2 && expr.parts[0] === 'pr' && expr.parts[1] === 'number';
}

/** What is wrong with a deploy block's `environment`, or undefined when it is a name or a preview name. */
export function environmentProblem(value: string): EnvironmentProblem | undefined {
  let parts;
  try {
    parts = parseTemplate(value);
  } catch (err) {
    if (err instanceof ExpressionError) return { kind: 'expression', message: err.message, index: err.offset };
    throw err;
  }
  for (const part of parts) {
    if (!('expr' in part) || isPullRequestNumber(part.expr)) continue;
    const written = value.slice(part.expr.start, part.expr.end).trim();
    return {
      kind: 'expression',
      message: `an environment name may hold only \${{ pr.number }} (a preview environment per pull request, e.g. pr-\${{ pr.number }}), not \${{ ${written} }}`,
      index: part.expr.start,
    };
  }
  return ENVIRONMENT_NAME.test(previewEnvironmentName(value, 1)) ? undefined : { kind: 'name' };
}

/** Whether a deploy block's environment is a pull request's preview (holds `${{ pr.number }}`). */
export function isPreviewEnvironment(environment: string): boolean {
  PR_NUMBER.lastIndex = 0;
  return PR_NUMBER.test(environment);
}

/** The environment of pull request `prNumber`: `pr-${{ pr.number }}` → `pr-7`. */
export function previewEnvironmentName(environment: string, prNumber: number): string {
  return environment.replace(PR_NUMBER, String(prNumber));
}

/** Whether `name` is a valid environment name (what a preview name resolves to must be one too). */
export function isEnvironmentName(name: string): boolean {
  return ENVIRONMENT_NAME.test(name);
}
