// Expected outputs follow Go's text/template (pkg.go.dev/text/template) as consul-template runs
// it for Vault Agent: data nil, missingkey=zero (a missing key prints <no value>), Vault numbers
// as json.Number, toJSON = json.Marshal (sorted keys, HTML escaping).
import { describe, expect, it } from 'vitest'
import { listSecretPaths, parseTemplate, renderTemplate, type VaultSecretResponse } from '../../../src/render/template/index.ts'
import { SECRETS } from './fixtures.ts'
import { errorOf } from '../../support/error-of.ts'

const render = (source: string, secrets: ReadonlyMap<string, VaultSecretResponse> = SECRETS) => renderTemplate(parseTemplate(source), secrets)
const only = (path: string, data: Record<string, unknown>) => new Map<string, VaultSecretResponse>([[path, { data }]])

describe('the tutorial templates, exactly as Vault Agent renders them', () => {
  it('export lines: the trim markers eat the newline after `with` and before `end`', () => {
    const source = '{{- with secret "secret/data/myapp/config" -}}\nexport DB_USER="{{ .Data.data.username }}"\nexport DB_PASSWORD="{{ .Data.data.password }}"\n{{- end -}}'
    expect(render(source)).toBe('export DB_USER="app"\nexport DB_PASSWORD="s3cr3t"')
  })

  it('plain NAME= lines', () => {
    const source = '{{- with secret "secret/data/myapp/config" -}}\nDB_USER="{{ .Data.data.username }}"\nDB_PASSWORD="{{ .Data.data.password }}"\n{{- end -}}'
    expect(render(source)).toBe('DB_USER="app"\nDB_PASSWORD="s3cr3t"')
  })

  it('an API key alone', () => {
    expect(render('{{- with secret "secret/data/myapp/api" -}}{{ .Data.data.key }}{{- end -}}')).toBe('abc123-api-key')
  })

  it('the Agent Injector database example (dynamic credentials, .Data.<key>)', () => {
    const source = '{{- with secret "database/creds/app" -}}\npostgresql://{{ .Data.username }}:{{ .Data.password }}@postgres:5432/wizard\n{{- end }}\n'
    expect(render(source)).toBe('postgresql://v-kubernet-app-7L8a2:A1a-9Wr0bLxWs0@postgres:5432/wizard\n')
  })
})

