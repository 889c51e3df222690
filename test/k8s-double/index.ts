// The Kubernetes API server double: start it in-process (tests) or through main.ts (a child
// process, `npm run -s k8s-double`). It serves HTTPS on 127.0.0.1 (self-signed) with bearer tokens, which
// kubectl and @kubernetes/client-node accept through a kubeconfig like any cluster's.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { Authorizer, type Identity } from './auth.js';
import { Cluster } from './cluster.js';
import { Controllers } from './controller.js';
import { EventRecorder } from './events.js';
import { isObject, newMeta } from './objects.js';
import { Kubelet, type PodRule } from './kubelet.js';
import { RESOURCES, type ResourceType } from './resources.js';
import { createApiServer } from './server.js';
import { ObjectStore } from './store.js';
import { selfSignedCertificate } from './tls.js';

export type { PodRule, PodBehavior } from './kubelet.js';

export interface DoubleOptions {
  /** 0 (default): an ephemeral port */
  port?: number;
  /** how often the controllers and the kubelet run; small, so tests are quick */
  tickMs?: number;
  adminToken?: string;
  /** how many changes a watch can resume across before it gets 410 Gone */
  watchHistory?: number;
  /**
   * A real API server ends every watch after a while (minutes) and the client resumes it; the
   * double ends them after this long, so a test sees the resume (and 410 with a small history).
   */
  watchLifetimeMs?: number;
}

export interface KubernetesDouble {
  url: string;
  port: number;
  adminToken: string;
  /** the PEM certificate clients must trust */
  caCert: string;
  /** a kubeconfig (YAML) for the admin identity, or for `token` when given */
  kubeconfig(token?: string): string;
  writeKubeconfig(file: string, token?: string): Promise<void>;
  setPodRules(rules: PodRule[]): void;
  addToken(token: string, identity: Identity): void;
  cluster: Cluster;
  close(): Promise<void>;
}

const NAMESPACE = RESOURCES.find((r) => r.kind === 'Namespace') as ResourceType;

export async function startDouble(options: DoubleOptions = {}): Promise<KubernetesDouble> {
  const cluster = new Cluster(new ObjectStore(options.watchHistory ?? 5000));
  const adminToken = options.adminToken ?? randomBytes(24).toString('hex');
  const auth = new Authorizer(cluster.store, adminToken);
  const events = new EventRecorder(cluster);
  const controllers = new Controllers(cluster, events);
  const kubelet = new Kubelet(cluster, events);
  for (const name of ['default', 'kube-system', 'kube-public']) {
    cluster.create(NAMESPACE, { apiVersion: 'v1', kind: 'Namespace', metadata: newMeta({ name }) }, undefined, { manager: 'kube-apiserver' });
  }
  const tls = selfSignedCertificate();
  const server = createApiServer(cluster, auth, (path, body) => {
    if (path === 'pod-rules') {
      if (isObject(body) && Array.isArray(body.rules)) kubelet.rules = body.rules as PodRule[];
      return { rules: kubelet.rules };
    }
    if (path === 'tokens' && isObject(body) && typeof body.token === 'string') {
      auth.addToken(body.token, { user: String(body.user ?? 'test-user'), groups: Array.isArray(body.groups) ? body.groups.map(String) : ['system:authenticated'] });
      return { ok: true };
    }
    return { paths: ['pod-rules', 'tokens'] };
  }, tls, options.watchLifetimeMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const tickMs = options.tickMs ?? 25;
  const timer = setInterval(() => {
    controllers.tick();
    kubelet.tick();
  }, tickMs);
  timer.unref();

  const kubeconfig = (token = adminToken) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'slipway-double', cluster: { server: url, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } }],
      contexts: [{ name: 'slipway-double', context: { cluster: 'slipway-double', user: 'slipway-double-user', namespace: 'default' } }],
      'current-context': 'slipway-double',
      users: [{ name: 'slipway-double-user', user: { token } }],
      preferences: {},
    });

  return {
    url,
    port,
    adminToken,
    caCert: tls.cert,
    kubeconfig,
    writeKubeconfig: (file, token) => writeFile(file, kubeconfig(token), { mode: 0o600 }),
    setPodRules: (rules) => {
      kubelet.rules = rules;
    },
    addToken: (token, identity) => auth.addToken(token, identity),
    cluster,
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
