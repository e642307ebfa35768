import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type LogFn = (...args: unknown[]) => void;

/**
 * A request's logger that creates its pino child only when a line is actually written. Fastify
 * makes one child per request (to bind `reqId`); with redaction configured, building a pino child
 * costs several microseconds and allocations on every proxied call, although at the default
 * `info` level and above a proxied call normally writes nothing.
 */
class LazyChildLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  #write(level: Level, args: unknown[]): void {
    if (!this.#parent.isLevelEnabled(level)) return;
    (this.#real()[level] as LogFn)(...args);
  }

  get level(): string {
    return this.#parent.level;
  }

  isLevelEnabled(level: string): boolean {
    return this.#parent.isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.#real().bindings();
  }

  child(bindings: Bindings, opts?: ChildLoggerOptions): Logger {
    return this.#real().child(bindings, opts);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  silent(): void {}
}

/**
 * Fastify `childLoggerFactory`: a lazily created child (see {@link LazyChildLogger}), or an eager
 * pino child when the route sets its own log level (the child's level then differs from the parent's).
 *
 * @param logger the server's pino logger.
 * @param bindings Fastify's per-request bindings (`reqId`).
 * @param opts child options; `level` set → eager child.
 */
export function lazyChildLoggerFactory(logger: Logger, bindings: Bindings, opts: ChildLoggerOptions): Logger {
  if (opts.level !== undefined) return logger.child(bindings, opts);
  return new LazyChildLogger(logger, bindings) as unknown as Logger;
}
