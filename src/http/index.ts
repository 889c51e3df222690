// The HTTP plumbing that every raw node:http surface shares (the API, git hosting, the registry,
// the deploy agent): bounded bodies, JSON answers and errors, credentials, cookies, the admin token file.
export { HttpError, AUTH_CHALLENGE, sendError } from './errors.js';
export { sendJson } from './json.js';
export { ByteBudget, parseJsonObject, readBody, readJson } from './body.js';
export { credentialsOf, parseCredentials, type Credentials } from './credentials.js';
export { adminTokenFile, ensureAdminToken, readOrCreateSecretFile, readSecretFile } from './admin-token.js';
export { requestUrl } from './request.js';
export { cookieOf, setCookie, type CookieOptions } from './cookies.js';
export { decodeClaims, encodeClaims, isSignatureOf, purposeKey, signatureOf } from './signed.js';
export { holdRequestsUntilReady } from './ready.js';
