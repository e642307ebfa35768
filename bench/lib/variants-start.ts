/** Starts the selected variants of the main comparison (each server in its own process). */
import { findNginx } from './machine.js';
import { bareVariant, directVariant, nginxVariant } from '../variants/baselines.js';
import { latchkeyVariant } from '../variants/latchkey.js';
import { VARIANT_NAMES, type Unavailable, type Upstream, type Variant, type VariantName } from '../variants/types.js';

/**
 * Starts every variant named in `names` against `up`. The gateway is expected when its routes exist
 * in the server source or when it is named explicitly; nginx always is.
 *
 * @returns the running variants and the unavailable ones (nginx not installed, gateway missing).
 * @throws Error when a variant that should start fails to (the message says which and why).
 */
export async function startVariants(
  names: readonly VariantName[],
  up: Upstream,
  log: (msg: string) => void,
  /** Variants named explicitly (`--only`): their absence always invalidates the run. */
  explicit: readonly string[] = [],
): Promise<{ variants: Variant[]; unavailable: Unavailable[] }> {
  const variants: Variant[] = [];
  const unavailable: Unavailable[] = [];
  for (const name of VARIANT_NAMES.filter((n) => names.includes(n))) {
    log(`starting ${name}`);
    if (name === 'direct') variants.push(directVariant(up));
    else if (name === 'nginx') {
      const bin = findNginx();
      if (bin) variants.push(await nginxVariant(up, bin));
      else
        unavailable.push({ name, reason: 'nginx is not installed (apt-get install -y nginx-light)', expected: true });
    } else if (name === 'bare') variants.push(await bareVariant(up));
    else {
      let v = await latchkeyVariant(name, up);
      if ('reason' in v && explicit.includes(name)) v = { ...v, expected: true };
      if ('reason' in v) {
        log(`  ${name}: ${v.reason}${v.expected ? ' (expected: run invalid)' : ''}`);
        unavailable.push(v);
      } else variants.push(v);
    }
  }
  return { variants, unavailable };
}
