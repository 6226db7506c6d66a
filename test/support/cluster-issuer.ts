/**
 * A stand-in for kube-apiserver's ServiceAccount token machinery (kube-apiserver itself
 * cannot run here). It serves what a broker, Vault's jwt auth method and Vault's
 * kubernetes auth method talk to:
 *
 * - `GET {issuer}/.well-known/openid-configuration` and `GET /openid/v1/jwks`, shaped like
 *   the real documents in test/fixtures/k8s-tokens/discovery/;
 * - `POST /apis/authentication.k8s.io/v1/tokenreviews`, answering like kube-apiserver
 *   (201, `status.user` with the ServiceAccount uid, groups and `extra`);
 * - test-only: `POST {issuer}/mint` (JSON MintOptions → `{ token }`) and `{issuer}/_test/*`
 *   controls, so tests in other processes can mint tokens and inject faults.
 *
 * Tokens carry exactly the claims kube-apiserver puts in a projected token
 * (pkg/serviceaccount/claims.go): aud, exp, iat, iss, jti, kubernetes.io {namespace,
 * node, pod, serviceaccount, warnafter}, nbf, sub — serialised with sorted keys, as
 * go-jose does, and signed with header `{alg, kid}` where kid = base64url(SHA-256(DER
 * SPKI)) (pkg/serviceaccount/jwt.go keyIDFromPublicKey).
 */
import { createHash, createHmac, createPublicKey, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, createLocalJWKSet, jwtVerify, type JWK } from 'jose'

export type IssuerAlgorithm = 'RS256' | 'ES256' | 'ES384' | 'ES512'

export interface JWKS {
  keys: JWK[]
}

/** An object reference in the `kubernetes.io` claim. */
export interface ObjectRef {
  name: string
  uid?: string
}

export interface MintOptions {
  /** Default `default`. */
  namespace?: string
  /** Default `default`. */
  serviceAccount?: string
  /** Override the ServiceAccount uid (default: the issuer's stable uid for that SA). */
  serviceAccountUid?: string
  /** `aud` claim. Default: the API server audience (the issuer), as kube-apiserver does. */
  audiences?: string[]
  /** TokenRequest expirationSeconds. Default 3600. */
  expirationSeconds?: number
  /**
   * kube-apiserver (`--service-account-extend-token-expiration`, on by default) stretches
   * tokens requested for exactly 3607 s (the kubelet's auto-mounted token) to one year and
   * adds `kubernetes.io.warnafter` = iat + 3607. Default: true when expirationSeconds is 3607.
   */
  extendExpiration?: boolean
  /** Pod the token is bound to. Default `<serviceAccount>-7c6d9f8b5-x2x9p`; `null`: not bound (like `kubectl create token`). */
  pod?: string | ObjectRef | null
  /** Node of the pod (added since Kubernetes 1.30 for pod-bound tokens). Default `kind-worker`; `null`: omitted. */
  node?: string | ObjectRef | null
  /** Issue time: epoch seconds or a Date. Default now. */
  now?: number | Date
  /** Top-level claims to add or replace (applied after everything else). */
  extraClaims?: Record<string, unknown>
  /** Claims to remove: `exp`, `aud`, or nested with `/`: `kubernetes.io/node`. */
  omitClaims?: string[]
  /**
   * Header overrides. `kid: null` omits kid, `kid: ''` sends an empty one (older clusters);
   * `alg: 'none'` yields an unsigned token; `alg: 'HS256'` signs with HMAC keyed by the
   * public key PEM (the classic algorithm-confusion attack).
   */
  header?: { alg?: string; kid?: string | null; typ?: string; [name: string]: unknown }
  /** Which key signs: the current one (default), the one before the last rotation, or a key not in the JWKS. */
  key?: 'current' | 'previous' | 'unknown'
  /** A legacy secret-based token: flat `kubernetes.io/serviceaccount/*` claims, no aud, no exp, header `{alg, typ: JWT}`. */
  legacy?: boolean | { secretName?: string }
}

