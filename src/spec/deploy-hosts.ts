// The rules of a deploy's `host` and `tls` the schema cannot state: one host name routes to one
// environment across the whole file, `tls` names its files and has names to serve, and the
// kubernetes target (routed by the user's Ingress) ignores both.
import type { DiagnosticList } from './diagnostics.js';
import { clip } from './diagnostics.js';
import { HOSTNAME_PATTERN } from './defaults.js';
import { isPreviewEnvironment } from './preview.js';
import type { YamlSource } from './yaml-source.js';

/** Host names claimed so far in the file: by which job, for which environment. */
export type HostClaims = Map<string, { environment: string; job: string }>;

const HOSTNAME = new RegExp(HOSTNAME_PATTERN);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkDeployHosts(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>, claims: HostClaims): void {
  const deploy = job.deploy;
  if (!isRecord(deploy)) return;
  const base = ['jobs', name, 'deploy'];
  const list = typeof deploy.host === 'string' ? [deploy.host] : Array.isArray(deploy.host) ? deploy.host : [];
  const preview = typeof deploy.environment === 'string' && isPreviewEnvironment(deploy.environment);
  const environment = typeof deploy.environment === 'string' && !preview ? deploy.environment : undefined;
  if (preview && deploy.host !== undefined) {
    // every open pull request would claim the same names on the shared front
    diags.error(
      'SPEC_DEPLOY_HOST',
      `host of job '${name}' is on a preview environment (${clip(String(deploy.environment))}): every pull request would claim the same names; a preview is reached on its own port (shown in the job's log and its commit status)`,
      src.keyAt([...base, 'host']),
    );
    return;
  }
  const seen = new Set<string>();
  list.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || !HOSTNAME.test(entry)) return;
    const host = entry.toLowerCase();
    const at = src.valueAt(typeof deploy.host === 'string' ? [...base, 'host'] : [...base, 'host', i]);
    if (seen.has(host)) return diags.warning('SPEC_DEPLOY_HOST', `host '${clip(host)}' is listed twice in job '${name}'`, at);
    seen.add(host);
    if (environment === undefined) return;
    const claim = claims.get(host);
    if (!claim) return void claims.set(host, { environment, job: name });
    if (claim.environment !== environment) {
      diags.error(
        'SPEC_DEPLOY_HOST',
        `host '${clip(host)}' of job '${name}' (environment ${environment}) is claimed by job '${claim.job}' (environment ${claim.environment}): a host name routes to one environment; give each its own name`,
        at,
      );
    }
  });
  if (deploy.tls === true) {
    diags.error(
      'SPEC_DEPLOY_TLS',
      `tls: true of job '${name}' names no certificate: write tls: { certificate: /path/to/cert.pem, key: /path/to/key.pem } (files on the machine that runs the deploy); certificates are not obtained automatically`,
      src.valueAt([...base, 'tls']),
    );
  } else if (isRecord(deploy.tls) && deploy.host === undefined) {
    diags.error('SPEC_DEPLOY_TLS', `tls of job '${name}' has no host name to serve: add host: (e.g. host: app.example.test)`, src.keyAt([...base, 'tls']));
  }
  if (deploy.target === 'kubernetes') {
    for (const key of ['host', 'tls'] as const) {
      if (deploy[key] === undefined) continue;
      diags.warning('SPEC_IGNORED', `'${key}' of job '${name}' is ignored by the kubernetes target: route to its Service with your own Ingress (kubernetes.manifests)`, src.keyAt([...base, key]));
    }
  }
}
