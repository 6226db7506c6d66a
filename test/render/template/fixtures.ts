// Vault responses as the HTTP API returns them (KV v2, KV v1, database credentials).
import type { VaultSecretResponse } from '../../../src/render/template/index.ts'

export const KV2_CONFIG: VaultSecretResponse = {
  request_id: '5e0c6c5a-0000-4000-8000-000000000001',
  lease_id: '',
  lease_duration: 0,
  renewable: false,
  data: {
    data: { username: 'app', password: 's3cr3t', port: 5432, env: 'prod', hosts: ['db-1', 'db-2'], 'api-key': 'k-123', empty: '', nothing: null },
    metadata: { created_time: '2024-05-01T10:00:00.000000Z', deletion_time: '', destroyed: false, version: 3 },
  },
  warnings: null,
}

export const KV2_API: VaultSecretResponse = {
  lease_id: '',
  lease_duration: 0,
  renewable: false,
  data: { data: { key: 'abc123-api-key' }, metadata: { version: 1 } },
}

export const KV1_APP: VaultSecretResponse = {
  lease_id: '',
  lease_duration: 2764800,
  renewable: false,
  data: { password: 'kv1-pass', username: 'kv1-user' },
}

export const DB_CREDS: VaultSecretResponse = {
  request_id: 'f00d',
  lease_id: 'database/creds/app/2f6a614c-4aa2-7b19-24b9-ad944a8d4de6',
  lease_duration: 3600,
  renewable: true,
  data: { username: 'v-kubernet-app-7L8a2', password: 'A1a-9Wr0bLxWs0' },
  warnings: null,
}

export const SECRETS = new Map<string, VaultSecretResponse>([
  ['secret/data/myapp/config', KV2_CONFIG],
  ['secret/data/myapp/api', KV2_API],
  ['kv/myapp', KV1_APP],
  ['database/creds/app', DB_CREDS],
])
