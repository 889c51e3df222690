// The registry's error codes, registered once with their message and HTTP status, and the
// OCI error body they turn into. Every code here must be documented in docs/registry.md
// (test/registry/errors-documented.test.ts enforces it).
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/index.js';

interface CodeSpec {
  readonly message: string;
  readonly status: number;
}

/** The OCI Distribution Spec v1.1 error codes (plus the spec's TOOMANYREQUESTS). */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry', status: 404 },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid', status: 400 },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry', status: 404 },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content', status: 400 },
  MANIFEST_BLOB_UNKNOWN: { message: 'manifest references a manifest or blob unknown to registry', status: 404 },
  MANIFEST_INVALID: { message: 'manifest invalid', status: 400 },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry', status: 404 },
  NAME_INVALID: { message: 'invalid repository name', status: 400 },
  NAME_UNKNOWN: { message: 'repository name not known to registry', status: 404 },
  SIZE_INVALID: { message: 'provided length did not match content length', status: 400 },
  UNAUTHORIZED: { message: 'authentication required', status: 401 },
  DENIED: { message: 'requested access to the resource is denied', status: 403 },
  UNSUPPORTED: { message: 'the operation is unsupported', status: 405 },
  TOOMANYREQUESTS: { message: 'too many requests', status: 429 },
} as const satisfies Record<string, CodeSpec>;

export type RegistryErrorCode = keyof typeof ERROR_CODES;

/**
 * One error type for the registry domain. `status` overrides the code's usual status where the
 * spec asks for a different one (416 for an out-of-order chunk, 413 for an oversized manifest).
 */
export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: RegistryErrorCode,
    readonly detail?: unknown,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? `${ERROR_CODES[code].message}: ${detail}` : ERROR_CODES[code].message);
    this.status = status ?? ERROR_CODES[code].status;
  }

  /** The stable code the rest of Slipway sees (`REGISTRY_DIGEST_INVALID`). */
  get slipwayCode(): string {
    return `REGISTRY_${this.code}`;
  }
}

export function errorBody(err: RegistryError): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
  const entry: { code: string; message: string; detail?: unknown } = {
    code: err.code,
    message: ERROR_CODES[err.code].message,
  };
  if (err.detail !== undefined) entry.detail = err.detail;
  return { errors: [entry] };
}

export function sendError(res: ServerResponse, err: RegistryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, errorBody(err), { ...err.headers, 'Docker-Distribution-API-Version': 'registry/2.0' });
}
