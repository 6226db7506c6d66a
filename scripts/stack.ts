// `npm run stack`: the local development stack. Starts OpenBao and a stand-in cluster issuer,
// seeded like the demo, writes the broker's configuration where `npm run dev` (.dev.vars),
// `npm run start:node` and `npm run start:deno` (.dev.vars, or --config FILE) read it, records
// the issuer for `npm run token`, and keeps running until Ctrl-C or SIGTERM, then removes what
// it wrote.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { envFileLine, startLocalStack, step, stopEverythingOnExit, writeStackRecord } from './local-stack.ts'

const DEV_VARS = resolve('.dev.vars')
const DEV_VARS_BACKUP = resolve('.dev.vars.before-stack')
const CONFIG_FILE = resolve('.tmp/stack/broker-config.json')
// The first line of a .dev.vars this script wrote: one a user wrote is kept, not overwritten.
const MARKER = '# Written by `npm run stack`; removed when it stops.'

const { onStop, shutdown } = stopEverythingOnExit()
try {
  const stack = await startLocalStack(onStop)
  const config = JSON.stringify(stack.brokerConfig)

  mkdirSync(resolve('.tmp/stack'), { recursive: true })
  writeFileSync(CONFIG_FILE, `${JSON.stringify(stack.brokerConfig, null, 2)}\n`)
  onStop(() => rmSync(resolve('.tmp/stack'), { recursive: true, force: true }))

  const ours = existsSync(DEV_VARS) && readFileSync(DEV_VARS, 'utf8').startsWith(MARKER)
  if (existsSync(DEV_VARS) && !ours) {
    renameSync(DEV_VARS, DEV_VARS_BACKUP)
    step(`your .dev.vars was moved to ${DEV_VARS_BACKUP}; it is put back when the stack stops`)
  }
  writeFileSync(DEV_VARS, `${MARKER}\n${envFileLine('BROKER_CONFIG', config)}\n`)
  onStop(() => {
    rmSync(DEV_VARS, { force: true })
    if (existsSync(DEV_VARS_BACKUP)) renameSync(DEV_VARS_BACKUP, DEV_VARS)
  })
  onStop(writeStackRecord(stack.record))

  step(`ready. Leave this running (Ctrl-C stops it and removes what it wrote).

  cluster issuer   ${stack.issuer.issuer}   (OIDC discovery: ${stack.issuer.issuer}/.well-known/openid-configuration)
  OpenBao          ${stack.openbao.address}   (root token ${stack.openbao.rootToken}: a throwaway dev server)
  .dev.vars        ${DEV_VARS}   (npm run dev, npm run start:node, npm run start:deno)
  config file      ${CONFIG_FILE}   (npm run start:node -- --config FILE)

In another terminal:

  npm run dev                                   # the broker under wrangler dev on http://127.0.0.1:8787
  npm run token -- --namespace demo --service-account myapp --out .tmp/token
  curl -fsS -H "Authorization: Bearer $(cat .tmp/token)" 'http://127.0.0.1:8787/v1/secrets/secret/data/myapp/config?format=env'
`)
} catch (error) {
  console.error(`npm run stack failed: ${error instanceof Error ? error.message : String(error)}`)
  await shutdown(1)
}