describe('templates', () => {
  it('ranges over .Data.data in key order with $k, $v, keeping the newline Go keeps', () => {
    const source = '{{- with secret "secret/data/myapp/api" -}}\n{{- range $k, $v := .Data.data }}\nexport {{ $k }}="{{ $v }}"\n{{- end }}\n{{- end }}'
    expect(render(source)).toBe('\nexport key="abc123-api-key"')
    const all = '{{ with secret "kv/myapp" }}{{ range $k, $v := .Data }}{{ $k }}={{ $v }}\n{{ end }}{{ end }}'
    expect(render(all)).toBe('password=kv1-pass\nusername=kv1-user\n')
  })

  it('ranges with dot set to each value, and over lists with an index', () => {
    expect(render('{{ with secret "kv/myapp" }}{{ range .Data }}[{{ . }}]{{ end }}{{ end }}')).toBe('[kv1-pass][kv1-user]')
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ range $i, $h := .Data.data.hosts }}{{ $i }}:{{ $h }} {{ end }}{{ end }}')).toBe('0:db-1 1:db-2 ')
  })

  it('sorts map keys by code point, as Go sorts UTF-8 strings', () => {
    expect(render('{{ with secret "kv/k" }}{{ range $k, $v := .Data }}{{ $k }}{{ end }}{{ end }}', only('kv/k', { b: 1, '😀': 1, A: 1, '\uffff': 1, a: 1 }))).toBe('Aab\uffff😀')
  })

  it('takes the else branch of range when there is nothing to range over', () => {
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ range .Data.data.missing }}x{{ else }}none{{ end }}{{ end }}')).toBe('none')
  })

  it('supports break and continue in range', () => {
    const source = '{{ with secret "secret/data/myapp/config" }}{{ range $i, $h := .Data.data.hosts }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $h }}{{ break }}{{ end }}{{ end }}'
    expect(render(source)).toBe('db-2')
  })

  it('chooses with if / else if / else, eq comparing Vault numbers as their text', () => {
    const choose = (test: string) => render(`{{ with secret "secret/data/myapp/config" }}{{ if ${test} }}A{{ else if eq .Data.data.env "staging" }}B{{ else }}C{{ end }}{{ end }}`)
    expect(choose('eq .Data.data.env "prod"')).toBe('A')
    expect(choose('eq .Data.data.env "dev"')).toBe('C')
    expect(choose('eq .Data.data.env "dev" "prod"')).toBe('A')
    expect(choose('eq .Data.data.port "5432"')).toBe('A')
    expect(choose('.Data.data.missing')).toBe('C')
    expect(choose('.Data.data.empty')).toBe('C')
    expect(choose('not .Data.data.empty')).toBe('A')
    expect(choose('and .Data.data.username .Data.data.missing')).toBe('C')
    expect(choose('ne .Data.data.env "prod"')).toBe('C')
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ if eq .Data.data.env "staging" }}A{{ else if eq .Data.data.env "prod" }}B{{ end }}{{ end }}')).toBe('B')
  })

  it('prints <no value> for a missing key and for null, as Vault Agent does by default', () => {
    expect(render('{{ with secret "secret/data/myapp/config" }}[{{ .Data.data.nope }}][{{ .Data.data.nothing }}][{{ index .Data.data "nope" }}]{{ end }}')).toBe(
      '[<no value>][<no value>][<no value>]',
    )
    expect(render('{{ . }}|{{ $ }}|{{ .Data.data.x }}')).toBe('<no value>|<no value>|<no value>')
  })

  it('fails, as Go does, on a field of a missing key', () => {
    const error = errorOf(() => render('{{ with secret "secret/data/myapp/config" }}\n  {{ .Data.data.nope.inner }}{{ end }}'))
    expect(error).toMatchObject({ status: 400, code: 'template_execution' })
    expect(error.detail).toContain('line 2, column 6')
    expect(error.detail).toContain('.Data.data.nope.inner')
    expect(error.detail).toContain('nil pointer evaluating interface {}.inner')
  })

  it('writes toJSON as json.Marshal does: sorted keys, compact, HTML-escaped', () => {
    const secrets = only('kv/json', { b: '<a&b>', a: 1.5, c: [true, null, { z: 'é\u2028\b\u0001' }], d: {} })
    expect(render('{{ with secret "kv/json" }}{{ .Data | toJSON }}{{ end }}', secrets)).toBe(
      '{"a":1.5,"b":"\\u003ca\\u0026b\\u003e","c":[true,null,{"z":"é\\u2028\\b\\u0001"}],"d":{}}',
    )
    expect(render('{{ with secret "kv/json" }}{{ .Data.b | toUnescapedJSON }}{{ end }}', secrets)).toBe('"<a&b>"')
    expect(render('{{ with secret "kv/json" }}{{ .Data.missing | toJSON }}{{ end }}', secrets)).toBe('null')
  })

  it('writes toJSONPretty as json.MarshalIndent(v, "", "  ")', () => {
    const secrets = only('kv/json', { b: { c: [1, 'x'] }, a: 'y', e: [] })
    expect(render('{{ with secret "kv/json" }}{{ toJSONPretty .Data }}{{ end }}', secrets)).toBe(
      '{\n  "a": "y",\n  "b": {\n    "c": [\n      1,\n      "x"\n    ]\n  },\n  "e": []\n}',
    )
  })

  it('decodes and encodes base64 in pipelines', () => {
    const secrets = only('kv/tls', { cert: 'LS0tLS1CRUdJTi0tLS0tCmNyw6htZQo=', url: 'aGk_Pj4=' })
    expect(render('{{ with secret "kv/tls" }}{{ .Data.cert | base64Decode }}{{ end }}', secrets)).toBe('-----BEGIN-----\ncrème\n')
    expect(render('{{ with secret "kv/tls" }}{{ .Data.url | base64URLDecode }}{{ end }}', secrets)).toBe('hi?>>')
    expect(render('{{ "crème" | base64Encode }} {{ base64URLEncode "hi?>>" }}')).toBe('Y3LDqG1l aGk_Pj4=')
  })

  it('refuses base64 it cannot decode, or that is not text', () => {
    const secrets = only('kv/bad', { junk: 'not base64!', binary: '/w==' })
    expect(errorOf(() => render('{{ with secret "kv/bad" }}{{ .Data.junk | base64Decode }}{{ end }}', secrets)).code).toBe('template_execution')
    expect(errorOf(() => render('{{ with secret "kv/bad" }}{{ .Data.binary | base64Decode }}{{ end }}', secrets)).detail).toContain('not UTF-8')
  })

  it('reads several secrets in one template, listing each path once, normalized', () => {
    const source = [
      '{{ with secret "secret/data/myapp/config" }}user={{ .Data.data.username }}{{ end }}',
      '{{ with secret " /database/creds/app/ " }} db={{ .Data.username }}{{ end }}',
      '{{ with secret "kv/myapp" }} kv1={{ .Data.password }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }} again={{ .Data.data.env }}{{ end }}',
    ].join('')
    const template = parseTemplate(source)
    expect(listSecretPaths(template)).toEqual(['secret/data/myapp/config', 'database/creds/app', 'kv/myapp'])
    expect(renderTemplate(template, SECRETS)).toBe('user=app db=v-kubernet-app-7L8a2 kv1=kv1-pass again=prod')
  })

  it('exposes lease fields of dynamic secrets and KV v2 metadata', () => {
    expect(render('{{ with secret "database/creds/app" }}{{ .LeaseID }} {{ .LeaseDuration }} {{ .Renewable }}{{ end }}')).toBe(
      'database/creds/app/2f6a614c-4aa2-7b19-24b9-ad944a8d4de6 3600 true',
    )
    expect(render('{{ with secret "secret/data/myapp/config" }}v{{ .Data.metadata.version }}{{ end }}')).toBe('v3')
  })

  it('nests with blocks and keeps variables across them', () => {
    const source =
      '{{ with secret "database/creds/app" }}{{ $db := . }}{{ with secret "secret/data/myapp/config" }}{{ with .Data.data }}{{ .username }}/{{ $db.Data.username }}{{ end }}{{ end }}{{ end }}'
    expect(render(source)).toBe('app/v-kubernet-app-7L8a2')
    expect(render('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}')).toBe('b')
  })

  it('evaluates parentheses, index for keys that are not identifiers, or defaults, and len in bytes', () => {
    expect(render('{{ (secret "secret/data/myapp/config").Data.data.username }}')).toBe('app')
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ index .Data.data "api-key" }} {{ index .Data.data.hosts 1 }}{{ end }}')).toBe('k-123 db-2')
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ or .Data.data.missing "fallback" }}{{ end }}')).toBe('fallback')
    expect(render('{{ len "crème" }} {{ with secret "secret/data/myapp/config" }}{{ len .Data.data.hosts }}{{ end }}')).toBe('6 2')
  })

  it('prints maps, lists and literals as Go does', () => {
    expect(render('{{ with secret "kv/myapp" }}{{ .Data }}{{ end }}')).toBe('map[password:kv1-pass username:kv1-user]')
    expect(render('{{ with secret "secret/data/myapp/config" }}{{ .Data.data.hosts }}{{ end }}')).toBe('[db-1 db-2]')
    expect(render('{{ 42 }} {{ 1.5 }} {{ 0x1F }} {{ 1e3 }} {{ 0.00001 }} {{ true }} {{ "a\\tb" }} {{ `raw\\n` }}')).toBe('42 1.5 31 1000 1e-05 true a\tb raw\\n')
  })

  describe('whitespace trimming, exactly as Go', () => {
    it.each([
      ['a  {{- "b" -}}  c', 'abc'],
      ['a \r\n\t {{- "b" }} \n c', 'ab \n c'],
      ['a {{ "b" -}} \n\n c', 'a bc'],
      ['a {{-3}} b', 'a -3 b'],
      ['a {{- 3 -}} b', 'a3b'],
      ['x{{/* a comment */}}y', 'xy'],
      ['x \n{{- /* a comment */ -}}\n y', 'xy'],
      ['{{ "a" }}\n{{ "b" }}\n', 'a\nb\n'],
      ['  {{- if true -}}  \n  yes  \n  {{- end -}}  ', 'yes'],
      ['{{"x" -}}', 'x'],
      ['{{- "x"}}', 'x'],
      ['a\n{{- "" -}}\n\n{{- "" -}}\nb', 'ab'],
    ])('%j renders %j', (source, expected) => {
      expect(render(source)).toBe(expected)
    })
  })

  it('renders text without actions unchanged, multi-byte included', () => {
    expect(render('plain 🔑 text\n}} {x} { {')).toBe('plain 🔑 text\n}} {x} { {')
  })
})

