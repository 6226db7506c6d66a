// How Go's text/template sees a Vault response in consul-template (dependency/vault_common.go):
// `secret` returns a *dependency.Secret struct whose Data is a map[string]interface{} decoded
// with json.Number, so numbers from Vault behave as strings (printed as their text, truthy when
// non-empty, equal to "5432" under eq), while numbers written in the template are Go ints and
// floats. A missing map key is a nil interface (`null` here); "no value at all", such as the
// top-level dot, is `undefined`.

/** Vault's JSON response, as read from /v1/{path} (Vault HTTP API, "Response format"). */
export interface VaultSecretResponse {
  request_id?: string
  lease_id?: string
  lease_duration?: number
  renewable?: boolean
  data: Record<string, unknown> | null
  warnings?: string[] | null
}

/** Go's numeric types a template meets: literals (int, float64), parseInt (int64), a string's bytes (uint8). */
export type GoNumberType = 'int' | 'int64' | 'float64' | 'uint8'

/** A Go int or float64: template literals, `len`, range indexes, LeaseDuration, math results. */
export class GoNumber {
  readonly value: number
  readonly type: GoNumberType
  constructor(value: number, type: GoNumberType | boolean) {
    this.value = value
    this.type = type === true ? 'float64' : type === false ? 'int' : type
  }
  get isFloat(): boolean {
    return this.type === 'float64'
  }
}

/** Slices that are `[]string` in Go (split's result), which `join` accepts; Vault's lists are `[]interface {}`. */
const STRING_SLICES = new WeakSet<GoValue[]>()
export function stringSlice(items: string[]): GoValue[] {
  STRING_SLICES.add(items)
  return items
}
export const isStringSlice = (value: GoValue): value is string[] => Array.isArray(value) && STRING_SLICES.has(value)

/** A typed nil pointer such as Secret.Auth: prints `<nil>`, false in `if`. */
export class NilPointer {
  readonly typeName: string
  constructor(typeName: string) {
    this.typeName = typeName
  }
}

/** consul-template's *dependency.Secret. */
export class SecretValue {
  readonly response: VaultSecretResponse
  constructor(response: VaultSecretResponse) {
    this.response = response
  }

  static readonly FIELDS = ['RequestID', 'LeaseID', 'LeaseDuration', 'Renewable', 'Data', 'Warnings', 'Auth', 'WrapInfo'] as const

  field(name: (typeof SecretValue.FIELDS)[number]): GoValue {
    const r = this.response
    switch (name) {
      case 'RequestID':
        return r.request_id ?? ''
      case 'LeaseID':
        return r.lease_id ?? ''
      case 'LeaseDuration':
        return new GoNumber(r.lease_duration ?? 0, false)
      case 'Renewable':
        return r.renewable ?? false
      case 'Data':
        return (r.data ?? {}) as GoMap
      case 'Warnings':
        return r.warnings ?? []
      case 'Auth':
        return new NilPointer('*dependency.SecretAuth')
      case 'WrapInfo':
        return new NilPointer('*dependency.SecretWrapInfo')
    }
  }
}

/**
 * consul-template's dependency.PemEncoded, what `pkiCert` returns: the certificate, key and
 * issuing CA of Vault's PKI issue response, each PEM-encoded again by Go (so ending in a newline).
 */
export class PemEncoded {
  static readonly FIELDS = ['Cert', 'Key', 'CA'] as const
  readonly fields: Record<(typeof PemEncoded.FIELDS)[number], string>
  constructor(response: VaultSecretResponse) {
    const data = response.data ?? {}
    const pem = (value: unknown) => (typeof value === 'string' && value !== '' ? `${value.replace(/\n+$/, '')}\n` : '')
    this.fields = { Cert: pem(data.certificate), Key: pem(data.private_key), CA: pem(data.issuing_ca) }
  }
}

export interface GoMap {
  [key: string]: GoValue
}

