/**
 * How a call names its grant: `grantId`, or `provider` + the user's ID token (DESIGN §4, §10).
 * Internal; `request()` and `proxyRequest()` share it.
 */
import { LatchkeyValueError } from './errors.js';
import { assertGrantId } from './validate.js';

/**
 * Returns the current user's ID token (e.g. from the session); used when a call names `provider`
 * without `userToken`. May be async.
 */
export type UserTokenGetter = () => string | Promise<string>;

/** The grant-naming options of `request()` and `proxyRequest()`. */
export interface GrantSelectorOptions {
  /** The grant to use (a UUID). Exclusive with `provider`. */
  readonly grantId?: string;
  /** A provider (template) id, e.g. `'github'`: Latchkey finds the user's grant for it. Exclusive with `grantId`. */
  readonly provider?: string;
  /** The user's ID token for `provider`; defaults to the client's `userTokenGetter()`. */
  readonly userToken?: string;
  /** Picks one grant when several match (`AmbiguousGrantError.accounts`): a grant's label, else its secret's slug. */
  readonly account?: string;
}

/** A validated selector. */
export type GrantSelector =
  | { readonly grantId: string }
  | { readonly provider: string; readonly userToken: string; readonly account: string | undefined };

const PROVIDER = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const TOKEN = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Validates the grant-naming options and, for `provider` without `userToken`, asks `getter`.
 *
 * @throws {LatchkeyValueError} Neither or both of `grantId` and `provider`; a bad provider id,
 *   token or account; no token and no getter (the message never quotes the token).
 */
export async function resolveSelector(
  o: GrantSelectorOptions,
  getter: UserTokenGetter | undefined,
): Promise<GrantSelector> {
  if (o.provider === undefined) {
    if (o.userToken !== undefined || o.account !== undefined) {
      throw new LatchkeyValueError('userToken and account go with provider.');
    }
    assertGrantId(o.grantId);
    return { grantId: o.grantId };
  }
  if (o.grantId !== undefined) throw new LatchkeyValueError('Give grantId or provider, not both.');
  if (typeof o.provider !== 'string' || o.provider.length > 64 || !PROVIDER.test(o.provider)) {
    throw new LatchkeyValueError('provider must be a provider id (lowercase letters and digits joined by hyphens).');
  }
  let token = o.userToken;
  if (token === undefined) {
    if (getter === undefined) {
      throw new LatchkeyValueError('provider needs userToken, or a userTokenGetter on the client.');
    }
    token = await getter();
  }
  if (typeof token !== 'string' || token.length === 0 || token.length > 8192 || !TOKEN.test(token)) {
    throw new LatchkeyValueError('userToken must be a compact JWT (an ID token of the identity provider).');
  }
  if (o.account !== undefined) {
    if (typeof o.account !== 'string' || o.account.length === 0 || o.account.length > 200) {
      throw new LatchkeyValueError('account must be a string of 1 to 200 characters.');
    }
  }
  return { provider: o.provider, userToken: token, account: o.account };
}