describe('templates outside the subset, or not valid', () => {
  it.each([
    ['{{ env "HOME" }}', 'the broker’s own environment'],
    ['{{ file "/etc/passwd" }}', 'disk'],
    ['{{ sockaddr "GetPrivateIP" }}', '"sockaddr"'],
    ['{{ timestamp }}', '"timestamp"'],
    ['{{ $cn := "common_name=a" }}{{ with pkiCert "pki/issue/app" $cn }}{{ .Cert }}{{ end }}', '`pkiCert` with arguments that are not string literals'],
    ['{{ key "service/x" }}', '"key"'],
    ['{{ sprig_env "HOME" }}', '"sprig_env"'],
    ['{{ secret "pki/issue/app" "common_name=a.example.com" }}', 'write parameters'],
    ['{{ $p := "kv/x" }}{{ secret $p }}', 'not a string literal'],
    ['{{ "kv/x" | secret }}', 'not a string literal'],
    ['{{ secret "secret/data/x?version=2" }}', 'query parameters'],
    ["{{ 'a' }}", 'character constant'],
    ['{{ 9007199254740993 }}', 'beyond ±2^53'],
  ])('%j is template_unsupported, naming %s', (source, named) => {
    const error = errorOf(() => parseTemplate(source))
    expect(error).toMatchObject({ status: 400 })
    expect(['template_unsupported', 'template_syntax']).toContain(error.code)
    expect(error.detail).toContain(named)
  })

  it('uses template_unsupported for syntax Vault Agent accepts', () => {
    for (const source of ['{{ env "X" }}', '{{ pkiCert "a" .x }}', '{{ secret "a" "k=v" }}']) {
      expect(errorOf(() => parseTemplate(source)).code).toBe('template_unsupported')
    }
  })

  it.each([
    ['{{ .x', 'unclosed action'],
    ['{{ if true }}x', 'missing {{end}}'],
    ['x{{ end }}', 'unexpected {{end}}'],
    ['{{ else }}', 'unexpected {{else}}'],
    ['{{ $nope }}', 'undefined variable'],
    ['{{ }}', 'missing value for command'],
    ['{{ "unterminated }}', 'unterminated quoted string'],
    ['{{ 1x }}', 'bad number'],
    ['{{ /* c */ }}', 'unexpected character'],
    ['{{/* c */ x}}', 'comment ends before closing delimiter'],
    ['{{ break }}', 'outside {{range}}'],
    ['{{ range . }}{{ else if true }}{{ end }}', 'unexpected'],
    ['{{ .x | "y" }}', 'non executable command'],
    ['{{ (.x }}', 'unclosed left paren'],
    ['{{ secret "secret/../sys/seal" }}', '".."'],
    ['{{ secret " / " }}', 'empty'],
  ])('%j is template_syntax: %s', (source, message) => {
    const error = errorOf(() => parseTemplate(source))
    expect(error).toMatchObject({ status: 400, code: 'template_syntax' })
    expect(error.detail).toContain(message)
    expect(error.detail).toMatch(/line \d+, column \d+/)
  })

  it('reports the line and column of a syntax error', () => {
    expect(errorOf(() => parseTemplate('line one\n  {{ if }}')).detail).toContain('line 2, column 9')
  })

  it('fails at execution where Go does: wrong types and arguments', () => {
    const failures = [
      '{{ with secret "secret/data/myapp/config" }}{{ .Data.data.port | base64Encode }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }}{{ .Data.data.username.x }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }}{{ .Nope }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }}{{ range .Data.data.username }}{{ end }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }}{{ eq .Data.data.hosts 1 }}{{ end }}',
      '{{ with secret "secret/data/myapp/config" }}{{ index .Data.data.hosts 5 }}{{ end }}',
      '{{ index .x 1 }}',
      '{{ toJSON }}',
      '{{ "x" | not 1 }}',
      '{{ nil }}',
    ]
    for (const source of failures) expect(errorOf(() => render(source)).code, source).toBe('template_execution')
  })

  it('never puts a secret value into an error', () => {
    const detail = errorOf(() => render('{{ with secret "secret/data/myapp/config" }}{{ .Data.data.password.x }}{{ end }}')).detail
    expect(detail).not.toContain('s3cr3t')
  })

  it('bounds what a template may cost: output length and steps', () => {
    const data = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']))
    const secrets = only('kv/big', data)
    const nested = (body: string) => `{{ with secret "kv/big" }}{{ $d := .Data }}{{ range $d }}{{ range $d }}{{ range $d }}{{ range $d }}${body}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}`
    expect(errorOf(() => render(nested('0123456789'), secrets))).toMatchObject({ status: 413, code: 'too_large' })
    expect(errorOf(() => render(nested(''), secrets))).toMatchObject({ status: 400, code: 'template_execution' })
  })

  it('is a 500, not a silent gap, when a secret was not read before rendering', () => {
    expect(errorOf(() => render('{{ with secret "kv/other" }}x{{ end }}'))).toMatchObject({ status: 500, code: 'internal' })
  })

  it('refuses nesting deep enough to exhaust the stack', () => {
    const deep = `${'{{ if true }}'.repeat(150)}x${'{{ end }}'.repeat(150)}`
    expect(errorOf(() => parseTemplate(deep)).code).toBe('template_syntax')
    expect(errorOf(() => parseTemplate(`{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`)).code).toBe('template_syntax')
  })
})
