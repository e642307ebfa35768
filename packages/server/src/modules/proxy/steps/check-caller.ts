import { hasScope } from '@latchkey/api';
import { LatchkeyError } from '../../../errors.js';
import type { AuthContext } from '../../../http/authenticate.js';

/** Step 2: the caller's key must hold `proxy:execute`. @throws `insufficient_scope` */
export function checkCaller(auth: AuthContext): void {
  if (!hasScope(auth.scopes, 'proxy:execute')) {
    throw new LatchkeyError('insufficient_scope', { details: { required_scope: 'proxy:execute' } });
  }
}
