// What the broker keeps between requests on behalf of pods: their Vault tokens and the leases
// it served them. Built once per app (createServices); the renewal job works on the same two.
import type { SecureCache } from '../cache/secure-cache.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { createLeaseRegistry, type LeaseRegistry } from './lease-registry.ts'
import { runLeaseRenewal, startLeaseRenewal, type LeaseRenewerDeps, type RenewalReport } from './lease-renewer.ts'
import { createTokenSource, type TokenSource } from './token-source.ts'
import type { VaultClient } from './vault-client.ts'

export interface VaultSessions {
  tokens: TokenSource
  leases: LeaseRegistry
}

interface SessionDeps {
  config: Config
  vault: VaultClient
  cache: SecureCache
  now: () => number
  log: Logger
}

export function createVaultSessions(deps: SessionDeps): VaultSessions {
  const { config, vault, cache, now, log } = deps
  const renewal = config.vault.leaseRenewal
  return {
    tokens: createTokenSource({ vault, cache, now, log: (message, fields) => log.log('warn', message, fields) }),
    // A served lease's record is rewritten at most twice per run of the job (lastServedAt
    // needs no finer grain than the job's interval and the idle bound).
    leases: createLeaseRegistry({ cache, now, throttleMs: (Math.min(renewal.intervalSeconds, renewal.idleSeconds) * 1000) / 2 }),
  }
}

function renewerDeps(services: SessionDeps & VaultSessions): LeaseRenewerDeps {
  return {
    ...services,
    config: services.config.vault.leaseRenewal,
    log: (level, message, fields) => services.log.log(level, message, fields),
  }
}

/** One run of the renewal job (the Workers `scheduled` handler); never throws, logs what it did. */
export function renewLeasesNow(services: SessionDeps & VaultSessions): Promise<RenewalReport | undefined> {
  return runLeaseRenewal(renewerDeps(services))
}

/** The Node and Deno timer; returns its stop function. */
export function startLeaseRenewalTimer(services: SessionDeps & VaultSessions): () => void {
  return startLeaseRenewal(renewerDeps(services))
}