export interface IssuerStats {
  jwksFetches: number
  discoveryFetches: number
  tokenReviews: number
  mints: number
}

export interface ClusterIssuer {
  /** `http://127.0.0.1:PORT` + issuerPath */
  issuer: string
  /** `http://127.0.0.1:PORT` — where kube-apiserver's API (TokenReview) is served; Vault's `kubernetes_host`. */
  apiServerUrl: string
  jwksUri: string
  /** The JWKS currently served. */
  readonly jwks: JWKS
  algorithm: IssuerAlgorithm
  /** kid of the current signing key. */
  readonly kid: string
  mint(options?: MintOptions): Promise<string>
  /** New signing key; the previous one stays in the JWKS unless keepPrevious is false. Returns the new kid. */
  rotateKey(options?: { keepPrevious?: boolean; algorithm?: IssuerAlgorithm }): Promise<string>
  /** While down, discovery and JWKS answer 503 (TokenReview and /mint keep working). */
  setDown(down: boolean): void
  /** Delay before discovery and JWKS answers. */
  setDelayMs(ms: number): void
  /** Gives the ServiceAccount a new uid: tokens minted before no longer pass TokenReview. */
  recreateServiceAccount(namespace: string, name: string): string
  serviceAccountUid(namespace: string, name: string): string
  jwksFetchCount(): number
  discoveryFetchCount(): number
  tokenReviewCount(): number
  stats(): IssuerStats
  resetCounts(): void
  stop(): Promise<void>
}

export interface ClusterIssuerOptions {
  algorithm?: IssuerAlgorithm
  /** Path appended to the origin to form the issuer, e.g. `/id/ABC` (EKS style). Default ''. */
  issuerPath?: string
  /** Port to listen on (default: a free one). */
  port?: number
  /** Default node name for pod-bound tokens. */
  nodeName?: string
}

/** kube-apiserver's legacy issuer and the constants of TokenRequest defaulting. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount'
export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607
export const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 60 * 60
const VERIFY_LEEWAY_SECONDS = 60

interface SigningKey {
  kid: string
  alg: IssuerAlgorithm
  privateKey: KeyObject
  publicKey: KeyObject
  jwk: JWK
}

/** base64url(SHA-256(DER SubjectPublicKeyInfo)), as kube-apiserver's keyIDFromPublicKey. */
export function kubernetesKeyId(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey
  const der = key.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64url')
}

/** The JWK as kube-apiserver serves it (go-jose field order: use, kty, kid, crv, alg, x, y / n, e). */
export function kubernetesJwk(publicKey: KeyObject, alg: IssuerAlgorithm): JWK {
  const raw = publicKey.export({ format: 'jwk' }) as JWK
  const kid = kubernetesKeyId(publicKey)
  if (raw.kty === 'RSA') return { use: 'sig', kty: 'RSA', kid, alg, n: raw.n, e: raw.e }
  return { use: 'sig', kty: 'EC', kid, crv: raw.crv, alg, x: raw.x, y: raw.y }
}

async function generateSigningKey(alg: IssuerAlgorithm): Promise<SigningKey> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>(
    (resolve, reject) => {
      const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
        err ? reject(err) : resolve({ publicKey, privateKey })
      if (alg === 'RS256') generateKeyPair('rsa', { modulusLength: 2048 }, done)
      else {
        const namedCurve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg]
        generateKeyPair('ec', { namedCurve }, done)
      }
    },
  )
  const jwk = kubernetesJwk(publicKey, alg)
  return { kid: jwk.kid as string, alg, privateKey, publicKey, jwk }
}

