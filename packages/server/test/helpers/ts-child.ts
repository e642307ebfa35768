import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs `source` (TypeScript, an ES module) in a child `node --import tsx` process from the server
 * package's directory and returns its stdout. The script is written to a fresh temp dir, removed
 * afterwards.
 *
 * @param args arguments after the script; `nodeFlags` before `--import tsx`.
 * @param timeoutMs the child is killed after this many milliseconds.
 * @throws Error (with the child's stderr) when it exits non-zero or times out.
 */
export async function runTsChild(
  source: string,
  opts: { args?: string[]; nodeFlags?: string[]; timeoutMs?: number } = {},
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-child-'));
  const entry = path.join(dir, 'child.mts');
  try {
    fs.writeFileSync(entry, source);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...(opts.nodeFlags ?? []), '--import', 'tsx', entry, ...(opts.args ?? [])],
      { cwd: path.join(import.meta.dirname, '..', '..'), timeout: opts.timeoutMs ?? 30_000 },
    );
    return stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
