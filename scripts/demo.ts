// `npm run demo`: the whole thing locally with demo data. Starts the local stack (OpenBao and a
// stand-in for the cluster's OIDC issuer, seeded with a policy, a jwt role and a secret; see
// local-stack.ts), runs the broker under `wrangler dev`, prints the curl a pod would run and its
// output, and keeps serving until Ctrl-C or SIGTERM (to npm or to this process), then stops
// everything it started and removes its temporary directory.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killOnExit, killProcessGroup } from '../test/support/child-process.ts'
import { getFreePort } from '../test/support/free-port.ts'
import { envFileLine, startLocalStack, step, stopEverythingOnExit } from './local-stack.ts'

const READY_TIMEOUT_MS = 45_000

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

const { onStop, shutdown } = stopEverythingOnExit()
try {
  const dir = mkdtempSync(join(tmpdir(), 'vault-edge-demo-'))
  onStop(() => rmSync(dir, { recursive: true, force: true }))
  const stack = await startLocalStack(onStop)

  const port = await getFreePort()
  const url = `http://127.0.0.1:${port}`
  const envFile = join(dir, 'demo.dev.vars')
  writeFileSync(envFile, `${envFileLine('BROKER_CONFIG', JSON.stringify(stack.brokerConfig))}\n`, { mode: 0o600 })
  step(`starting the broker: wrangler dev on ${url}`)
  const wrangler = spawn('wrangler', ['dev', '--ip', '127.0.0.1', '--port', String(port), '--env-file', envFile, '--log-level', 'warn'], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, with workerd and esbuild in it: one kill stops all three.
    detached: true,
  })
  const unregister = killOnExit(wrangler)
  onStop(async () => {
    await killProcessGroup(wrangler)
    unregister()
  })
  await waitForHealth(url, wrangler)

  const token = await stack.issuer.mint({ namespace: 'demo', serviceAccount: 'myapp', audiences: [stack.record.audience], expirationSeconds: 3600 })
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, token, { mode: 0o600 })
  const secretUrl = `${url}/v1/secrets/secret/data/myapp/config?format=env`
  const response = await fetch(secretUrl, { headers: { Authorization: `Bearer ${token}` } })
  const body = await response.text()
  step(`ready.
  broker           ${url}
  cluster issuer   ${stack.issuer.issuer}
  OpenBao          ${stack.openbao.address} (root token ${stack.openbao.rootToken})
  files            ${dir} (removed when the demo stops)

A pod with ServiceAccount demo/myapp runs:

  curl -fsS -H "Authorization: Bearer $(cat ${tokenFile})" '${secretUrl}'
`)
  console.log(`HTTP ${response.status}\n${body}`)
  console.log(`Try format=json|yaml|dotenv. A token of another ServiceAccount, from this demo's issuer:

  npm run token -- --issuer ${stack.issuer.issuer} --namespace demo --service-account other --out ${join(dir, 'other-token')}

(demo/other has no Vault role, so Vault refuses it: 403 vault_denied.) Serving until Ctrl-C.`)
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`)
  await shutdown(1)
}
