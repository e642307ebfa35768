/** What changed: the kind of cached object and its id. */
export type InvalidationKind = 'key' | 'grant' | 'secret' | 'agent' | 'identity' | 'delegation';

/** A change notice. */
export interface Invalidation {
  kind: InvalidationKind;
  id: string;
}

/**
 * Carries cache invalidations to every replica (DESIGN §3). `publish` applies the change locally at
 * once (synchronously) and, in a cluster, sends it to the other replicas over Redis pub/sub.
 */
export interface InvalidationBus {
  publish(kind: InvalidationKind, id: string): void;
  subscribe(handler: (inv: Invalidation) => void): void;
}

/** Single-process bus: local handlers only. */
export function createLocalBus(): InvalidationBus & { deliver(inv: Invalidation): void } {
  const handlers: ((inv: Invalidation) => void)[] = [];
  const deliver = (inv: Invalidation) => {
    for (const h of handlers) h(inv);
  };
  return {
    publish(kind, id) {
      deliver({ kind, id });
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    deliver,
  };
}
