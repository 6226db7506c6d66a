// POST /v1/render takes a template from the pod: any valid token may send one, so what a
// template can cost the broker must be bounded, whatever the step counter sees.
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { parseTemplate, renderTemplate } from '../../src/render/template/index.ts'
import { AppError } from '../../src/errors.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'

const issuerUrl = inject('issuerUrl')
const openbaoAddr = inject('openbaoAddr')
let broker: Broker
let token: string

beforeAll(async () => {
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr })) }, { fetch: globalThis.fetch, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})

const render = (template: string) => broker.app.request('/v1/render', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, body: template })

async function timed(run: () => Response | Promise<Response>): Promise<{ response: Response; ms: number }> {
  const started = performance.now()
  const response = await run()
  return { response, ms: performance.now() - started }
}

/** `depth` nested ranges over the two keys of the seeded secret: 2^depth iterations of `body`. */
const nestedRanges = (depth: number, body: string): string =>
  depth === 0 ? body : `{{ range $k, $v := $s.Data.data }}${nestedRanges(depth - 1, body)}{{ end }}`

describe('what one template may cost', () => {
  it('stops a template whose cheap-looking steps each encode a long string, in well under a second of work', async () => {
    const long = 'A'.repeat(30_000)
    const template = `{{ $s := secret "secret/data/myapp/config" }}{{ $b := "${long}" }}${nestedRanges(20, '{{ $x := base64Encode $b }}')}`
    const { response, ms } = await timed(() => render(template))
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ code: 'template_execution' })
    // Unbounded, this took 61 s of one core (the step limit alone allowed ~330 000 encodings).
    expect(ms).toBeLessThan(5_000)
  })

  it('counts len, eq and index on long strings as well', () => {
    const long = 'B'.repeat(30_000)
    const secrets = new Map([['kv/two', { data: { data: { a: '1', b: '2' } } }]])
    for (const body of ['{{ $x := len $b }}', '{{ $x := eq $b $c }}', '{{ $x := index $b 1 }}']) {
      const template = parseTemplate(`{{ $s := secret "kv/two" }}{{ $b := "${long}" }}{{ $c := "${long}x" }}${nestedRanges(20, body)}`)
      let error: unknown
      try {
        renderTemplate(template, secrets)
      } catch (caught) {
        error = caught
      }
      expect(error, body).toBeInstanceOf(AppError)
      expect(error, body).toMatchObject({ status: 400, code: 'template_execution' })
    }
  })

  it('still renders templates that encode their secrets many times over', async () => {
    const template = `{{ $s := secret "secret/data/myapp/config" }}${nestedRanges(10, '{{ $x := toJSON $s.Data.data | base64Encode }}')}{{ $s.Data.data.username }}`
    const response = await render(template)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('demo-user')
  })

  it('answers a secret path padded with tens of thousands of slashes at once (no quadratic trim)', async () => {
    const { response, ms } = await timed(() => render(`{{ with secret "a${'/'.repeat(60_000)}a" }}{{ end }}`))
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: 'template_syntax' })
    // The regex /^\/+|\/+$/g took 3.3 s here.
    expect(ms).toBeLessThan(500)
  })
})

describe('what the new functions may cost', () => {
  const renderLocal = (source: string) => {
    try {
      return renderTemplate(parseTemplate(source), new Map())
    } catch (error) {
      return error
    }
  }

  it('refuses regexps that backtrack exponentially, and bounds the text polynomial ones run on, in well under a second', () => {
    const started = performance.now()
    expect(renderLocal(`{{ regexMatch "(a+)+$" "${'a'.repeat(40)}b" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal(`{{ regexMatch "(a|aa)*c" "${'a'.repeat(40)}" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal(`{{ regexMatch "a*a*a*a*a*b" "${'a'.repeat(5_000)}" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal(`{{ regexMatch "\\\\1" "a" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal(`{{ regexMatch "a(?=b)" "ab" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    // Unbounded, "(a+)+$" on 40 a's and a b would take hours; "a*a*a*a*a*b" on 5000, days.
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('stops a template that repeats worst-case regexps, within the function work limit', () => {
    const body = `{{ $x := regexMatch "a*a*b" "${'a'.repeat(360)}" }}`
    const started = performance.now()
    expect(renderLocal(`{{ range 1000 }}${body}{{ end }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  it('refuses printf widths beyond fmt’s limit and indentation that would build gigabytes, without a 500', () => {
    expect(renderLocal('{{ printf "%999999999d|%.9999999f" 1 1.5 }}')).toBe('%!(BADWIDTH)1|%!(BADPREC)1.500000')
    expect(renderLocal('{{ indent 1000000000 "a\\nb" }}')).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal('{{ sprig_nindent 1000000000 "a" }}')).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal('{{ sprig_repeat 1000000000 "ab" }}')).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal('{{ range 2000000000 }}{{ end }}')).toMatchObject({ status: 400, code: 'template_execution' })
  })
})

describe('parsed documents in templates', () => {
  const renderLocal = (source: string) => {
    try {
      return renderTemplate(parseTemplate(source), new Map())
    } catch (error) {
      return error
    }
  }

  it('refuses deeply nested parseJSON / parseYAML documents with a 400, not a stack overflow', () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`
    expect(renderLocal(`{{ parseJSON "${deep}" | toJSON }}`)).toMatchObject({ status: 400, code: 'template_execution' })
    expect(renderLocal(`{{ parseYAML "${deep}" }}`)).toMatchObject({ status: 400, code: 'template_execution' })
  })

  it('keeps a key named __proto__ as a key, not as the prototype', () => {
    expect(renderLocal('{{ $d := sprig_dict "__proto__" "x" "a" 1 }}{{ index $d "__proto__" }}|{{ len $d }}|{{ $d }}')).toBe('x|2|map[__proto__:x a:1]')
    expect(renderLocal('{{ (parseJSON "{\\"__proto__\\": {\\"b\\": 1}}") | toJSON }}')).toBe('{"__proto__":{"b":1}}')
  })
})
