// The cluster every Kubernetes test runs against: the in-repo API server double by default, or,
// unchanged, a real cluster when KUBECONFIG is set (then each test works in its own namespace
// and the double is not started).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startDouble, type KubernetesDouble } from '../k8s-double/index.js';

export interface TestCluster {
  /** a kubeconfig file with admin rights */
  kubeconfigPath: string;
  /** the double, when the tests run against it */
  double?: KubernetesDouble;
  dir: string;
  /** a fresh namespace, deleted by close() */
  createNamespace(prefix: string): Promise<string>;
  /** a kubeconfig for the same cluster with another bearer token */
  kubeconfigWithToken(token: string): Promise<string>;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export const onRealCluster = Boolean(process.env.KUBECONFIG);

export async function openCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-k8s-test-'));
  let double: KubernetesDouble | undefined;
  let kubeconfigPath: string;
  if (process.env.KUBECONFIG) {
    kubeconfigPath = process.env.KUBECONFIG;
  } else {
    double = await startDouble();
    kubeconfigPath = path.join(dir, 'kubeconfig');
    await double.writeKubeconfig(kubeconfigPath);
  }
  const namespaces: string[] = [];
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return kc;
  };
  return {
    kubeconfigPath,
    double,
    dir,
    kubeConfig,
    async createNamespace(prefix) {
      const name = `slipway-${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
      await kubeConfig().makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
      namespaces.push(name);
      return name;
    },
    async kubeconfigWithToken(token) {
      const kc = kubeConfig();
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('the kubeconfig has no current cluster');
      const file = path.join(dir, `kubeconfig-${randomBytes(4).toString('hex')}`);
      const caData = cluster.caData ?? (cluster.caFile ? undefined : undefined);
      const lines = [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: c`,
        `  cluster:`,
        `    server: ${cluster.server}`,
        ...(caData ? [`    certificate-authority-data: ${caData}`] : []),
        ...(cluster.caFile ? [`    certificate-authority: ${cluster.caFile}`] : []),
        ...(cluster.skipTLSVerify ? ['    insecure-skip-tls-verify: true'] : []),
        'contexts:',
        '- name: c',
        '  context: { cluster: c, user: u }',
        'current-context: c',
        'users:',
        '- name: u',
        `  user: { token: "${token}" }`,
      ];
      await writeFile(file, lines.join('\n') + '\n', { mode: 0o600 });
      return file;
    },
    async close() {
      const core = kubeConfig().makeApiClient(CoreV1Api);
      for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
      await double?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl asynchronously (an in-process double must keep serving meanwhile). */
export function kubectl(kubeconfigPath: string, args: string[], timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfigPath }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Polls `check` until it returns a value or the deadline passes (no fixed sleeps). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Images whose behaviour is the same on the double and on a real cluster. */
export const images = {
  /** serves HTTP on port 80 and becomes ready */
  healthy: 'nginx:1.27-alpine',
  healthyNext: 'nginx:1.26-alpine',
  /** an unresolvable registry: ErrImagePull, then ImagePullBackOff, never ready */
  neverPulls: 'registry.example.invalid/slipway/never-ready:1',
  /** busybox's default command is a shell that exits at once: a crash loop */
  crashLoops: 'busybox:1.36',
};
