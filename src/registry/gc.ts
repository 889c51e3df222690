// Garbage collection: mark every blob a manifest of any repository reaches (configs, layers,
// index children, referrers — which are themselves manifests of the repository — and the
// manifests' own bytes), then sweep blobs nothing marked. It runs beside live pushes: a blob
// younger than the grace period is spared, and pushes touch the blobs they (re)link or
// reference, so a blob about to be referenced looks young even if its bytes are old.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseManifest, referencedDigests } from './manifests.js';
import { tryParseDigest } from './names.js';
import { isNotFound, type Storage } from './storage.js';
import type { Uploads } from './uploads.js';

export interface GcOptions {
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  /** Unreferenced blobs younger than this stay (an upload in flight has no manifest yet). */
  gracePeriodMs?: number;
  /** Upload sessions idle longer than this are removed. */
  uploadMaxIdleMs?: number;
}

export interface GcReport {
  dryRun: boolean;
  repositories: number;
  manifests: number;
  blobsMarked: number;
  blobsDeleted: number;
  bytesFreed: number;
  /** Repository links to blobs that are gone (or going), removed so HEAD stops finding them. */
  linksRemoved: number;
  uploadsPurged: number;
  deleted: string[];
}

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_UPLOAD_MAX_IDLE_MS = 24 * 60 * 60 * 1000;

export async function collectGarbage(storage: Storage, uploads: Uploads, options: GcOptions = {}): Promise<GcReport> {
  const dryRun = options.dryRun ?? false;
  const graceMs = options.gracePeriodMs ?? DEFAULT_GC_GRACE_MS;
  const report: GcReport = {
    dryRun,
    repositories: 0,
    manifests: 0,
    blobsMarked: 0,
    blobsDeleted: 0,
    bytesFreed: 0,
    linksRemoved: 0,
    uploadsPurged: 0,
    deleted: [],
  };

  // --- mark -----------------------------------------------------------------------------------
  const marked = new Set<string>();
  const repositories = await storage.listRepositories();
  report.repositories = repositories.length;
  for (const name of repositories) {
    for (const d of await storage.listManifests(name)) {
      const manifest = await storage.readManifest(name, d);
      if (!manifest) continue;
      report.manifests++;
      marked.add(d.text);
      try {
        for (const ref of referencedDigests(parseManifest(manifest.bytes, manifest.mediaType))) marked.add(ref.text);
      } catch {
        // a manifest stored by an older version that no longer parses still keeps its own bytes
      }
    }
  }
  report.blobsMarked = marked.size;

  // --- sweep ----------------------------------------------------------------------------------
  const swept = new Set<string>();
  const root = storage.paths.blobsRoot();
  for (const alg of await readdirOrEmpty(root)) {
    for (const prefix of await readdirOrEmpty(path.join(root, alg))) {
      const dir = path.join(root, alg, prefix);
      for (const file of await readdirOrEmpty(dir)) {
        const full = path.join(dir, file);
        const d = tryParseDigest(`${alg}:${file}`);
        // leftovers of a crashed writer (temp files) go after the grace period too
        if (d && marked.has(d.text)) continue;
        let st;
        try {
          st = await fs.stat(full);
        } catch (err) {
          if (isNotFound(err)) continue;
          throw err;
        }
        // re-read just before deleting: a push that touched the blob since the mark phase wins
        if (Date.now() - st.mtimeMs < graceMs) continue;
        if (d) {
          swept.add(d.text);
          report.deleted.push(d.text);
          report.blobsDeleted++;
          report.bytesFreed += st.size;
        }
        if (!dryRun) await fs.rm(full, { force: true });
      }
    }
  }

  // --- links to blobs that no longer exist ----------------------------------------------------
  for (const name of repositories) {
    for (const d of await storage.listLayerLinks(name)) {
      if (swept.has(d.text) || (!dryRun && (await storage.blobSize(d)) === undefined)) {
        report.linksRemoved++;
        if (!dryRun) await storage.unlinkLayer(name, d);
      }
    }
  }

  report.uploadsPurged = await uploads.purgeStale(options.uploadMaxIdleMs ?? DEFAULT_UPLOAD_MAX_IDLE_MS, dryRun);
  return report;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
