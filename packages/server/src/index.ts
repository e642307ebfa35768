export { buildApp, createLogger, LOG_REDACT_PATHS, type Latchkey } from './app.js';
export { loadConfig, ConfigError, type Config } from './config/load.js';
export { CONFIG_KEYS } from './config/schema.js';
export {
  initializeIfEmpty,
  dataDirHasInstall,
  baseUrlOf,
  AlreadyInitializedError,
  type InitResult,
} from './bootstrap.js';
export { LatchkeyError } from './errors.js';
export { openStore } from './store/database.js';
export { migrateToLatest } from './store/migrate.js';
export { writeMasterKeyFile, loadOrCreateMasterKey, parseMasterKey } from './crypto/master-key.js';
export { generateKey } from './crypto/envelope.js';
export { signRequest } from './crypto/request-signature.js';
export { deriveSigningKey } from './crypto/tokens.js';
export { startServer, type RunningServer } from './main.js';
