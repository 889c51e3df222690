// The front's certificates: each PEM pair checked once when the config arrives (parses, key matches)
// and turned into a TLS context; SNI then picks the certificate whose names cover the host asked
// for, an exact name before a wildcard, and the first certificate serves clients without SNI.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';

export interface CertificatePem {
  /** the certificate, optionally followed by its chain */
  cert: string;
  key: string;
}

interface Loaded {
  x509: X509Certificate;
  context: tls.SecureContext;
}

/** Thrown for a certificate that cannot serve: the config is refused with this message. */
export class CertificateError extends Error {}

export class CertificateSet {
  private readonly loaded: Loaded[];

  constructor(readonly pems: CertificatePem[]) {
    this.loaded = pems.map((pem, index) => load(pem, index));
  }

  get isEmpty(): boolean {
    return this.loaded.length === 0;
  }

  /** The context for clients that send no SNI (or a name no certificate covers). */
  get fallback(): CertificatePem | undefined {
    return this.pems[0];
  }

  contextFor(servername: string): tls.SecureContext | undefined {
    const name = servername.toLowerCase();
    let wildcard: tls.SecureContext | undefined;
    for (const { x509, context } of this.loaded) {
      const matched = x509.checkHost(name);
      if (matched === undefined) continue;
      if (matched.toLowerCase() === name) return context;
      wildcard ??= context;
    }
    return wildcard ?? this.loaded[0]?.context;
  }
}

function load(pem: CertificatePem, index: number): Loaded {
  const which = `certificate ${index + 1}`;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem.cert);
  } catch (err) {
    throw new CertificateError(`${which} is not a PEM certificate (${(err as Error).message})`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(pem.key))) throw new CertificateError(`the key of ${which} (${x509.subject.replace(/\n/g, ', ')}) does not belong to it`);
    return { x509, context: tls.createSecureContext({ cert: pem.cert, key: pem.key }) };
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(`the key of ${which} is not a usable PEM private key (${(err as Error).message})`);
  }
}
