import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const bin = path.join(repoRoot, 'packages/cli/bin/latchkey.mjs');

/** A `latchkey serve` process (a real replica) started for a test. */
export interface Replica {
  url: string;
  /** First-start output (`--json`), when this replica initialized the database. */
  init: { app_id: string; app_key: string } | undefined;
  stderr(): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL. */
  kill9(): Promise<void>;
}

/** Starts a replica on 127.0.0.1 with a free port and its own data dir; `env` adds configuration. */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-replica-'));
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [bin, 'serve', '--data-dir', dataDir, '--port', '0', '--json'],
    { env: { ...process.env, LATCHKEY_LOG_LEVEL: 'warn', ...env } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`replica exited (${code}) before listening: ${err}`)));
  });
  const init = out.trim() ? (JSON.parse(out.trim()) as { app_id: string; app_key: string }) : undefined;
  return {
    url,
    init,
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
