// Just enough OpenAPI v3 for kubectl: it reads each group version's document to learn whether the
// server validates fields itself (the `fieldValidation` query parameter on PATCH); when it does,
// kubectl skips its own client-side schema validation. The schemas themselves are left empty.
import { groupVersion, RESOURCES } from './resources.js';

function key(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export function openApiRoot(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const r of RESOURCES) {
    const k = key(r.group, r.version);
    paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=0000000000000000` };
  }
  return { paths };
}

export function openApiGroupVersion(path: string): unknown {
  const types = RESOURCES.filter((r) => key(r.group, r.version) === path);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));
  for (const r of types) {
    const prefix = `/${key(r.group, r.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}/{name}`;
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    paths[prefix] = {
      patch: {
        operationId: `patch${r.kind}`,
        parameters: params,
        requestBody: { content: { 'application/apply-patch+yaml': { schema: { type: 'object' } } }, required: true },
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-slipway-double' },
    paths,
    components: { schemas: Object.fromEntries(types.map((r) => [`io.k8s.api.${r.group || 'core'}.${r.version}.${r.kind}`, { type: 'object', 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }] }])) },
  };
  void groupVersion;
}
