import { signRequest } from '../../src/crypto/request-signature.js';
import { deriveSigningKey } from '../../src/crypto/tokens.js';
import { deriveKeyId } from '../../src/modules/keys/keys.fns.js';

/** Builds the headers of an RFC 9421 signed request (what the SDK sends) for `apiKey`. */
export function signedHeaders(
  apiKey: string,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
  now?: number,
): Record<string, string> {
  return {
    ...headers,
    ...signRequest({
      method,
      url,
      headers,
      body,
      keyId: deriveKeyId(apiKey),
      signingKey: deriveSigningKey(apiKey),
      now,
    }),
  };
}
