// The images a rollout starts from: made local (pulled when missing) and named by their content, so
// that "the same image" means the same digest, not the same tag — a tag may move to another image.
import type Docker from 'dockerode';
import { DeployError, type Revision } from '../types.js';

/** Makes `image` local (pulling it when it is not) and returns its id (`sha256:…`): its digest here. */
export async function ensureImage(docker: Docker, image: string): Promise<string> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch {
    // Not local: pull it (a registry image); a failure is the user's to see.
    try {
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
      return (await docker.getImage(image).inspect()).Id;
    } catch (err) {
      throw new DeployError('ROLLOUT_INVALID', `image ${image} is neither local nor pullable: ${(err as Error).message}`);
    }
  }
}

/**
 * What a rollback starts its replicas from: the revision's image reference, unless that tag now
 * names another image — then the revision's own image by its id, while it is still here, since
 * restoring the tag would run the very image the rollback leaves.
 */
export async function imageOf(docker: Docker, revision: Pick<Revision, 'image' | 'digest' | 'number'>, progress: (line: string) => void): Promise<string> {
  const { digest, image } = revision;
  if (digest === undefined || !digest.startsWith('sha256:')) return image;
  const now = await docker.getImage(image).inspect().then((info) => info.Id, () => undefined);
  if (now === digest) return image;
  const kept = await docker.getImage(digest).inspect().then(() => true, () => false);
  if (kept) {
    progress(`${image} now names another image; restoring revision ${revision.number}'s own image ${digest.slice(0, 19)}…`);
    return digest;
  }
  progress(`${image} now names another image and revision ${revision.number}'s own image ${digest.slice(0, 19)}… is no longer here; restoring the tag as it is`);
  return image;
}
