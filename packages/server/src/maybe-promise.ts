/**
 * A value that is either ready or still coming. The proxy's hot path returns cached lookups
 * (keys, grants, credentials) as plain values so that a cache hit costs no promise and no
 * microtask; only a miss, which reads the database, returns a promise.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Whether `v` is a promise (a thenable), i.e. the value is not ready yet. */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/**
 * Applies `f` to a value that may still be coming: at once when it is ready, else when it arrives.
 *
 * @returns `f`'s result, or a promise of it; a throw in `f` on a ready value is thrown at once.
 */
export function thenMaybe<T, R>(v: MaybePromise<T>, f: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(v) ? v.then(f) : f(v);
}
