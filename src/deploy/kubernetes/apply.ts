// Server-side apply of a set of objects, under the field manager `slipway` with force (Slipway is
// the owner of what it deploys; a hand edit with kubectl is taken back on the next deploy), one
// object at a time in dependency order so a Namespace exists before what goes into it.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { toDeployError, type KubeClients } from './client.js';
import { orderForApply } from './manifests.js';

export const FIELD_MANAGER = 'slipway';

export async function applyManifests(clients: KubeClients, objects: KubernetesObject[], onProgress: (line: string) => void): Promise<KubernetesObject[]> {
  const applied: KubernetesObject[] = [];
  for (const obj of orderForApply(objects)) {
    const what = `${obj.kind}/${obj.metadata?.name ?? ''}`;
    const where = obj.metadata?.namespace ? ` in namespace ${obj.metadata.namespace}` : '';
    try {
      applied.push(await clients.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
    } catch (err) {
      throw toDeployError(err, clients.server, `apply ${what}${where}`);
    }
    onProgress(`applied ${what}${where}`);
  }
  return applied;
}
