// GET /healthz (liveness: the process answers) and GET /readyz (Vault reachable and unsealed,
// cache answering). sys/health needs no token (Vault HTTP API: /sys/health).
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { TlsFailureError } from '../transport/tls-failure.ts'

const READY_TIMEOUT_MS = 2000

export const healthRoutes = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .get('/readyz', async (c) => {
    const { config, vaultFetch: fetch, cache } = c.get('services')
    // Vault and the cache are asked at once: a slow one must not add its wait to the other's.
    const probing = cache.probe()
    const vault = await fetch(`${config.vault.address.replace(/\/+$/, '')}/v1/sys/health`, {
      signal: AbortSignal.timeout(READY_TIMEOUT_MS),
    })
      .then(async (response) => {
        await response.body?.cancel()
        // 200 active, 429 standby, 472/473 DR/perf standby: all can serve reads.
        return [200, 429, 472, 473].includes(response.status) ? 'ok' : `unavailable (HTTP ${response.status})`
      })
      // A certificate problem is named (its kind only), so a probe's output points at the fix.
      .catch((error) => (error instanceof TlsFailureError ? `TLS failed (${error.kind})` : 'unreachable'))
    // A degraded cache leaves readiness alone: requests go straight to Vault, and taking the
    // broker out of rotation would not bring Redis back.
    const { backend, state, reason, sinceMs } = await probing
    const cacheState = state === 'ok' ? { backend, state } : { backend, state, reason, since: new Date(sinceMs ?? 0).toISOString(), serving: 'from Vault' }
    const ready = vault === 'ok'
    return c.json({ status: ready ? 'ready' : 'not ready', vault, cache: cacheState }, ready ? 200 : 503)
  })
