// format=yaml end to end: every hostile value stored in OpenBao, read through the broker, read
// back by PyYAML (YAML 1.1) and by the `yaml` package (1.1 and 1.2) exactly as stored.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { createBroker, type Broker } from '../../src/bootstrap.ts'
import { createMemoryLogger } from '../../src/logger.ts'
import { BROKER_AUDIENCE, demoBrokerConfig } from '../support/broker-config.ts'
import { mintToken } from '../support/mint.ts'
import { HOSTILE_VALUES, YAML_HOSTILE_VALUES } from './hostile-values.ts'
import { PYYAML_HINT, PYYAML_READER, PythonDotenv, TempDir } from './readers.ts'

const issuerUrl = inject('issuerUrl')
const openbao = { address: inject('openbaoAddr'), rootToken: inject('openbaoRootToken') }
// The 100 KB value stays in the unit test (format-yaml-json-raw.test.ts): this one is about the path through Vault.
const values = [...HOSTILE_VALUES, ...YAML_HOSTILE_VALUES].filter((hostile) => hostile.value.length < 10_000)
const stored = Object.fromEntries(values.map((hostile) => [hostile.name, hostile.value]))
let broker: Broker
let token: string
let pyyaml: PythonDotenv
let files: TempDir

beforeAll(async () => {
  pyyaml = new PythonDotenv(PYYAML_READER, PYYAML_HINT)
  files = new TempDir()
  // JSON text by hand: -0 and 1.0 as numbers, which JSON.stringify cannot write.
  const body = `{"data": ${JSON.stringify(stored).slice(0, -1)}, "negative zero": -0, "one point zero": 1.0, "nested": {"list": [-0, true, null, "yes"]}}}`
  const written = await fetch(`${openbao.address}/v1/secret/data/myapp/yaml-hostile`, { method: 'POST', headers: { 'X-Vault-Token': openbao.rootToken, 'Content-Type': 'application/json' }, body })
  expect(written.status).toBe(200)
  broker = await createBroker({ BROKER_CONFIG: JSON.stringify(demoBrokerConfig({ issuerUrl, openbaoAddr: openbao.address })) }, { fetch: globalThis.fetch, log: createMemoryLogger() })
  token = await mintToken(issuerUrl, { namespace: 'demo', serviceAccount: 'myapp', audiences: [BROKER_AUDIENCE] })
})
afterAll(() => {
  pyyaml?.close()
  files?.remove()
})

describe('format=yaml from OpenBao', () => {
  it('reads back every hostile value exactly in PyYAML and in `yaml` 1.1 and 1.2', async () => {
    const response = await broker.app.request('/v1/secrets/secret/data/myapp/yaml-hostile?format=yaml', { headers: { Authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    const text = await response.text()
    const readers = { PyYAML: await pyyaml.read(files.write(text)), 'yaml 1.1': parseYaml(text, { version: '1.1' }), 'yaml 1.2': parseYaml(text, { version: '1.2' }) }
    for (const [reader, read] of Object.entries(readers) as Array<[string, Record<string, unknown>]>) {
      for (const hostile of values) expect(read[hostile.name], `${reader}: ${hostile.name}`).toBe(hostile.value)
      expect(read['one point zero'], reader).toBe(1)
      // -0 reads as the number zero (PyYAML's int has no sign of zero; `yaml` gives -0).
      expect(JSON.parse(JSON.stringify(read.nested)), reader).toEqual({ list: [0, true, null, 'yes'] })
    }
    // OpenBao keeps -0 and answers 1.0 as 1; the YAML says what Vault said.
    expect(text).toContain('"negative zero": -0\n')
    expect(text).toContain('"one point zero": 1\n')
    expect(text).toContain('nested:\n  list:\n    - -0\n    - true\n    - null\n    - "yes"\n')
  })
})
