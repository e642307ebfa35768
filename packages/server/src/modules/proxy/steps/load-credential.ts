import { LatchkeyError } from '../../../errors.js';
import type { ResolvedGrant } from '../../grants/grants.service.js';
import type { SealedCredential, SecretsService } from '../../secrets/secrets.service.js';

/**
 * Step 7: loads the grant's credential, still sealed (cached per replica). A deleted secret makes
 * its grants unusable (`grant_revoked`).
 *
 * @throws LatchkeyError `grant_revoked`.
 */
export async function loadCredential(
  secrets: Pick<SecretsService, 'getCredential'>,
  grant: ResolvedGrant,
): Promise<SealedCredential> {
  if (!grant.managedSecretId) throw new LatchkeyError('grant_revoked');
  const cred = await secrets.getCredential(grant.appId, grant.managedSecretId);
  if (!cred) throw new LatchkeyError('grant_revoked');
  return cred;
}
