// The ceilings of `npm run bench` on Deno: the broker's /healthz body from bare `Deno.serve`
// (argument `deno-serve`) or from Hono on `Deno.serve` (`hono`), the stack the broker runs on.
// `hono-secret`: Hono answering BODY_BYTES bytes with the headers of a cached read and nothing else.
import { Hono } from 'hono'
import { secretSizedAnswer } from './secret-sized-answer.ts'

declare const Deno: {
  env: { get(name: string): string | undefined }
  args: string[]
  exit(code: number): never
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: (request: Request) => Response | Promise<Response>): unknown
}

const port = Number(Deno.env.get('PORT') ?? 8787)
const hostname = Deno.env.get('HOST') ?? '127.0.0.1'
const body = JSON.stringify({ status: 'ok' })
const quiet = { port, hostname, onListen: () => {} }

if (Deno.args[0] === 'deno-serve') {
  Deno.serve(quiet, () => new Response(body, { headers: { 'Content-Type': 'application/json' } }))
} else if (Deno.args[0] === 'hono') {
  const app = new Hono().get('*', (c) => c.json({ status: 'ok' }))
  Deno.serve(quiet, app.fetch)
} else if (Deno.args[0] === 'hono-secret') {
  const app = new Hono().get('*', secretSizedAnswer(Number(Deno.env.get('BODY_BYTES'))))
  Deno.serve(quiet, app.fetch)
} else {
  console.error('usage: fixed-json-deno.ts deno-serve|hono|hono-secret')
  Deno.exit(2)
}
