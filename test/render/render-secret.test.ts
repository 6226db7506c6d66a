import { describe, expect, it } from 'vitest'
import { FORMATS, negotiateFormat, renderSecret } from '../../src/render/index.ts'
import { errorOf } from '../support/error-of.ts'

const secret = { username: 'app', password: 's3cr3t', port: 5432 }

describe('renderSecret', () => {
  it('selects keys in the order asked, for every format', () => {
    expect(renderSecret(secret, { format: 'json', key: ['port', 'username'] }).body).toBe('{"port":5432,"username":"app"}\n')
    expect(renderSecret(secret, { format: 'env', key: 'password,username' }).body).toBe("export PASSWORD='s3cr3t'\nexport USERNAME='app'\n")
    expect(renderSecret(secret, { format: 'dotenv', key: ['port'] }).body).toBe('PORT="5432"\n')
    expect(renderSecret(secret, { format: 'yaml', key: ['username'] }).body).toBe('username: "app"\n')
    expect(renderSecret(secret, { format: 'raw', key: 'password' }).body).toBe('s3cr3t')
  })

  it('treats an empty or repeated selection as it reads', () => {
    expect(renderSecret(secret, { format: 'json', key: [] }).body).toBe('{"username":"app","password":"s3cr3t","port":5432}\n')
    expect(renderSecret(secret, { format: 'json', key: 'port,,port' }).body).toBe('{"port":5432}\n')
  })

  it('answers 404 naming the keys the secret does not have', () => {
    const error = errorOf(() => renderSecret(secret, { format: 'json', key: ['username', 'nope', 'nada'] }))
    expect(error).toMatchObject({ status: 404, code: 'not_found' })
    expect(error.detail).toContain('"nope", "nada"')
  })

  it('does not take inherited properties for keys', () => {
    expect(errorOf(() => renderSecret(secret, { format: 'raw', key: 'toString' })).status).toBe(404)
  })

  it('applies the prefix to env and dotenv names only', () => {
    expect(renderSecret(secret, { format: 'env', key: 'port', prefix: 'db_' }).body).toBe("export DB_PORT='5432'\n")
    expect(renderSecret(secret, { format: 'json', key: 'port', prefix: 'db_' }).body).toBe('{"port":5432}\n')
  })

  it('gives each format its content type', () => {
    const types = Object.fromEntries(FORMATS.map((format) => [format, renderSecret({ a: 'b' }, { format }).contentType]))
    expect(types).toEqual({
      env: 'text/plain; charset=utf-8',
      dotenv: 'text/plain; charset=utf-8',
      json: 'application/json',
      yaml: 'application/yaml',
      raw: 'application/octet-stream',
    })
  })
})

describe('negotiateFormat', () => {
  it('takes ?format= over Accept', () => {
    expect(negotiateFormat('env', 'application/json')).toBe('env')
    for (const format of FORMATS) expect(negotiateFormat(format, undefined)).toBe(format)
  })

  it('refuses an unknown format with unknown_format, listing the known ones', () => {
    for (const bad of ['', 'ENV', 'xml', 'template']) {
      const error = errorOf(() => negotiateFormat(bad, undefined))
      expect(error).toMatchObject({ status: 400, code: 'unknown_format' })
      expect(error.detail).toContain('env, dotenv, json, yaml, raw')
    }
  })

  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/json', 'json'],
    ['application/yaml', 'yaml'],
    ['text/yaml', 'yaml'],
    ['application/x-yaml', 'yaml'],
    ['text/x-shellscript', 'env'],
    ['text/plain', 'env'],
    ['text/*', 'env'],
    ['application/octet-stream', 'raw'],
    ['Application/YAML; charset=utf-8', 'yaml'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['text/html', 'json'],
    ['application/json;q=0.5, application/yaml', 'yaml'],
    ['application/yaml;q=0, application/json;q=0.1', 'json'],
    ['*/*, text/plain', 'env'],
    ['text/*;q=0.9, text/plain;q=0.9, application/octet-stream;q=0.9', 'env'],
    ['application/octet-stream;q=0.9, text/plain;q=0.9', 'raw'],
    ['application/yaml;q=2', 'json'],
    ['garbage', 'json'],
  ])('maps Accept %j to %s', (accept, format) => {
    expect(negotiateFormat(undefined, accept)).toBe(format)
  })
})

describe('renderSecret with hostile key names', () => {
  it('treats __proto__ and constructor as ordinary keys', () => {
    const data = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, unknown>
    expect(renderSecret(data, { format: 'json', key: ['__proto__'] }).body).toBe('{"__proto__":"p"}\n')
    expect(renderSecret(data, { format: 'env' }).body).toBe("export __PROTO__='p'\nexport CONSTRUCTOR='c'\n")
    expect(renderSecret(data, { format: 'yaml' }).body).toBe('__proto__: "p"\nconstructor: "c"\n')
  })
})
