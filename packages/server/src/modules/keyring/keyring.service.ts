import { buildAad } from '../../crypto/aad.js';
import { openValue, prepareOpen, sealValue } from '../../crypto/aead.js';
import { generateKey, keyId, unwrapKey, wrapKey } from '../../crypto/envelope.js';
import { fingerprint } from '../../crypto/tokens.js';
import type { Db, Executor } from '../../store/types.js';

/** Where a sealed value lives: its AAD binds it to this row and field (DESIGN §6). */
export interface SealTarget {
  appId: string;
  table: string;
  recordId: string;
  field: string;
}

/** A value sealed under a fresh DEK, and that DEK wrapped by the app's current KEK. Both base64. */
export interface EnvelopeSealed {
  sealed: string;
  dekWrapped: string;
}

/** The three-level key hierarchy: root key → per-app KEK → per-record DEK. */
export interface KeyringService {
  /** Creates version 1 of an app's KEK and its fingerprint key, inside `tx`. */
  createAppKeys(tx: Executor, appId: string): Promise<{ kekVersion: number; fingerprintKeyWrapped: string }>;
  /** Seals `plaintext` under a new DEK wrapped by the app's current KEK. */
  sealEnvelope(target: SealTarget, plaintext: Buffer): Promise<EnvelopeSealed>;
  /** Unwraps a record's DEK (callers prepare the open with it, then zero it). */
  openDek(target: SealTarget, dekWrapped: string): Promise<Buffer>;
  /**
   * Prepares opening a value sealed by {@link sealEnvelope} with its already-unwrapped DEK: the
   * returned function (cached by callers) does one AES-256-GCM open per call and keeps its own copy
   * of the DEK, so the caller zeroes `dek` afterwards.
   * @throws CryptoError `malformed` now, `auth_failed` from the returned function.
   */
  prepareOpenWithDek(target: SealTarget, dek: Buffer, sealed: string): () => Buffer;
  /** Seals a small value directly under the app's current KEK (API keys' signing keys). */
  sealWithKek(target: SealTarget, plaintext: Buffer): Promise<string>;
  /** Opens a value sealed by {@link sealWithKek}. */
  openWithKek(target: SealTarget, sealed: string): Promise<Buffer>;
  /** HMAC fingerprint of a secret value under the app's fingerprint key (first 16 hex). */
  fingerprint(appId: string, value: Buffer): Promise<string>;
  /** Re-wraps every app KEK under `newRootKey` in one transaction; returns the count. */
  rotateRoot(newRootKey: Buffer): Promise<number>;
  /** Public id of the root key in use. */
  readonly rootKeyId: string;
}

const ROOT_VERSION = 1;

/**
 * Creates the keyring over the database. KEKs are cached in memory after first unwrap.
 *
 * @param deps `db` and the 32-byte `rootKey`.
 * @throws CryptoError (from crypto/) when a wrapped key fails to open — e.g. the wrong root key.
 */
