import { App, LatchkeyError } from '@latchkey/sdk';
import { EXIT, exitCodeForStatus } from './exit-codes.js';

/** Options every client command accepts. */
export interface ClientOptions {
  url?: string;
  json?: boolean;
}

/** Thrown for a usage problem: printed without a stack, exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Prints `data` as JSON (with `--json`) or as `human(data)`. */
export function output(opts: { json?: boolean }, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/**
 * The SDK client for a command: base URL from `--url` / `LATCHKEY_URL` (default
 * `http://127.0.0.1:7070`), API key from `LATCHKEY_API_KEY` or the file named by
 * `LATCHKEY_API_KEY_FILE` — never from argv, where other users could read it.
 *
 * @throws UsageError when no key is configured.
 */
export async function clientFor(opts: ClientOptions): Promise<App> {
  let apiKey = process.env.LATCHKEY_API_KEY;
  if (!apiKey && process.env.LATCHKEY_API_KEY_FILE) {
    const fs = await import('node:fs');
    apiKey = fs.readFileSync(process.env.LATCHKEY_API_KEY_FILE, 'utf8').trim();
  }
  if (!apiKey) throw new UsageError('Set LATCHKEY_API_KEY (or LATCHKEY_API_KEY_FILE) to an app key.');
  return new App({
    apiKey,
    baseUrl: opts.url ?? process.env.LATCHKEY_URL ?? 'http://127.0.0.1:7070',
    caller: 'latchkey-cli',
  });
}

/** Reads all of stdin as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a secret value: from stdin when it is not a terminal (one trailing newline removed), else
 * from a prompt that does not echo. Never from argv.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return (await readStdin()).replace(/\r?\n$/, '');
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new UsageError('Cancelled.'));
          return;
        }
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Prints an error (never a stack for expected errors) and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof LatchkeyError) {
    const body = { error: { code: err.code, message: err.message, details: err.details, request_id: err.requestId } };
    process.stderr.write(
      json
        ? `${JSON.stringify(body)}\n`
        : `error: ${err.message} (${err.code}${err.requestId ? `, request ${err.requestId}` : ''})\n`,
    );
    return exitCodeForStatus(err.status);
  }
  if (err instanceof UsageError) {
    process.stderr.write(
      json ? `${JSON.stringify({ error: { code: 'usage', message: err.message } })}\n` : `error: ${err.message}\n`,
    );
    return EXIT.usage;
  }
  const e = err as { name?: string; message?: string };
  if (e?.name === 'AlreadyInitializedError') {
    process.stderr.write(
      json
        ? `${JSON.stringify({ error: { code: 'already_initialized', message: e.message } })}\n`
        : `error: ${e.message}\n`,
    );
    return EXIT.conflict;
  }
  if (e?.name === 'ConfigError' || e?.name === 'MasterKeyError') {
    process.stderr.write(
      json
        ? `${JSON.stringify({ error: { code: e.name === 'ConfigError' ? 'invalid_config' : 'master_key_error', message: e.message } })}\n`
        : `error: ${e.message}\n`,
    );
    return EXIT.usage;
  }
  process.stderr.write(
    json
      ? `${JSON.stringify({ error: { code: e.name ?? 'error', message: e.message } })}\n`
      : `error: ${e.message ?? String(err)}\n`,
  );
  return EXIT.error;
}
