// Node module hook: resolve workspace packages through their "source" export condition, so the
// TypeScript sources run directly (through tsx) without a build step.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('source') ? context.conditions : [...context.conditions, 'source'];
  return nextResolve(specifier, { ...context, conditions });
}
