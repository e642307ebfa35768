import { LatchkeyError } from '../../../errors.js';
import { thenMaybe, type MaybePromise } from '../../../maybe-promise.js';
import type { ResolvedGrant } from '../../grants/grants.service.js';
import type { SealedCredential, SecretsService } from '../../secrets/secrets.service.js';

/**
 * Step 7: loads the grant's credential, still sealed (cached per replica). A deleted secret makes
 * its grants unusable (`grant_revoked`). A cached credential is returned as is, a miss as a promise.
 *
 * @throws LatchkeyError `grant_revoked` (at once, or as a rejection).
 */
export function loadCredential(
  secrets: Pick<SecretsService, 'getCredential'>,
  grant: ResolvedGrant,
): MaybePromise<SealedCredential> {
  if (!grant.managedSecretId) throw new LatchkeyError('grant_revoked');
  return thenMaybe(secrets.getCredential(grant.appId, grant.managedSecretId), (cred) => {
    if (!cred) throw new LatchkeyError('grant_revoked');
    return cred;
  });
}
