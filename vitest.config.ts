import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Starts OpenBao, the cluster issuer and Redis behind the Upstash shim once per run.
    // VAULT_EDGE_NO_STACK=1 leaves it out for a quick run of pure tests while developing.
    globalSetup: process.env.VAULT_EDGE_NO_STACK ? [] : ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more workers only fight over them and the shared servers.
    maxWorkers: 2,
  },
})