/** Recursively sorts object keys: go-jose builds the payload from a map, so keys come sorted. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

function omitPath(claims: Record<string, unknown>, path: string): void {
  const parts = path.split('/')
  let target: unknown = claims
  for (const part of parts.slice(0, -1)) {
    if (target === null || typeof target !== 'object') return
    target = (target as Record<string, unknown>)[part]
  }
  if (target !== null && typeof target === 'object') delete (target as Record<string, unknown>)[parts.at(-1) as string]
}

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function randomSuffix(length: number): string {
  // Kubernetes generateName alphabet (no vowels, no confusable characters).
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)]
  return out
}

export async function startClusterIssuer(options: ClusterIssuerOptions = {}): Promise<ClusterIssuer> {
  const algorithm = options.algorithm ?? 'RS256'
  const issuerPath = (options.issuerPath ?? '').replace(/\/+$/, '')
  if (issuerPath !== '' && !issuerPath.startsWith('/')) throw new Error('issuerPath must start with /')
  const defaultNode = options.nodeName ?? 'kind-worker'

  let keys: SigningKey[] = [await generateSigningKey(algorithm)]
  let previousKey: SigningKey | undefined
  const unknownKeys = new Map<IssuerAlgorithm, SigningKey>()
  const uids = new Map<string, string>()
  const stableUid = (kind: string, namespace: string, name: string) => {
    const id = `${kind}/${namespace}/${name}`
    let uid = uids.get(id)
    if (uid === undefined) {
      uid = randomUUID()
      uids.set(id, uid)
    }
    return uid
  }

  let down = false
  let delayMs = 0
  const counts: IssuerStats = { jwksFetches: 0, discoveryFetches: 0, tokenReviews: 0, mints: 0 }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String((err as Error)?.message ?? err) })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port ?? 0, host: '127.0.0.1' }, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const apiServerUrl = `http://127.0.0.1:${port}`
  const issuer = `${apiServerUrl}${issuerPath}`
  const jwksUri = `${apiServerUrl}/openid/v1/jwks`
  const apiAudiences = [issuer]

  const currentJwks = (): JWKS => ({ keys: keys.map((k) => ({ ...k.jwk })) })

  const discoveryDocument = () => ({
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))].sort(),
  })

  async function mint(opts: MintOptions = {}): Promise<string> {
    counts.mints++
    const namespace = opts.namespace ?? 'default'
    const serviceAccount = opts.serviceAccount ?? 'default'
    const saUid = opts.serviceAccountUid ?? stableUid('serviceaccount', namespace, serviceAccount)
    const nowSeconds =
      opts.now === undefined
        ? Math.floor(Date.now() / 1000)
        : opts.now instanceof Date
          ? Math.floor(opts.now.getTime() / 1000)
          : Math.floor(opts.now)
    const sub = `system:serviceaccount:${namespace}:${serviceAccount}`

    let key = keys[0] as SigningKey
    if (opts.key === 'previous') {
      if (previousKey === undefined) throw new Error('no previous key: rotateKey() first')
      key = previousKey
    } else if (opts.key === 'unknown') {
      let unknown = unknownKeys.get(key.alg)
      if (unknown === undefined) {
        unknown = await generateSigningKey(key.alg)
        unknownKeys.set(key.alg, unknown)
      }
      key = unknown
    }

    let claims: Record<string, unknown>
    let header: Record<string, unknown>
    if (opts.legacy) {
      const secretName =
        (typeof opts.legacy === 'object' ? opts.legacy.secretName : undefined) ?? `${serviceAccount}-token-${randomSuffix(5)}`
      claims = {
        iss: LEGACY_ISSUER,
        'kubernetes.io/serviceaccount/namespace': namespace,
        'kubernetes.io/serviceaccount/secret.name': secretName,
        'kubernetes.io/serviceaccount/service-account.name': serviceAccount,
        'kubernetes.io/serviceaccount/service-account.uid': saUid,
        sub,
      }
      header = { alg: key.alg, typ: 'JWT' }
    } else {
      const requested = opts.expirationSeconds ?? 3600
      const extend = opts.extendExpiration ?? requested === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS
      const k8s: Record<string, unknown> = {
        namespace,
        serviceaccount: { name: serviceAccount, uid: saUid },
      }
      const podOpt = opts.pod === undefined ? `${serviceAccount}-7c6d9f8b5-x2x9p` : opts.pod
      if (podOpt !== null) {
        const pod = typeof podOpt === 'string' ? { name: podOpt } : podOpt
        k8s.pod = { name: pod.name, uid: pod.uid ?? stableUid('pod', namespace, pod.name) }
        const nodeOpt = opts.node === undefined ? defaultNode : opts.node
        if (nodeOpt !== null) {
          const node = typeof nodeOpt === 'string' ? { name: nodeOpt } : nodeOpt
          k8s.node = { name: node.name, uid: node.uid ?? stableUid('node', '', node.name) }
        }
      } else if (opts.node !== undefined && opts.node !== null) {
        // A token bound to a node object (TokenRequest boundObjectRef kind Node).
        const node = typeof opts.node === 'string' ? { name: opts.node } : opts.node
        k8s.node = { name: node.name, uid: node.uid ?? stableUid('node', '', node.name) }
      }
      if (extend) k8s.warnafter = nowSeconds + requested
      claims = {
        aud: opts.audiences ?? apiAudiences,
        exp: nowSeconds + (extend ? EXTENDED_EXPIRATION_SECONDS : requested),
        iat: nowSeconds,
        iss: issuer,
        jti: randomUUID(),
        'kubernetes.io': k8s,
        nbf: nowSeconds,
        sub,
      }
      header = { alg: key.alg, kid: key.kid }
    }
    for (const path of opts.omitClaims ?? []) omitPath(claims, path)
    Object.assign(claims, opts.extraClaims ?? {})
    claims = sortKeys(claims) as Record<string, unknown>

    for (const [name, value] of Object.entries(opts.header ?? {})) {
      if (value === null || value === undefined) delete header[name]
      else header[name] = value
    }
    const alg = String(header.alg)
    if (alg === 'none') return `${b64urlJson(header)}.${b64urlJson(claims)}.`
    if (alg.startsWith('HS')) {
      const signingInput = `${b64urlJson(header)}.${b64urlJson(claims)}`
      const pem = key.publicKey.export({ type: 'spki', format: 'pem' }) as string
      const mac = createHmac(`sha${alg.slice(2)}`, pem).update(signingInput).digest('base64url')
      return `${signingInput}.${mac}`
    }
    return await new SignJWT(claims)
      .setProtectedHeader(header as { alg: string })
      .sign(key.privateKey)
  }

  /** kube-apiserver's ServiceAccount token authenticator, reduced to what we model. */
  async function authenticate(
    token: string,
    requestedAudiences: string[],
  ): Promise<{ ok: true; claims: Record<string, unknown>; audiences: string[] } | { ok: false; error: string }> {
    const invalid = (reason: string) => ({ ok: false as const, error: `[invalid bearer token, ${reason}]` })
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, createLocalJWKSet(currentJwks()), {
        algorithms: ['RS256', 'ES256', 'ES384', 'ES512'],
        clockTolerance: VERIFY_LEEWAY_SECONDS,
      })
      payload = result.payload as Record<string, unknown>
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ERR_JWT_EXPIRED') return invalid('service account token has expired')
      return invalid('square/go-jose: error in cryptographic primitive')
    }
    if (payload.iss === LEGACY_ISSUER) {
      const ns = payload['kubernetes.io/serviceaccount/namespace']
      const name = payload['kubernetes.io/serviceaccount/service-account.name']
      const uid = payload['kubernetes.io/serviceaccount/service-account.uid']
      if (typeof ns !== 'string' || typeof name !== 'string' || uid !== stableUid('serviceaccount', ns, name)) {
        return invalid('service account token has been invalidated')
      }
      // Legacy tokens have no aud: kube-apiserver treats them as valid for the API audiences.
      const audiences = requestedAudiences.filter((a) => apiAudiences.includes(a))
      if (audiences.length === 0) return invalid('token audiences is invalid for the target audiences')
      return { ok: true, claims: payload, audiences }
    }
    if (payload.iss !== issuer) return invalid('token issuer is not recognised')
    if (typeof payload.exp !== 'number') return invalid('service account token has no expiry')
    const tokenAudiences = Array.isArray(payload.aud) ? payload.aud : typeof payload.aud === 'string' ? [payload.aud] : []
    const audiences = requestedAudiences.filter((a) => tokenAudiences.includes(a))
    if (audiences.length === 0) {
      return invalid(
        `token audiences ${JSON.stringify(tokenAudiences)} is invalid for the target audiences ${JSON.stringify(requestedAudiences)}`,
      )
    }
    const k8s = payload['kubernetes.io'] as
      | { namespace?: string; serviceaccount?: { name?: string; uid?: string } }
      | undefined
    const ns = k8s?.namespace
    const sa = k8s?.serviceaccount
    if (typeof ns !== 'string' || typeof sa?.name !== 'string') return invalid('service account token claims are malformed')
    if (sa.uid !== stableUid('serviceaccount', ns, sa.name)) {
      return invalid(`service account UID (${sa.uid}) does not match claim (${stableUid('serviceaccount', ns, sa.name)})`)
    }
    return { ok: true, claims: payload, audiences }
  }

  function userInfo(claims: Record<string, unknown>) {
    if (claims.iss === LEGACY_ISSUER) {
      const ns = claims['kubernetes.io/serviceaccount/namespace'] as string
      return {
        username: claims.sub,
        uid: claims['kubernetes.io/serviceaccount/service-account.uid'],
        groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      }
    }
    const k8s = claims['kubernetes.io'] as {
      namespace: string
      serviceaccount: { name: string; uid: string }
      pod?: ObjectRef
      node?: ObjectRef
    }
    const extra: Record<string, string[]> = {}
    if (typeof claims.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`]
    if (k8s.node) {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name]
      if (k8s.node.uid) extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid]
    }
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name]
      if (k8s.pod.uid) extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid]
    }
    return {
      username: `system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`,
      uid: k8s.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k8s.namespace}`, 'system:authenticated'],
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
    }
  }

  async function tokenReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counts.tokenReviews++
    // kube-apiserver authenticates the caller first (Vault sends token_reviewer_jwt, or the
    // pod's own JWT when none is configured); the bearer must be valid for the API audiences.
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    const caller = bearer === undefined ? undefined : await authenticate(bearer, apiAudiences)
    if (caller === undefined || !caller.ok) {
      sendJson(res, 401, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      })
      return
    }
    const body = (await readJson(req)) as { apiVersion?: string; kind?: string; spec?: { token?: string; audiences?: string[] } }
    const spec = body?.spec ?? {}
    if (typeof spec.token !== 'string' || spec.token === '') {
      sendJson(res, 422, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value: token must not be empty',
        reason: 'Invalid',
        code: 422,
      })
      return
    }
    const requested = spec.audiences && spec.audiences.length > 0 ? spec.audiences : apiAudiences
    const result = await authenticate(spec.token, requested)
    const status = result.ok
      ? { authenticated: true, user: userInfo(result.claims), audiences: result.audiences }
      : { user: {}, error: result.error }
    sendJson(res, 201, {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token: spec.token, ...(spec.audiences ? { audiences: spec.audiences } : {}) },
      status,
    })
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', apiServerUrl)
    let path = url.pathname
    const method = req.method ?? 'GET'
    const oidcPath = path === '/openid/v1/jwks' || path.endsWith('/.well-known/openid-configuration')

    if (oidcPath && method === 'GET') {
      if (path === '/openid/v1/jwks') counts.jwksFetches++
      else counts.discoveryFetches++
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
      if (down) {
        sendJson(res, 503, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'service unavailable', code: 503 })
        return
      }
      if (path === '/openid/v1/jwks') {
        // kube-apiserver serves application/jwk-set+json with a public Cache-Control.
        send(res, 200, JSON.stringify(currentJwks()), {
          'content-type': 'application/jwk-set+json',
          'cache-control': 'public, max-age=3600',
        })
        return
      }
      if (path === `${issuerPath}/.well-known/openid-configuration` || path === '/.well-known/openid-configuration') {
        send(res, 200, JSON.stringify(discoveryDocument()), {
          'content-type': 'application/json',
          'cache-control': 'public, max-age=3600',
        })
        return
      }
    }
    if (path === '/apis/authentication.k8s.io/v1/tokenreviews' && method === 'POST') {
      await tokenReview(req, res)
      return
    }

    // Test-only endpoints, under the issuer path or the root.
    if (issuerPath !== '' && path.startsWith(`${issuerPath}/`)) path = path.slice(issuerPath.length)
    if (path === '/mint' && method === 'POST') {
      const opts = ((await readJson(req)) ?? {}) as MintOptions
      try {
        sendJson(res, 200, { token: await mint(opts) })
      } catch (err) {
        sendJson(res, 400, { error: (err as Error).message })
      }
      return
    }
    if (path === '/_test/stats' && method === 'GET') {
      sendJson(res, 200, { ...counts, kid: keys[0]?.kid, down })
      return
    }
    if (path === '/_test/down' && method === 'POST') {
      const body = (await readJson(req)) as { down?: boolean } | null
      down = body?.down ?? true
      sendJson(res, 200, { down })
      return
    }
    if (path === '/_test/delay' && method === 'POST') {
      const body = (await readJson(req)) as { ms?: number } | null
      delayMs = body?.ms ?? 0
      sendJson(res, 200, { delayMs })
      return
    }
    if (path === '/_test/rotate' && method === 'POST') {
      const body = (await readJson(req)) as { keepPrevious?: boolean; algorithm?: IssuerAlgorithm } | null
      sendJson(res, 200, { kid: await rotateKey(body ?? {}) })
      return
    }
    if (path === '/_test/recreate-serviceaccount' && method === 'POST') {
      const body = (await readJson(req)) as { namespace: string; name: string }
      sendJson(res, 200, { uid: recreateServiceAccount(body.namespace, body.name) })
      return
    }
    sendJson(res, 404, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      code: 404,
    })
  }

  async function rotateKey(opts: { keepPrevious?: boolean; algorithm?: IssuerAlgorithm } = {}): Promise<string> {
    const next = await generateSigningKey(opts.algorithm ?? (keys[0] as SigningKey).alg)
    previousKey = keys[0]
    keys = opts.keepPrevious === false ? [next] : [next, ...keys]
    return next.kid
  }

  function recreateServiceAccount(namespace: string, name: string): string {
    const uid = randomUUID()
    uids.set(`serviceaccount/${namespace}/${name}`, uid)
    return uid
  }

  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  return {
    issuer,
    apiServerUrl,
    jwksUri,
    get jwks() {
      return currentJwks()
    },
    algorithm,
    get kid() {
      return (keys[0] as SigningKey).kid
    },
    mint,
    rotateKey,
    setDown: (value) => {
      down = value
    },
    setDelayMs: (ms) => {
      delayMs = ms
    },
    recreateServiceAccount,
    serviceAccountUid: (namespace, name) => stableUid('serviceaccount', namespace, name),
    jwksFetchCount: () => counts.jwksFetches,
    discoveryFetchCount: () => counts.discoveryFetches,
    tokenReviewCount: () => counts.tokenReviews,
    stats: () => ({ ...counts }),
    resetCounts: () => {
      counts.jwksFetches = 0
      counts.discoveryFetches = 0
      counts.tokenReviews = 0
      counts.mints = 0
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
    },
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json' })
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return null
  return JSON.parse(text)
}
