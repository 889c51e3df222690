// Encryption at rest for project secrets, webhook secrets and provider tokens: AES-256-GCM with a
// key from SLIPWAY_SECRET_KEY (base64, 32 bytes) or DATA/secret.key (made 0600 on first use).
// Each value is bound to where it lives (associated data), so a value copied into another row
// does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from './types.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

export interface KeySource {
  key: Buffer;
  /** for messages: "SLIPWAY_SECRET_KEY" or the key file's path */
  origin: string;
}

function parseKey(text: string, origin: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new StoreError(
      'STORE_SECRET_KEY_INVALID',
      `${origin} must hold ${KEY_BYTES} bytes in base64 (it decodes to ${key.length}); make one with: openssl rand -base64 32`,
    );
  }
  return key;
}

/** The environment wins; otherwise DATA/secret.key, created with a fresh random key if missing. */
export async function loadSecretKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<KeySource> {
  const fromEnv = env.SLIPWAY_SECRET_KEY;
  if (fromEnv) return { key: parseKey(fromEnv, 'SLIPWAY_SECRET_KEY'), origin: 'SLIPWAY_SECRET_KEY' };
  const file = path.join(dataDir, 'secret.key');
  try {
    return { key: parseKey(await readFile(file, 'utf8'), file), origin: file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  try {
    // "wx": two processes starting at once must not each write their own key
    const handle = await open(file, 'wx', 0o600);
    await handle.writeFile(key.toString('base64') + '\n');
    await handle.sync();
    await handle.close();
    return { key, origin: file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: parseKey(await readFile(file, 'utf8'), file), origin: file };
  }
}

export class SecretBox {
  constructor(private readonly source: KeySource) {}

  /** `v1:` + base64(iv ‖ tag ‖ ciphertext) */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.source.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split(':', 2);
    const raw = Buffer.from(payload ?? '', 'base64');
    if (version !== VERSION || raw.length < IV_BYTES + TAG_BYTES) {
      throw new StoreError('STORE_SECRET_KEY_MISMATCH', `a stored secret (${context}) is not in a format this Slipway reads`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.source.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw this.mismatch();
    }
  }

  mismatch(): StoreError {
    return new StoreError(
      'STORE_SECRET_KEY_MISMATCH',
      `the secret key from ${this.source.origin} is not the one this database's secrets were encrypted with; ` +
        'restore the original DATA/secret.key or set SLIPWAY_SECRET_KEY to it (every replica needs the same key)',
    );
  }
}

/** A sealed constant kept in store_meta: a wrong key is caught at open, not at the first secret read. */
export const KEY_CHECK_CONTEXT = 'store:key-check';
export const KEY_CHECK_PLAINTEXT = 'slipway';
