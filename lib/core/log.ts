// The logging interface every module uses. The runner backs it with winston (console + JSON-lines file, both
// redacted); tests and library users can use the plain implementations here.

/** Structured facts attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Minimal logger interface. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger that drops everything. */
export const nullLog: Log = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** A logger that keeps lines in memory (tests). */
export class MemoryLog implements Log {
  readonly lines: { level: string; message: string; fields?: LogFields }[] = [];
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
}
