// A database secrets engine mount of its own on the shared OpenBao, over a PostgreSQL database
// of its own, with a role whose credentials live `ttl`, and a jwt role that may read them.
import type { OpenBaoClient } from '../../support/openbao.ts'
import { enableSecrets } from '../../support/seed-openbao.ts'
import { createTestDatabase, type TestDatabase } from './postgres.ts'
import { createJwtRole, targetOf, unique } from './vault-stack.ts'

export interface DatabaseEngine {
  mount: string
  /** `<mount>/creds/app` */
  credsPath: string
  serviceAccount: string
  database: TestDatabase
  /** Revokes every lease of the mount, then drops the database. */
  cleanUp(): Promise<void>
}

/** A database secrets engine mount over a fresh PostgreSQL database, with the role `app`. */
export async function mountDatabaseEngine(
  openbao: OpenBaoClient,
  options: { ttl: string; maxTtl: string },
): Promise<{ mount: string; database: TestDatabase; cleanUp(): Promise<void> }> {
  const target = targetOf(openbao)
  const mount = unique('db')
  const database = await createTestDatabase()
  await enableSecrets(target, mount, 'database')
  await openbao.apiOk('POST', `${mount}/config/pg`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: database.connectionUrl,
    username: 'postgres',
    password: 'unused-trust-auth',
    allowed_roles: ['app'],
  })
  await openbao.apiOk('POST', `${mount}/roles/app`, {
    db_name: 'pg',
    creation_statements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      `GRANT CONNECT ON DATABASE ${database.name} TO "{{name}}";`,
    ],
    default_ttl: options.ttl,
    max_ttl: options.maxTtl,
  })
  return {
    mount,
    database,
    async cleanUp() {
      // Revoke first, so Vault drops the roles before the database goes.
      await openbao.api('PUT', `sys/leases/revoke-prefix/${mount}`).catch(() => {})
      await database.drop()
    },
  }
}

export async function setUpDatabaseEngine(openbao: OpenBaoClient, options: { ttl: string; maxTtl: string }): Promise<DatabaseEngine> {
  const serviceAccount = unique('dbuser')
  const engine = await mountDatabaseEngine(openbao, options)
  await createJwtRole(targetOf(openbao), { role: serviceAccount, serviceAccount, policy: `path "${engine.mount}/creds/app" { capabilities = ["read"] }\n` })
  return { ...engine, credsPath: `${engine.mount}/creds/app`, serviceAccount }
}
