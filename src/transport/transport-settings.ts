// How each outbound target (Vault, each cluster's issuer) is reached: through a Worker binding,
// with TLS files (Node, Deno), and with a Cloudflare Access service token. Read from
// BROKER_CONFIG and from the Vault CLI's own variables, so an operator's VAULT_CACERT & co.
// mean here what they mean to `vault` (https://developer.hashicorp.com/vault/docs/commands#configure-environment-variables).
// Beside config.ts, which owns BROKER_CONFIG's schema; this file only reads the transport bindings.
import { ConfigError, type Config, type RawBindings } from '../config.ts'

/** A PEM file, and the setting that named it (for messages: `VAULT_CACERT`, `BROKER_CONFIG.clusters.0.caCert`). */
export interface TlsFile {
  path: string
  setting: string
}

export interface TlsFiles {
  /** The CA(s) the server's certificate must chain to. */
  caCert?: TlsFile
  /** The client certificate (and its chain) and its private key, for mutual TLS. */
  clientCert?: TlsFile
  clientKey?: TlsFile
  /** The name the server's certificate must carry, when the address uses another (an IP, a tunnel). */
  serverName?: string
}

export interface AccessServiceToken {
  clientId: string
  clientSecret: string
}

export interface TargetSettings {
  /** Where the setting came from, for messages: `vault`, `clusters.0`. */
  field: string
  binding?: string
  tls?: TlsFiles
  access?: AccessServiceToken
}

export interface TransportSettings {
  vault: TargetSettings
  /** By cluster name. */
  clusters: Map<string, TargetSettings>
}

/** The Worker secrets (or environment variables) of the Access service token sent to Vault. */
export const VAULT_ACCESS_BINDINGS = { clientId: 'VAULT_CF_ACCESS_CLIENT_ID', clientSecret: 'VAULT_CF_ACCESS_CLIENT_SECRET' } as const

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value)

function readAccess(env: RawBindings, names: { clientId: string; clientSecret: string }, field: string, issues: string[]): AccessServiceToken | undefined {
  const clientId = nonEmpty(env[names.clientId])
  const clientSecret = nonEmpty(env[names.clientSecret])
  if (clientId !== undefined && clientSecret !== undefined) return { clientId, clientSecret }
  if (clientId !== undefined || clientSecret !== undefined || field !== 'vault') {
    issues.push(`${names.clientId} and ${names.clientSecret}: set both${field === 'vault' ? ' or neither' : ` (named by BROKER_CONFIG.${field}.cfAccess)`}`)
  }
  return undefined
}

function readVaultTls(env: RawBindings, issues: string[]): TlsFiles | undefined {
  const file = (setting: 'VAULT_CACERT' | 'VAULT_CLIENT_CERT' | 'VAULT_CLIENT_KEY') => {
    const path = nonEmpty(env[setting])
    return path === undefined ? undefined : { path, setting }
  }
  const tls: TlsFiles = { caCert: file('VAULT_CACERT'), clientCert: file('VAULT_CLIENT_CERT'), clientKey: file('VAULT_CLIENT_KEY'), serverName: nonEmpty(env.VAULT_TLS_SERVER_NAME) }
  if ((tls.clientCert === undefined) !== (tls.clientKey === undefined)) issues.push('VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: set both or neither')
  return Object.values(tls).some((value) => value !== undefined) ? tls : undefined
}

/** Throws ConfigError naming every inconsistent setting (never a value). */
export function loadTransportSettings(config: Config, env: RawBindings): TransportSettings {
  const issues: string[] = []
  const vault: TargetSettings = {
    field: 'vault',
    binding: config.vault.binding,
    tls: readVaultTls(env, issues),
    access: readAccess(env, VAULT_ACCESS_BINDINGS, 'vault', issues),
  }
  const clusters = new Map<string, TargetSettings>()
  config.clusters.forEach((cluster, index) => {
    const field = `clusters.${index}`
    clusters.set(cluster.name, {
      field,
      binding: cluster.binding,
      tls: cluster.caCert === undefined ? undefined : { caCert: { path: cluster.caCert, setting: `BROKER_CONFIG.${field}.caCert` } },
      access: cluster.cfAccess === undefined ? undefined : readAccess(env, cluster.cfAccess, field, issues),
    })
  })
  if (issues.length > 0) throw new ConfigError(issues)
  return { vault, clusters }
}
