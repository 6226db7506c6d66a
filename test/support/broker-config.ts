// The BROKER_CONFIG the end-to-end tests and `npm run demo` run the broker with: one cluster
// (the issuer fixture), OpenBao's jwt auth at `jwt`, and rules for the seeded demo secret.
export const BROKER_AUDIENCE = 'vault-edge'

export function demoBrokerConfig(options: { issuerUrl: string; openbaoAddr: string; extra?: Record<string, unknown> }) {
  return {
    clusters: [{ name: 'local', issuer: options.issuerUrl, audiences: [BROKER_AUDIENCE] }],
    vault: { address: options.openbaoAddr, authMount: 'jwt', timeoutMs: 5000 },
    rules: [
      { cluster: 'local', namespace: 'demo', serviceAccount: 'myapp', role: 'demo-myapp', paths: ['secret/data/myapp/*'] },
      // Every other ServiceAccount of `demo` gets a role named after it, which Vault may not have.
      { cluster: 'local', namespace: 'demo', role: '{namespace}-{serviceAccount}', paths: ['secret/data/myapp/*'] },
    ],
    ...options.extra,
  }
}