export function createKeyringService(deps: { db: Db; rootKey: Buffer }): KeyringService {
  const { db } = deps;
  let rootKey = deps.rootKey;
  let rootKeyIdValue = keyId(rootKey);
  const keks = new Map<string, Map<number, Buffer>>();
  const fpKeys = new Map<string, Buffer>();
  const currentVersion = new Map<string, number>();

  const kekAad = (appId: string, version: number) =>
    buildAad({ appId, table: 'app_keks', recordId: String(version), field: 'wrapped_kek' });
  const fpAad = (appId: string) => buildAad({ appId, table: 'apps', recordId: appId, field: 'fingerprint_key' });

  async function loadApp(appId: string): Promise<void> {
    const app = await db
      .selectFrom('apps')
      .select(['kek_version', 'fingerprint_key_wrapped'])
      .where('id', '=', appId)
      .executeTakeFirst();
    if (!app) throw new Error(`unknown app ${appId}`);
    const rows = await db.selectFrom('app_keks').selectAll().where('app_id', '=', appId).execute();
    const map = new Map<number, Buffer>();
    for (const r of rows) {
      map.set(
        r.version,
        unwrapKey(() => rootKey, Buffer.from(r.wrapped_kek, 'base64'), kekAad(appId, r.version)),
      );
    }
    keks.set(appId, map);
    currentVersion.set(appId, app.kek_version);
    const kek = map.get(app.kek_version);
    if (!kek) throw new Error(`app ${appId} has no current KEK`);
    fpKeys.set(
      appId,
      unwrapKey((v) => map.get(v), Buffer.from(app.fingerprint_key_wrapped, 'base64'), fpAad(appId)),
    );
  }

  async function kekFor(appId: string): Promise<{ version: number; key: Buffer; all: Map<number, Buffer> }> {
    if (!keks.has(appId)) await loadApp(appId);
    const all = keks.get(appId)!;
    const version = currentVersion.get(appId)!;
    return { version, key: all.get(version)!, all };
  }

  const aadOf = (t: SealTarget) => buildAad(t);

  return {
    get rootKeyId() {
      return rootKeyIdValue;
    },
    async createAppKeys(tx, appId) {
      const kek = generateKey();
      const fpKey = generateKey();
      const now = new Date().toISOString();
      await tx
        .insertInto('app_keks')
        .values({
          app_id: appId,
          version: 1,
          wrapped_kek: wrapKey(rootKey, ROOT_VERSION, kek, kekAad(appId, 1)).toString('base64'),
          root_key_id: rootKeyIdValue,
          created_at: now,
        })
        .execute();
      return { kekVersion: 1, fingerprintKeyWrapped: wrapKey(kek, 1, fpKey, fpAad(appId)).toString('base64') };
    },
    async sealEnvelope(target, plaintext) {
      const { version, key } = await kekFor(target.appId);
      const dek = generateKey();
      try {
        const sealed = sealValue(dek, 1, plaintext, aadOf(target));
        const dekWrapped = wrapKey(key, version, dek, buildAad({ ...target, field: `${target.field}#dek` }));
        return { sealed: sealed.toString('base64'), dekWrapped: dekWrapped.toString('base64') };
      } finally {
        dek.fill(0);
      }
    },
    async openDek(target, dekWrapped) {
      const { all } = await kekFor(target.appId);
      return unwrapKey(
        (v) => all.get(v),
        Buffer.from(dekWrapped, 'base64'),
        buildAad({ ...target, field: `${target.field}#dek` }),
      );
    },
    prepareOpenWithDek(target, dek, sealed) {
      return prepareOpen(dek, Buffer.from(sealed, 'base64'), aadOf(target));
    },
    async sealWithKek(target, plaintext) {
      const { version, key } = await kekFor(target.appId);
      return sealValue(key, version, plaintext, aadOf(target)).toString('base64');
    },
    async openWithKek(target, sealed) {
      const { all } = await kekFor(target.appId);
      return openValue((v) => all.get(v), Buffer.from(sealed, 'base64'), aadOf(target));
    },
    async fingerprint(appId, value) {
      if (!fpKeys.has(appId)) await loadApp(appId);
      return fingerprint(fpKeys.get(appId)!, value);
    },
    async rotateRoot(newRootKey) {
      const newId = keyId(newRootKey);
      const count = await db.transaction().execute(async (tx) => {
        const rows = await tx.selectFrom('app_keks').selectAll().execute();
        for (const r of rows) {
          const aad = kekAad(r.app_id, r.version);
          const kek = unwrapKey(() => rootKey, Buffer.from(r.wrapped_kek, 'base64'), aad);
          await tx
            .updateTable('app_keks')
            .set({ wrapped_kek: wrapKey(newRootKey, ROOT_VERSION, kek, aad).toString('base64'), root_key_id: newId })
            .where('app_id', '=', r.app_id)
            .where('version', '=', r.version)
            .execute();
          kek.fill(0);
        }
        return rows.length;
      });
      rootKey = newRootKey;
      rootKeyIdValue = newId;
      return count;
    },
  };
}
