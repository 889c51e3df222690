// Where everything lives under the registry's data directory. This comment is the one
// description of the on-disk layout; every path is built by the helpers below, from names and
// digests that names.ts has already validated, so no request can point outside the layout.
//
//   DATA/
//     admin-token                                  the admin token of `registry serve` (0600)
//     token-key                                    HMAC key signing Bearer tokens (0600)
//     config.json                                  { anonymousPull, repositories: { NAME: { anonymousPull } } }
//     blobs/<alg>/<hex[0:2]>/<hex>                 content, addressed by digest; written once by rename
//     uploads/<uuid>/data                          an upload in progress (same filesystem as blobs/,
//     uploads/<uuid>/info                           so the final rename is atomic); JSON {repository, startedAt}
//     repositories/<name>/                         one folder per repository; <name> may hold `/`
//       _layers/<alg>/<hex>                        link: the blob is visible in this repository
//       _manifests/revisions/<alg>/<hex>           link: the manifest is visible in this repository;
//                                                  holds the media type it was pushed with
//       _manifests/tags/<tag>                      the digest the tag points at (replaced by rename)
//       _referrers/<alg>/<subject-hex>/<alg>/<hex> link: manifest <hex> has subject <subject-hex>
//
// Names' components start with [a-z0-9], so the `_`-prefixed folders never collide with a
// nested repository. Links are (nearly) empty files: their existence is the fact; the blob holds
// the data. Manifests are blobs too, so gc treats both alike.
import path from 'node:path';
import type { Digest } from './names.js';

export class RegistryPaths {
  constructor(readonly root: string) {}

  adminToken(): string {
    return path.join(this.root, 'admin-token');
  }
  tokenKey(): string {
    return path.join(this.root, 'token-key');
  }
  config(): string {
    return path.join(this.root, 'config.json');
  }

  blobsRoot(): string {
    return path.join(this.root, 'blobs');
  }
  blob(d: Digest): string {
    return path.join(this.root, 'blobs', d.algorithm, d.hex.slice(0, 2), d.hex);
  }

  uploadsRoot(): string {
    return path.join(this.root, 'uploads');
  }
  upload(uuid: string): string {
    return path.join(this.root, 'uploads', uuid);
  }
  uploadData(uuid: string): string {
    return path.join(this.upload(uuid), 'data');
  }
  uploadInfo(uuid: string): string {
    return path.join(this.upload(uuid), 'info');
  }

  repositoriesRoot(): string {
    return path.join(this.root, 'repositories');
  }
  repository(name: string): string {
    return path.join(this.root, 'repositories', ...name.split('/'));
  }
  layerLink(name: string, d: Digest): string {
    return path.join(this.repository(name), '_layers', d.algorithm, d.hex);
  }
  layerLinks(name: string): string {
    return path.join(this.repository(name), '_layers');
  }
  revisionLink(name: string, d: Digest): string {
    return path.join(this.repository(name), '_manifests', 'revisions', d.algorithm, d.hex);
  }
  revisionLinks(name: string): string {
    return path.join(this.repository(name), '_manifests', 'revisions');
  }
  tags(name: string): string {
    return path.join(this.repository(name), '_manifests', 'tags');
  }
  tag(name: string, tag: string): string {
    return path.join(this.tags(name), tag);
  }
  referrers(name: string, subject: Digest): string {
    return path.join(this.repository(name), '_referrers', subject.algorithm, subject.hex);
  }
  referrerLink(name: string, subject: Digest, referrer: Digest): string {
    return path.join(this.referrers(name, subject), referrer.algorithm, referrer.hex);
  }
  referrersRoot(name: string): string {
    return path.join(this.repository(name), '_referrers');
  }
}
