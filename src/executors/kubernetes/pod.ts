// The objects of one job attempt: a Secret with the run's secrets (and the checkout token), and a
// Pod whose container `job` idles while steps are exec'd into it, with the workspace on an
// emptyDir, the services as sidecars (reachable on localhost, and by their names through
// /etc/hosts) and, when the sandbox fetches its own workspace, an init container `checkout`.
// Pure: no API calls, so that what reaches the cluster can be checked without one.
import type { V1Container, V1EnvVar, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { SandboxSpec } from '../types.js';
import {
  ANNOTATION_ATTEMPT,
  ANNOTATION_JOB,
  ANNOTATION_OWNER,
  ANNOTATION_RUN,
  CHECKOUT_TOKEN_KEY,
  escapeDollars,
  isContainerEnvName,
  isHostName,
  isShellName,
  LABEL_JOB,
  LABEL_MANAGED,
  LABEL_OWNER,
  LABEL_RUN,
  labelValue,
  ownerLabel,
  podName,
  secretKey,
  serviceContainerName,
  shellQuote,
} from './names.js';

export const WORKSPACE = '/workspace';
export const JOB_CONTAINER = 'job';
export const CHECKOUT_CONTAINER = 'checkout';
const WORKSPACE_VOLUME = 'workspace';
/** the job container's main process: idles until TERM; steps never run as it */
export const IDLE_SCRIPT = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done';
/**
 * The init container's script. Downloading to a file first, then unpacking, makes a failed
 * download fail the container (busybox sh has no pipefail, so `wget | tar` would hide it).
 */
export const CHECKOUT_SCRIPT = [
  'set -e',
  'f=/workspace/.slipway-checkout.tar',
  'wget -q -O "$f" --header "Authorization: Bearer $SLIPWAY_CHECKOUT_TOKEN" "$SLIPWAY_CHECKOUT_URL"',
  'tar -x -f "$f" -C /workspace',
  'rm -f "$f"',
].join('\n');

export interface SandboxObjects {
  /** the Pod's name */
  pod: string;
  /** the Secret's name */
  secret: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function sandboxObjects(spec: SandboxSpec, owner: string): SandboxObjects {
  const pod = podName(spec.runId, spec.jobName, spec.attempt);
  return {
    pod,
    secret: `${pod}-secrets`,
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_RUN]: labelValue(spec.runId),
      [LABEL_JOB]: labelValue(spec.jobName),
      [LABEL_OWNER]: ownerLabel(owner),
    },
    annotations: {
      [ANNOTATION_OWNER]: owner,
      [ANNOTATION_RUN]: spec.runId,
      [ANNOTATION_JOB]: spec.jobName,
      [ANNOTATION_ATTEMPT]: String(spec.attempt),
    },
  };
}

/** The secrets that reach the job container's env through the Secret (names the shell can read). */
export function secretEnvNames(spec: SandboxSpec): string[] {
  return Object.keys(spec.secrets ?? {}).filter(isShellName);
}

/** The Secret, or undefined when the sandbox has neither secrets nor a checkout token. */
export function buildSecret(spec: SandboxSpec, objects: SandboxObjects): V1Secret | undefined {
  const data: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.secrets ?? {})) data[secretKey(name)] = base64(value);
  if (spec.checkout) data[CHECKOUT_TOKEN_KEY] = base64(spec.checkout.token);
  if (Object.keys(data).length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: objects.secret, labels: objects.labels, annotations: objects.annotations },
    type: 'Opaque',
    immutable: true,
    data,
  };
}

export interface PodOptions {
  /** image of the checkout init container (sh, wget, tar) */
  helperImage: string;
}

export interface BuiltPod {
  pod: V1Pod;
  /** env names left out because Kubernetes would refuse them (for a progress line) */
  skippedEnv: string[];
}

