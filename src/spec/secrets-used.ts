// Which secrets a job reads, worked out once when the file is compiled: a run that has no secrets
// to give (a fork's pull request) skips such a job with the reason, rather than run it with the
// secrets missing and let it fail, or worse, pass without them.
import type { Job, Template } from './model.js';
import { parseTemplate, type Expr } from './expressions.js';

/** The `root.name` paths an expression reads (`secrets.API_TOKEN` → ['secrets', 'API_TOKEN']). */
function pathsOf(expr: Expr, into: string[][]): void {
  switch (expr.kind) {
    case 'path':
      into.push(expr.parts);
      return;
    case 'not':
      return pathsOf(expr.operand, into);
    case 'binary':
      pathsOf(expr.left, into);
      return pathsOf(expr.right, into);
    case 'logical':
    case 'call':
      for (const operand of expr.kind === 'logical' ? expr.operands : expr.args) pathsOf(operand, into);
      return;
    case 'literal':
      return;
  }
}

/** What a set of templates reads: secrets by name, and variables through env.NAME. */
function readsOf(templates: readonly Template[]): { secrets: Set<string>; env: Set<string> } {
  const secrets = new Set<string>();
  const env = new Set<string>();
  for (const template of templates) {
    if (template.isLiteral) continue;
    const paths: string[][] = [];
    for (const part of parseTemplate(template.source)) if ('expr' in part) pathsOf(part.expr, paths);
    for (const [root, name] of paths) {
      if (name === undefined) continue;
      if (root === 'secrets') secrets.add(name);
      else if (root === 'env') env.add(name);
    }
  }
  return { secrets, env };
}

/**
 * The secrets each pipeline variable carries, by name: read directly, or through a variable
 * before it (pipeline env renders in order, each value seeing the ones above it).
 */
function pipelineEnvSecrets(env: Record<string, Template>): Map<string, Set<string>> {
  const carried = new Map<string, Set<string>>();
  for (const [name, template] of Object.entries(env)) {
    const reads = readsOf([template]);
    for (const variable of reads.env) for (const secret of carried.get(variable) ?? []) reads.secrets.add(secret);
    if (reads.secrets.size > 0) carried.set(name, reads.secrets);
  }
  return carried;
}

function templatesOf(job: Job): Template[] {
  const own = Object.values(job.env);
  if (job.kind === 'build') return [...own, ...Object.values(job.build.args)];
  if (job.kind === 'deploy') return [...own, job.deploy.image];
  return [
    ...own,
    job.image,
    ...job.services.flatMap((service) => [service.image, ...Object.values(service.env)]),
    ...job.steps.flatMap((step) => [step.run, ...Object.values(step.env)]),
  ];
}

const SHELL_VARIABLE = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/g;

/** The variables a script names as `$NAME` or `${NAME…}`: the shell reading what the step has in its environment. */
function shellVariables(script: string): Set<string> {
  return new Set([...script.matchAll(SHELL_VARIABLE)].map((match) => match[1] ?? ''));
}

/**
 * The secrets `job` reads, sorted: through `${{ secrets.X }}` in its templates, through a pipeline
 * variable that carries one (a steps job's containers get every pipeline variable; a build or
 * deploy job only those its templates read), as `$X` in a step's script (steps get each declared
 * secret as a variable), and a build's push password. A program that reads the variable by
 * itself is not seen here: in a run without secrets it finds the variable unset.
 */
export function secretsUsedBy(job: Job, pipelineEnv: Record<string, Template>, declared: readonly string[]): string[] {
  const reads = readsOf(templatesOf(job));
  const used = new Set(reads.secrets);
  for (const [variable, secrets] of pipelineEnvSecrets(pipelineEnv)) {
    if (job.kind === 'steps' || reads.env.has(variable)) for (const secret of secrets) used.add(secret);
  }
  if (job.kind === 'steps') {
    const named = new Set(job.steps.flatMap((step) => [...shellVariables(step.run.source)]));
    for (const name of declared) if (named.has(name)) used.add(name);
  }
  if (job.kind === 'build' && job.build.push?.passwordSecret) used.add(job.build.push.passwordSecret);
  return [...used].sort();
}
