// One JSON line per event. Callers pass codes and reasons, never tokens or secret values
// (SPEC §2); `redact` is the last guard for anything shaped like a JWT.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void
}

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g
const VAULT_TOKEN_SHAPE = /\b(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{20,}/g

export const redact = (text: string) => text.replace(JWT_SHAPE, '[jwt]').replace(VAULT_TOKEN_SHAPE, '[vault-token]')

export function createConsoleLogger(minimum: LogLevel = 'info'): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error']
  return {
    log(level, message, fields = {}) {
      if (order.indexOf(level) < order.indexOf(minimum)) return
      const line = redact(JSON.stringify({ level, msg: message, ...fields }))
      if (level === 'error' || level === 'warn') console.error(line)
      else console.log(line)
    },
  }
}

/** For tests: keeps every line so they can be searched for leaks. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    log(level, message, fields = {}) {
      lines.push(redact(JSON.stringify({ level, msg: message, ...fields })))
    },
  }
}
