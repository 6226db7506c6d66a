// The PostgreSQL server on this machine (127.0.0.1:5432, user postgres) for the database secrets
// engine: one database per test file, dropped afterwards.
//
// Its pg_hba trusts every local connection, so a login alone does not prove a password: the
// tests also check the password Vault handed out against the role's SCRAM-SHA-256 verifier in
// pg_authid, which is exactly the check password authentication makes (RFC 5802, RFC 7677).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import pg from 'pg'

export const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const

export async function withClient<T>(options: { database: string; user?: string; password?: string }, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...POSTGRES, user: options.user ?? POSTGRES.user, password: options.password, database: options.database, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end().catch(() => {})
  }
}

export interface TestDatabase {
  name: string
  /** Vault's connection_url for this database (root credentials in the URL's template fields). */
  connectionUrl: string
  /** Logs in as `user` and returns `current_user`; throws when PostgreSQL refuses. */
  loginAs(user: string, password: string): Promise<string>
  /** Whether `password` is the role's password (SCRAM verifier), undefined when the role is gone. */
  passwordMatches(user: string, password: string): Promise<boolean | undefined>
  /** `VALID UNTIL` of a role (null: none), undefined when the role does not exist. */
  validUntil(user: string): Promise<Date | null | undefined>
  drop(): Promise<void>
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `vault_edge_${randomBytes(4).toString('hex')}`
  await withClient({ database: 'postgres' }, (client) => client.query(`CREATE DATABASE ${name}`))
  const admin = (run: (client: pg.Client) => Promise<unknown>) => withClient({ database: 'postgres' }, run)
  return {
    name,
    connectionUrl: `postgresql://{{username}}:{{password}}@${POSTGRES.host}:${POSTGRES.port}/${name}?sslmode=disable`,
    loginAs: (user, password) =>
      withClient({ database: name, user, password }, async (client) => (await client.query<{ current_user: string }>('SELECT current_user')).rows[0]!.current_user),
    async passwordMatches(user, password) {
      let verifier: string | null | undefined
      await admin(async (client) => {
        const result = await client.query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [user])
        verifier = result.rows[0]?.rolpassword
      })
      if (verifier === undefined) return undefined
      return verifier !== null && scramVerifierMatches(verifier, password)
    },
    async validUntil(user) {
      let value: Date | null | undefined
      await admin(async (client) => {
        const result = await client.query<{ rolvaliduntil: Date | null }>('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [user])
        value = result.rows.length === 0 ? undefined : result.rows[0]!.rolvaliduntil
      })
      return value
    },
    async drop() {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` against a password (RFC 5802 §3). */
export function scramVerifierMatches(verifier: string, password: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier)
  if (!match) return false
  const [, iterations, salt, storedKey] = match
  const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt!, 'base64'), Number(iterations), 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const expected = createHash('sha256').update(clientKey).digest()
  const stored = Buffer.from(storedKey!, 'base64')
  return stored.length === expected.length && timingSafeEqual(stored, expected)
}
