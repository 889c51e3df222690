// What a URL or ref from outside must be before it reaches git's command line: remotes are
// http(s) or ssh URLs (never a local path, `file://`, `ext::` or anything git reads as an option),
// refs are plain branch or tag refs by git's own rules.
import { git, REMOTE_PROTOCOLS } from './command.js';

const MAX_URL_LENGTH = 2048;
const MAX_REF_LENGTH = 250;

/** Why `url` may not be fetched from, or undefined when it may. */
export function remoteUrlProblem(url: string): string | undefined {
  if (url.length === 0) return 'the clone URL is empty';
  if (url.length > MAX_URL_LENGTH) return `the clone URL is longer than ${MAX_URL_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return 'the clone URL has spaces or control characters';
  if (url.startsWith('-')) return 'the clone URL starts with "-"';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `the clone URL is not a URL (a local path or scp-like address is never fetched from a webhook)`;
  }
  if (!['https:', 'http:', 'ssh:'].includes(parsed.protocol)) return `the clone URL's scheme is ${parsed.protocol.replace(/:$/, '')}; only https, http and ssh are fetched`;
  if (parsed.hostname === '' || parsed.hostname.startsWith('-')) return 'the clone URL has no valid host';
  if (parsed.password !== '' || (parsed.username !== '' && parsed.protocol !== 'ssh:')) return 'the clone URL carries credentials';
  if (parsed.username.startsWith('-')) return 'the clone URL has no valid user';
  return undefined;
}

/** git check-ref-format's rules, narrowed to refs/heads/… and refs/tags/… */
export function isSafeRef(ref: string): boolean {
  if (ref.length > MAX_REF_LENGTH || !/^refs\/(heads|tags)\/./.test(ref)) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]|\.\.|@\{|\/\/|\.lock(\/|$)|\/\.|\/$|\.$/.test(ref)) return false;
  return ref !== 'refs/heads/@';
}

/**
 * A branch name from outside (a pull request's base or head, `refs/for/NAME`): a safe ref under
 * refs/heads/ that also reads as no option (`--upload-pack=…`) wherever it is printed or passed.
 */
export function isSafeBranchName(name: string): boolean {
  return name.length > 0 && name.length <= 200 && !name.startsWith('-') && isSafeRef(`refs/heads/${name}`);
}

const PULL_REQUEST_REF = /^refs\/(pull|merge-requests)\/[1-9][0-9]{0,9}\/head$/;

/** A forge's ref of a pull request's head: GitHub's and Gitea's refs/pull/N/head, GitLab's refs/merge-requests/N/head. */
export function isPullRequestRef(ref: string): boolean {
  return PULL_REQUEST_REF.test(ref);
}

/** The host git would connect to for a remote URL, lower-cased (no port). */
export function remoteHost(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fetches `ref` (a branch, a tag, a pull request's head ref, or a full commit id) of a remote into
 * `refs/slipway/fetched` of `repo`. The URL and ref are checked here too, whoever checked them
 * before: this is the command line.
 */
export async function fetchFromRemote(repo: string, url: string, ref: string, timeoutMs = 10 * 60_000): Promise<void> {
  const problem = remoteUrlProblem(url);
  if (problem) throw new Error(problem);
  if (!isSafeRef(ref) && !isPullRequestRef(ref) && !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref)) throw new Error(`'${ref}' is not a branch, tag or pull request ref`);
  await git(['fetch', '-q', '--no-tags', '--no-recurse-submodules', '--', url, `+${ref}:refs/slipway/fetched`], { cwd: repo, protocols: REMOTE_PROTOCOLS, timeoutMs });
}
