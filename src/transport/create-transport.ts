// One fetch per outbound target, built from its TransportSettings with what the runtime offers:
// a Worker binding's fetch (Workers VPC service, [[mtls_certificates]], service binding), or a
// fetch with TLS files (Node, Deno); the Access service token headers on every request; TLS
// failures turned into TlsFailureError so they are reported by cause, never as a 500.
import { ConfigError } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { TargetSettings, TlsFiles, TransportSettings } from './transport-settings.ts'
import { withTlsFailureClassification } from './tls-failure.ts'

/** What an adapter can offer; only adapters touch runtime globals (STYLE). */
export interface RuntimeTransport {
  /** Workers: the fetch of the binding named `name`, or undefined when env has no such binding with a fetch method. */
  binding?(name: string): typeof fetch | undefined
  /** Node and Deno: a fetch that trusts, presents and checks what `files` say. Throws ConfigError for unusable files. */
  tls?(files: TlsFiles): typeof fetch
  /** Node: a cheaper fetch than the runtime's for a target with neither binding nor TLS files (src/adapters/node-request-fetch.ts). */
  direct?: typeof fetch
}

export interface Transport {
  vault: typeof fetch
  /** The fetch for a cluster's discovery and JWKS requests. */
  cluster(name: string): typeof fetch
}

/**
 * Cloudflare Access reads these on every request to an application protected by a service token
 * (https://developers.cloudflare.com/cloudflare-one/identity/service-tokens/).
 */
function withAccessHeaders(fetchImpl: typeof fetch, access: { clientId: string; clientSecret: string }): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    headers.set('CF-Access-Client-Id', access.clientId)
    headers.set('CF-Access-Client-Secret', access.clientSecret)
    return fetchImpl(input, { ...init, headers })
  }
}

function baseFetch(target: TargetSettings, runtime: RuntimeTransport, defaultFetch: typeof fetch, issues: string[]): typeof fetch {
  if (target.binding !== undefined) {
    if (!runtime.binding) {
      issues.push(`BROKER_CONFIG.${target.field}.binding: Worker bindings exist only on Cloudflare Workers (on Node and Deno, reach it directly${target.field === 'vault' ? ' with VAULT_CACERT and VAULT_CLIENT_CERT' : ' with caCert'})`)
      return defaultFetch
    }
    const bound = runtime.binding(target.binding)
    if (!bound) issues.push(`BROKER_CONFIG.${target.field}.binding: no binding named ${target.binding} with a fetch method (see wrangler.toml)`)
    return bound ?? defaultFetch
  }
  if (target.tls !== undefined) {
    if (!runtime.tls) {
      const names = target.field === 'vault' ? 'VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME' : `BROKER_CONFIG.${target.field}.caCert`
      issues.push(`${names}: not available on Cloudflare Workers, which cannot read files; use a binding (an [[mtls_certificates]] binding or a Workers VPC service) instead`)
      return defaultFetch
    }
    try {
      return runtime.tls(target.tls)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      issues.push(...error.issues)
    }
  }
  return runtime.direct ?? defaultFetch
}

/** Throws ConfigError naming every target that cannot be reached as configured. */
export function createTransport(settings: TransportSettings, runtime: RuntimeTransport, defaultFetch: typeof fetch, log: Logger): Transport {
  const issues: string[] = []
  const build = (target: TargetSettings, onTlsFailure?: Parameters<typeof withTlsFailureClassification>[1]) => {
    let built = baseFetch(target, runtime, defaultFetch, issues)
    if (target.access) built = withAccessHeaders(built, target.access)
    return withTlsFailureClassification(built, onTlsFailure)
  }
  // Vault's TLS failures are logged with the request they failed (vault-client maps them to 502).
  const vault = build(settings.vault)
  const clusters = new Map<string, typeof fetch>()
  for (const [name, target] of settings.clusters) {
    // Key fetches fail quietly into cached keys or a 401/503; the cause belongs in the log.
    clusters.set(name, build(target, (failure) => log.log('warn', 'TLS to the issuer failed', { cluster: name, cause: failure.kind, reason: failure.message })))
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return { vault, cluster: (name) => clusters.get(name) ?? withTlsFailureClassification(defaultFetch) }
}
