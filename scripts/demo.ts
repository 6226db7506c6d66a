// `npm run demo`: the whole thing locally with demo data. Starts an OpenBao dev server, a
// stand-in for the cluster's OIDC issuer, seeds a policy, a jwt-auth role and a secret, runs
// the broker under `wrangler dev`, prints the curl a pod would run and its output, and keeps
// serving until Ctrl-C. The servers come from test/support, the same ones the tests use.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../test/support/broker-config.ts'
import { killProcessGroup } from '../test/support/child-process.ts'
import { startClusterIssuer } from '../test/support/cluster-issuer.ts'
import { getFreePort } from '../test/support/free-port.ts'
import { startOpenBao } from '../test/support/openbao.ts'
import { seedDemo } from '../test/support/seed-openbao.ts'

const READY_TIMEOUT_MS = 45_000
const startedAt = Date.now()
const step = (message: string) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}`)

async function waitForHealth(url: string, child: { exitCode: number | null }): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`)
    const ok = await fetch(`${url}/healthz`).then((response) => response.ok, () => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the broker did not answer ${url}/healthz within ${READY_TIMEOUT_MS / 1000}s`)
}

async function main() {
  step('starting OpenBao (dev server) and the demo cluster issuer')
  const [openbao, issuer] = await Promise.all([startOpenBao(), startClusterIssuer({ algorithm: 'RS256' })])
  const stops: Array<() => Promise<unknown>> = [() => openbao.stop(), () => issuer.stop()]
  const shutdown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)

  try {
    await seedDemo(openbao, { issuerUrl: issuer.issuer, audience: BROKER_AUDIENCE })
    step(`OpenBao ${openbao.address} seeded: policy myapp-read, jwt role demo-myapp, secret secret/myapp/config`)

    const port = await getFreePort()
    const url = `http://127.0.0.1:${port}`
    mkdirSync('.tmp', { recursive: true })
    const envFile = join('.tmp', 'demo.dev.vars')
    writeFileSync(envFile, `BROKER_CONFIG=${JSON.stringify(demoBrokerConfig({ issuerUrl: issuer.issuer, openbaoAddr: openbao.address }))}\n`)
    step(`starting the broker: wrangler dev on ${url}`)
    const wrangler = spawn('wrangler', ['dev', '--ip', '127.0.0.1', '--port', String(port), '--env-file', envFile, '--log-level', 'warn'], {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    })
    stops.push(() => killProcessGroup(wrangler))
    await waitForHealth(url, wrangler)

    const token = await issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE], expirationSeconds: 3600 })
    const tokenFile = join('.tmp', 'demo-token')
    writeFileSync(tokenFile, token)
    const secretUrl = `${url}/v1/secrets/secret/data/myapp/config?format=env`
    const response = await fetch(secretUrl, { headers: { Authorization: `Bearer ${token}` } })
    const body = await response.text()
    step(`ready. A pod with ServiceAccount demo/myapp runs:\n\n  curl -fsS -H "Authorization: Bearer $(cat ${tokenFile})" '${secretUrl}'\n`)
    console.log(`HTTP ${response.status}\n${body}`)
    console.log(`Try format=json|yaml|dotenv, or a token of another ServiceAccount. Serving until Ctrl-C.`)
  } catch (error) {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
    await shutdown()
  }
}

await main()