export function buildPod(spec: SandboxSpec, objects: SandboxObjects, options: PodOptions): BuiltPod {
  const skippedEnv: string[] = [];
  const secretNames = new Set(secretEnvNames(spec));
  const env = plainEnv(spec.env, skippedEnv).filter((e) => !secretNames.has(e.name));
  for (const name of secretNames) env.push(secretEnv(name, objects.secret, secretKey(name)));
  const job: V1Container = {
    name: JOB_CONTAINER,
    image: spec.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', escapeDollars(IDLE_SCRIPT)],
    workingDir: WORKSPACE,
    env,
    volumeMounts: [{ name: WORKSPACE_VOLUME, mountPath: WORKSPACE }],
  };
  const resources = resourceList(spec);
  if (resources) job.resources = { requests: resources, limits: { ...resources } };

  const services: V1Container[] = spec.services.map((service) => ({
    name: serviceContainerName(service.name),
    image: service.image,
    imagePullPolicy: 'IfNotPresent',
    ...(service.command ? { args: service.command.map(escapeDollars) } : {}),
    env: plainEnv(service.env, skippedEnv),
  }));
  const hostnames = [...new Set(spec.services.map((s) => s.name))].filter((n) => isHostName(n) && n !== 'localhost');

  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: objects.pod, labels: objects.labels, annotations: objects.annotations },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      ...(hostnames.length > 0 ? { hostAliases: [{ ip: '127.0.0.1', hostnames }] } : {}),
      volumes: [{ name: WORKSPACE_VOLUME, emptyDir: {} }],
      ...(spec.checkout ? { initContainers: [checkoutContainer(spec.checkout.url, objects.secret, options.helperImage)] } : {}),
      containers: [job, ...services],
    },
  };
  return { pod, skippedEnv: [...new Set(skippedEnv)] };
}

function checkoutContainer(url: string, secretName: string, image: string): V1Container {
  return {
    name: CHECKOUT_CONTAINER,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', escapeDollars(CHECKOUT_SCRIPT)],
    env: [{ name: 'SLIPWAY_CHECKOUT_URL', value: escapeDollars(url) }, secretEnv('SLIPWAY_CHECKOUT_TOKEN', secretName, CHECKOUT_TOKEN_KEY)],
    volumeMounts: [{ name: WORKSPACE_VOLUME, mountPath: WORKSPACE }],
  };
}

function plainEnv(env: Record<string, string>, skipped: string[]): V1EnvVar[] {
  const out: V1EnvVar[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isContainerEnvName(name) && !value.includes('\0')) out.push({ name, value: escapeDollars(value) });
    else skipped.push(name);
  }
  return out;
}

function secretEnv(name: string, secret: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function resourceList(spec: SandboxSpec): Record<string, string> | undefined {
  const list: Record<string, string> = {};
  if (spec.resources?.cpu) list.cpu = spec.resources.cpu;
  if (spec.resources?.memory) list.memory = spec.resources.memory;
  return Object.keys(list).length > 0 ? list : undefined;
}

function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

export interface StepCommand {
  command: string[];
  /** the step's env as an `export` line, for the command's stdin; undefined when there is none */
  stdin?: Buffer;
  /** env names not passed because the shell cannot export them */
  skipped: string[];
}

/**
 * The argv of a step: `sh -e -c` as the docker executor runs it. The exec API takes no
 * environment, and the command line of an exec can be read in the API server's audit log: the
 * step's env goes to its stdin as one `export` line (values single-quoted; names the shell cannot
 * export are skipped, never spliced into it), which the shell reads and evaluates before the
 * script, its stdin then `/dev/null` as under docker. Secrets are left out when they equal the
 * sandbox's (the container has them from the Secret).
 */
export function stepCommand(script: string, env: Record<string, string>, secrets: Record<string, string> = {}): StepCommand {
  const words: string[] = [];
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isShellName(name) && Object.hasOwn(secrets, name) && secrets[name] === value) continue;
    if (!isShellName(name) || value.includes('\0')) {
      skipped.push(name);
      continue;
    }
    words.push(`${name}=${shellQuote(value)}`);
  }
  if (words.length === 0) return { command: ['sh', '-e', '-c', script], skipped };
  const stdin = Buffer.from(`export ${words.join(' ')}\n`, 'utf8');
  // on the script's first line, so that the shell's line numbers in errors stay the script's;
  // stdin is never closed (see exec.ts): `head -c` reads exactly the line
  const prologue = `eval "$(head -c ${stdin.length})" && exec </dev/null; `;
  return { command: ['sh', '-e', '-c', `${prologue}${script}`], stdin, skipped };
}
