// `npm run token -- --namespace NS --service-account SA`: a projected ServiceAccount token from
// the issuer of the running `npm run stack` (or the one `--issuer` names), with the claims kube-apiserver
// puts in one, as `kubectl create token SA -n NS --audience vault-edge` would give in a cluster.
import { chmodSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { BROKER_AUDIENCE } from '../test/support/broker-config.ts'
import { mintToken } from '../test/support/mint.ts'
import { readStackRecord, STACK_RECORD } from './local-stack.ts'

const USAGE = `usage: npm run token -- --service-account SA [--namespace NS] [--audience AUD] [--expiration-seconds N] [--out FILE] [--issuer URL]
  --namespace           the ServiceAccount's namespace (default: default)
  --service-account     its name (required)
  --audience            the token's aud (default: the broker's audience, vault-edge)
  --expiration-seconds  lifetime (default 3600)
  --out FILE            write the token to FILE (mode 600) instead of printing it
  --issuer URL          the issuer to ask (default: the one npm run stack recorded in ${STACK_RECORD})`

function fail(message: string): never {
  console.error(message)
  process.exit(1)
}

let values
try {
  ;({ values } = parseArgs({
    options: {
      namespace: { type: 'string', default: 'default' },
      'service-account': { type: 'string' },
      audience: { type: 'string' },
      'expiration-seconds': { type: 'string', default: '3600' },
      out: { type: 'string' },
      issuer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }))
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
}
if (values.help) fail(USAGE)
const serviceAccount = values['service-account'] ?? fail(`--service-account is required\n${USAGE}`)
const expirationSeconds = Number(values['expiration-seconds'])
if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) fail('--expiration-seconds: a whole number of seconds, at least 600 (as kube-apiserver requires)')

function recordedStack(): { issuer: string; audience: string } {
  const stack = readStackRecord() ?? fail(`No local stack here (${resolve(STACK_RECORD)} is missing): start one with \`npm run stack\` in another terminal.`)
  try {
    process.kill(stack.pid, 0)
  } catch {
    fail(`The stack recorded in ${resolve(STACK_RECORD)} (pid ${stack.pid}) is not running: start it again with \`npm run stack\`.`)
  }
  return stack
}
const stack = values.issuer ? { issuer: values.issuer, audience: BROKER_AUDIENCE } : recordedStack()

let token: string
try {
  token = await mintToken(stack.issuer, { namespace: values.namespace, serviceAccount, audiences: [values.audience ?? stack.audience], expirationSeconds })
} catch (error) {
  fail(`the stack's issuer ${stack.issuer} did not mint a token: ${error instanceof Error ? error.message : String(error)}`)
}
if (values.out) {
  try {
    writeFileSync(values.out, token, { mode: 0o600 })
    chmodSync(values.out, 0o600) // the mode above applies only to a new file
  } catch (error) {
    fail(`--out ${values.out}: cannot write it (${(error as { code?: string }).code ?? String(error)})`)
  }
  console.error(`wrote a token for ${values.namespace}/${serviceAccount} (issuer ${stack.issuer}, ${expirationSeconds} s) to ${resolve(values.out)}`)
} else {
  process.stdout.write(`${token}\n`)
}
