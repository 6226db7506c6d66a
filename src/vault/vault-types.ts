/** The envelope every Vault logical response shares (Vault HTTP API, "Response format"). */
export interface VaultSecret {
  request_id?: string
  lease_id: string
  lease_duration: number
  renewable: boolean
  data: Record<string, unknown> | null
  warnings?: string[] | null
}

export interface VaultAuthResponse {
  auth: {
    client_token: string
    accessor: string
    lease_duration: number
    renewable: boolean
    policies: string[]
  } | null
}

export interface VaultLogin {
  token: string
  accessor: string
  /** Seconds the token lives from `issuedAtMs`; 0 means no expiry (root-like tokens). */
  ttlSeconds: number
  renewable: boolean
  issuedAtMs: number
}
