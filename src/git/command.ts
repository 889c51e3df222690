// The one way Slipway runs `git`: an argument vector (never a shell), a bounded time and output,
// and an environment that keeps git from prompting or using a transport the caller did not allow.
import { execFile } from 'node:child_process';

export interface GitOptions {
  /** the repository or work tree git runs in (`-C`) */
  cwd?: string;
  timeoutMs?: number;
  maxBufferBytes?: number;
  /** transports a fetch may use; default none: a local-only command never reaches a remote */
  protocols?: readonly GitProtocol[];
  /**
   * false for a user's own work tree (`slipway run`): their config (safe.directory, …) applies.
   * Default true: repositories the server owns are read with no system or global config.
   */
  isolated?: boolean;
}

export type GitProtocol = 'https' | 'http' | 'ssh' | 'git' | 'file';

/** Transports for URLs that came from outside (webhooks): never local paths, `ext::` or `fd::`. */
export const REMOTE_PROTOCOLS: readonly GitProtocol[] = ['https', 'http', 'ssh'];

export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ''} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim().slice(-500)}`);
    this.name = 'GitCommandError';
  }
}

/**
 * The environment of every git command: no terminal prompts (a fetch that needs credentials fails
 * instead of hanging the server), no system or global config that could add hooks, aliases or
 * `url.*.insteadOf` rewrites, and only the transports the caller allows — `GIT_PROTOCOL_FROM_USER=0`
 * also closes the transports git would otherwise allow for URLs a user typed.
 */
export function gitEnvironment(protocols: readonly GitProtocol[] = [], isolated = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (isolated) {
    for (const name of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SSH_AUTH_SOCK']) if (process.env[name] !== undefined) env[name] = process.env[name];
    Object.assign(env, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' });
  } else {
    Object.assign(env, process.env);
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_PROTOCOL_FROM_USER: '0',
    // git reads only this list when it is set: an empty value allows no transport at all
    GIT_ALLOW_PROTOCOL: protocols.join(':'),
    GIT_SSH_VARIANT: 'ssh',
  };
}

/** Runs git with `args` and returns its standard output; a non-zero exit throws GitCommandError. */
export function git(args: readonly string[], options: GitOptions = {}): Promise<string> {
  const argv = options.cwd === undefined ? [...args] : ['-C', options.cwd, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      argv,
      {
        env: gitEnvironment(options.protocols, options.isolated ?? true),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: options.maxBufferBytes ?? 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        reject(new GitCommandError(args, code, stderr || err.message));
      },
    );
  });
}

/** Like `git`, but a failure is `undefined` (for "is this commit here?" kinds of questions). */
export async function gitMaybe(args: readonly string[], options: GitOptions = {}): Promise<string | undefined> {
  try {
    return await git(args, options);
  } catch (err) {
    if (err instanceof GitCommandError) return undefined;
    throw err;
  }
}
