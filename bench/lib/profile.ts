/**
 * The profile section: one Latchkey under `node --cpu-prof`, loaded on `/v1/forward` (bearer,
 * 50 connections); the samples of the measured window are analyzed (start-up and warm-up excluded).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyzeProfile, type CpuProfile, type ProfileAnalysis } from './cpu-profile.js';
import { runLoad, type Measurement } from './load.js';
import { HOTSPOT_PROBES } from './suggestions.js';
import { createBenchGrant, startLatchkey } from './latchkey.js';
import { forwardBearerRequest } from '../variants/latchkey.js';
import type { Upstream } from '../variants/types.js';

/** The profile and the load it was taken under. */
export interface ProfileResult {
  readonly measurement: Measurement;
  readonly analysis: ProfileAnalysis;
  readonly seconds: number;
}

/**
 * Profiles `/v1/forward` for `seconds` (after `warmupS` of warm-up outside the analyzed window).
 *
 * @param keepAs where to copy the raw `.cpuprofile`, if anywhere.
 *
 * @throws Error when no profile was written.
 */
export async function runProfile(
  up: Upstream,
  seconds: number,
  warmupS: number,
  problems: string[],
  log: (m: string) => void,
  keepAs?: string,
): Promise<ProfileResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lk-bench-prof-'));
  log(`profiling lk-forward-bearer for ${seconds} s`);
  const lk = await startLatchkey({ name: 'profile', cpuProfDir: dir });
  try {
    const { grantId } = await createBenchGrant(lk, up.port);
    const base = {
      origin: lk.origin,
      request: forwardBearerRequest(lk.init!.appKey, up, grantId),
      serverPids: () => [lk.child.pid],
      upstreamPid: up.child.pid,
      connections: 50,
    };
    if (warmupS > 0) await runLoad({ ...base, durationS: Math.max(warmupS, 2) });
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const measurement = await runLoad({ ...base, durationS: seconds });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    for (const p of measurement.problems) problems.push(`profile run: ${p}`);
    // The profile is written when the process exits.
    await lk.child.stop(30_000);
    // One profile per thread (`CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`): the event
    // loop is thread 0; the audit insert and checkpoint threads write their own.
    const file = readdirSync(dir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    if (keepAs) copyFileSync(path.join(dir, file), keepAs);
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    return { measurement, analysis: analyzeProfile(profile, fromUs, toUs, HOTSPOT_PROBES), seconds };
  } finally {
    await lk.child.stop();
    rmSync(lk.dataDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
