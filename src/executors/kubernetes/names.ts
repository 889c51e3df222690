// Names, label values, Secret keys and shell words made from what users wrote (run ids, job and
// service names, env names): whatever they contain, what reaches the API server or a shell is valid
// and cannot be read as anything but data. Pure functions.
import { createHash } from 'node:crypto';
import path from 'node:path';

export const LABEL_MANAGED = 'slipway.dev/managed';
export const LABEL_RUN = 'slipway.dev/run';
export const LABEL_JOB = 'slipway.dev/job';
/** a label-safe form of the owner (for selecting); the annotation of the same name holds it whole */
export const LABEL_OWNER = 'slipway.dev/owner';
export const ANNOTATION_OWNER = 'slipway.dev/owner';
export const ANNOTATION_RUN = 'slipway.dev/run';
export const ANNOTATION_JOB = 'slipway.dev/job';
export const ANNOTATION_ATTEMPT = 'slipway.dev/attempt';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** a name the shell can `export` and read back as `$NAME` */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** what Kubernetes (1.24 and later) accepts as a container env var name */
const K8S_ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

/** Lower-case letters, digits and single dashes, no dash at either end. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The Pod of one job attempt: `slipway-job-<run>-<job>-<attempt>-<hash>`, a DNS-1123 label of at
 * most 63 characters. The hash of the exact run id, job name and attempt keeps apart names that
 * differ only in characters the slug drops (`test (os=a b)` and `test (os=a_b)`).
 */
export function podName(runId: string, jobName: string, attempt: number): string {
  const hash = shortHash(runId, jobName, String(attempt));
  const prefix = 'slipway-job-';
  const room = 63 - prefix.length - hash.length - 1;
  const middle = slug(`${runId}-${jobName}-${attempt}`).slice(0, room).replace(/-+$/, '');
  return middle ? `${prefix}${middle}-${hash}` : `${prefix}${hash}`;
}

/** A container name for a service: `svc-<slug>`, with a hash when the slug is not the name. */
export function serviceContainerName(service: string): string {
  const s = slug(service);
  const name = `svc-${s}`;
  if (s === service && DNS_LABEL.test(name)) return name;
  return `svc-${s.slice(0, 63 - 4 - 9).replace(/-+$/, '')}${s ? '-' : ''}${shortHash(service)}`;
}

/** `value` when it is a valid label value, else a valid one that ends with a hash of it. */
export function labelValue(value: string): string {
  if (LABEL_VALUE.test(value)) return value;
  const hash = shortHash(value);
  const safe = value
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .slice(0, 63 - hash.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return safe ? `${safe}-${hash}` : hash;
}

/** The owner identity (`host/pid/starttime`) as a label value (`host.pid.starttime`). */
export function ownerLabel(owner: string): string {
  return labelValue(owner.replaceAll('/', '.'));
}

/** Whether `name` may be a host name in /etc/hosts (a service reachable by its name). */
export function isHostName(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

export function isShellName(name: string): boolean {
  return SHELL_NAME.test(name);
}

export function isContainerEnvName(name: string): boolean {
  return K8S_ENV_NAME.test(name);
}

/** The Secret's key of the checkout token; it has a dash, so no secret's own key is the same. */
export const CHECKOUT_TOKEN_KEY = 'slipway-checkout-token';

/**
 * The Secret's key of a run secret. Names the shell can read keep their name (valid keys: letters,
 * digits and `_`); others get `secret-<hash>`, which has a dash and so cannot be a name the shell
 * can read (nor the checkout token's key).
 */
export function secretKey(name: string): string {
  return isShellName(name) ? name : `secret-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** One word for the shell: single-quoted, with `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Kubernetes expands `$(NAME)` in env values, commands and args; `$$` is a literal `$`. Escaping
 * every `$` keeps the text exactly as written.
 */
export function escapeDollars(text: string): string {
  return text.split('$').join('$$');
}

/**
 * A path relative to the workspace as an absolute path inside it. Leading `/` and `./` are
 * dropped (as the docker executor does); `..` that would leave the workspace is refused.
 */
export function workspacePath(workspace: string, relative: string): string {
  const rel = relative.replace(/^\/+/, '');
  const clean = path.posix.normalize(rel === '' ? '.' : rel).replace(/\/+$/, '');
  if (clean === '..' || clean.startsWith('../') || relative.includes('\0')) {
    throw new Error(`path '${relative}' leaves the workspace`);
  }
  return clean === '.' || clean === '' ? workspace : `${workspace}/${clean}`;
}