/**
 * A number from Vault's JSON whose text JSON.parse would change (`-0`, `1.0`, `1e3`, integers
 * beyond 2^53): src/vault keeps it as JSON.rawJSON(text) (lossless-json.ts), so it prints as Vault sent it.
 */
export interface RawJsonNumber {
  readonly rawJSON: string
}

/** JSON data (numbers being json.Number), Go numbers, and the secret struct. */
export type GoValue = undefined | null | string | number | boolean | RawJsonNumber | GoNumber | NilPointer | SecretValue | PemEncoded | GoValue[] | GoMap

export const isRawJsonNumber = (value: unknown): value is RawJsonNumber =>
  typeof value === 'object' && value !== null && typeof (value as { rawJSON?: unknown }).rawJSON === 'string' && Object.keys(value).length === 1

/** A json.Number from Vault: a JS number, or the raw text of one JSON.parse could not keep. */
export const isJsonNumber = (value: GoValue): value is number | RawJsonNumber => typeof value === 'number' || isRawJsonNumber(value)

export const isMap = (value: GoValue): value is GoMap =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof GoNumber) &&
  !(value instanceof NilPointer) &&
  !(value instanceof SecretValue) &&
  !(value instanceof PemEncoded) &&
  !isRawJsonNumber(value)

/** json.Number's text, as Vault wrote it. */
export const jsonNumberText = (value: number | RawJsonNumber): string => (typeof value === 'number' ? JSON.stringify(value) : value.rawJSON)

/** Go's reflect kinds, as eq and error messages need them. */
export type GoKind = 'invalid' | 'nil' | 'string' | 'bool' | 'int' | 'uint' | 'float' | 'map' | 'slice' | 'struct' | 'struct pointer' | 'nil pointer'

export function kindOf(value: GoValue): GoKind {
  if (value === undefined) return 'invalid'
  if (value === null) return 'nil'
  if (typeof value === 'string' || isJsonNumber(value)) return 'string'
  if (typeof value === 'boolean') return 'bool'
  if (value instanceof GoNumber) return value.isFloat ? 'float' : value.type === 'uint8' ? 'uint' : 'int'
  if (value instanceof NilPointer) return 'nil pointer'
  if (value instanceof SecretValue) return 'struct pointer'
  if (value instanceof PemEncoded) return 'struct'
  return Array.isArray(value) ? 'slice' : 'map'
}

/** Go type names for error messages. */
export function typeName(value: GoValue): string {
  if (value === undefined || value === null) return 'interface {}'
  if (typeof value === 'string') return 'string'
  if (isJsonNumber(value)) return 'json.Number'
  if (typeof value === 'boolean') return 'bool'
  if (value instanceof GoNumber) return value.type
  if (value instanceof NilPointer) return value.typeName
  if (value instanceof SecretValue) return '*dependency.Secret'
  if (value instanceof PemEncoded) return 'dependency.PemEncoded'
  if (Array.isArray(value)) return isStringSlice(value) ? '[]string' : '[]interface {}'
  return 'map[string]interface {}'
}

/** Go's truth (text/template exec.go, isTrue): empty and zero values are false. */
export function isTrue(value: GoValue): boolean {
  if (value === undefined || value === null) return false
  if (typeof value === 'string') return value.length > 0
  if (isJsonNumber(value)) return true // json.Number: a non-empty string
  if (typeof value === 'boolean') return value
  if (value instanceof GoNumber) return value.value !== 0
  if (value instanceof NilPointer) return false
  if (value instanceof SecretValue || value instanceof PemEncoded) return true
  return Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0
}

/** Go sorts string map keys bytewise (UTF-8), which is code point order, not UTF-16 order. */
export function compareKeys(a: string, b: string): number {
  const left = [...a]
  const right = [...b]
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!
    if (difference !== 0) return difference
  }
  return left.length - right.length
}

export const sortedKeys = (map: GoMap): string[] => Object.keys(map).sort(compareKeys)
