// Every manifest under k8s/ checked offline: schemas (kubernetes-models; zod for the ESO and
// CSI CRDs), no unknown fields, and the facts the scripts and the broker rely on.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseConfig } from '../../src/config.ts'
import {
  K8S_DIR,
  REPO_ROOT,
  allContainers,
  envOf,
  findDocument,
  loadDocuments,
  mountedFile,
  podSpecOf,
  validateDocument,
  vaultCsiObjects,
  vaultCsiParameters,
  yamlFiles,
  type K8sDocument,
} from './k8s-manifests.ts'

const documents = loadDocuments()
const label = (doc: K8sDocument) => `${doc.file}#${doc.index} ${doc.kind} ${doc.name}`
const withPods = documents.filter((doc) => podSpecOf(doc) !== undefined)
// The "before" files show the seed scenarios as users run them today (injector, CSI, ESO).
const ours = (doc: K8sDocument) => !doc.file.endsWith('before.yaml')
const script = (name: string) => readFileSync(join(K8S_DIR, 'scripts', name), 'utf8')

/** The lines of a fetch-secrets.sh outputs list: `SOURCE DESTINATION name=value…`. */
function outputLines(text: string): { source: string; destination: string; options: Record<string, string> }[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [source, destination, ...options] = line.trim().split(/\s+/)
      return { source: source!, destination: destination!, options: Object.fromEntries(options.map((option) => [option.slice(0, option.indexOf('=')), option.slice(option.indexOf('=') + 1)])) }
    })
}

describe('the YAML under k8s/', () => {
  it('parses into documents that all have apiVersion, kind and a name', () => {
    expect(yamlFiles().length).toBeGreaterThanOrEqual(10)
    expect(documents.length).toBeGreaterThanOrEqual(30)
    for (const doc of documents) {
      expect(doc.apiVersion, label(doc)).toMatch(/^[a-z0-9.-]*\/?v[0-9a-z]+$/)
      expect(doc.kind, label(doc)).toMatch(/^[A-Z][A-Za-z]+$/)
      expect(doc.name, label(doc)).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
    }
  })

  it.each(documents.map((doc) => [label(doc), doc] as const))('%s validates against its schema with no unknown field', (_name, doc) => {
    expect(validateDocument(doc).errors).toEqual([])
  })

  it('validates the CRDs (ESO, CSI) with zod and everything else with kubernetes-models', () => {
    const byValidator = new Map<string, Set<string>>()
    for (const doc of documents) {
      const { validator } = validateDocument(doc)
      byValidator.set(validator, new Set([...(byValidator.get(validator) ?? []), doc.kind]))
    }
    expect([...byValidator.get('zod (CRD)')!].sort()).toEqual(['Certificate', 'ClusterSecretStore', 'ExternalSecret', 'Issuer', 'SecretProviderClass'])
    expect([...byValidator.get('kubernetes-models')!]).toEqual(expect.arrayContaining(['Deployment', 'CronJob', 'ConfigMap', 'ClusterRoleBinding']))
  })

  it('would catch misspelled fields, in built-in kinds and in CRDs alike', () => {
    const deployment = structuredClone(findDocument(documents, 'k8s/app/init-container.yaml', 'Deployment'))
    deployment.body.spec.template.spec.serviceAcountName = 'myapp'
    deployment.body.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true
    deployment.body.spec.template.spec.volumes[0].projected.sources[0].serviceAccountToken.expirySeconds = 600
    expect(validateDocument(deployment).errors).toEqual([
      'unknown field spec.template.spec.serviceAcountName',
      'unknown field spec.template.spec.containers.0.securityContext.readOnlyRootFileSystem',
      'unknown field spec.template.spec.volumes.0.projected.sources.0.serviceAccountToken.expirySeconds',
    ])
    const wrongType = structuredClone(deployment)
    wrongType.body = structuredClone(findDocument(documents, 'k8s/app/init-container.yaml', 'Deployment').body)
    wrongType.body.spec.template.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds = '600'
    expect(validateDocument(wrongType).errors.join()).toMatch(/expirationSeconds must be integer/)

    const externalSecret = structuredClone(findDocument(documents, 'k8s/migration/eso/after.yaml', 'ExternalSecret'))
    externalSecret.body.spec.data[0].remoteRef.propery = 'username'
    expect(validateDocument(externalSecret).errors.join()).toMatch(/propery/)
  })
})

describe('pods that talk to vault-edge', () => {
  const tokenVolumes = withPods.flatMap((doc) =>
    (podSpecOf(doc).volumes ?? [])
      .filter((volume: any) => volume.projected?.sources?.some((source: any) => source.serviceAccountToken))
      .map((volume: any) => ({ doc, volume })),
  )

  it('get a projected token for the broker only: audience vault-edge, 600 s (the kubelet minimum)', () => {
    expect(tokenVolumes.length).toBeGreaterThanOrEqual(5)
    for (const { doc, volume } of tokenVolumes) {
      expect(volume.projected.sources, label(doc)).toEqual([{ serviceAccountToken: { audience: 'vault-edge', expirationSeconds: 600, path: 'token' } }])
    }
  })

  it('mount the token read-only exactly where the scripts and the Node example read it', () => {
    for (const { doc, volume } of tokenVolumes) {
      const mounting = allContainers(podSpecOf(doc)).filter((container) => container.volumeMounts?.some((mount: any) => mount.name === volume.name))
      expect(mounting.length, label(doc)).toBeGreaterThan(0)
      for (const container of mounting) {
        const mount = container.volumeMounts.find((candidate: any) => candidate.name === volume.name)
        expect(mount.readOnly, `${label(doc)} ${container.name}`).toBe(true)
        expect(envOf(container).VAULT_EDGE_TOKEN_FILE, `${label(doc)} ${container.name}`).toBe(`${mount.mountPath}/token`)
        expect(mount.mountPath).toBe('/var/run/secrets/vault-edge')
      }
    }
    expect(script('fetch-secrets.sh')).toContain('${VAULT_EDGE_TOKEN_FILE:-/var/run/secrets/vault-edge/token}')
    // vault-edge-exec.sh fetches through fetch-secrets.sh.
    expect(script('vault-edge-exec.sh')).toContain('exec sh "$FETCH"')
    expect(readFileSync(join(K8S_DIR, 'examples/node-app/vault-edge-client.mjs'), 'utf8')).toContain("DEFAULT_TOKEN_FILE = '/var/run/secrets/vault-edge/token'")
  })

  it('carry no API-server token, except the job that requests tokens from the API server', () => {
    for (const doc of withPods.filter(ours)) {
      const spec = podSpecOf(doc)
      if (doc.name === 'vault-edge-eso-token') expect(spec.automountServiceAccountToken).toBeUndefined()
      else expect(spec.automountServiceAccountToken, label(doc)).toBe(false)
    }
    for (const doc of documents.filter((candidate) => candidate.kind === 'ServiceAccount' && candidate.name !== 'vault-edge-eso-token-refresher')) {
      expect(doc.body.automountServiceAccountToken, label(doc)).toBe(false)
    }
  })

  it('run as non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
    for (const doc of withPods.filter(ours)) {
      const spec = podSpecOf(doc)
      expect(spec.securityContext, label(doc)).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
      for (const container of allContainers(spec)) {
        expect(container.securityContext, `${label(doc)} ${container.name}`).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        })
      }
    }
  })

  it('write secrets only to in-memory volumes', () => {
    let checked = 0
    for (const doc of withPods.filter(ours)) {
      const spec = podSpecOf(doc)
      for (const container of allContainers(spec)) {
        const env = envOf(container)
        const listed = env.VAULT_EDGE_OUTPUTS_FILE === undefined ? [] : outputLines(mountedFile(documents, doc, container, env.VAULT_EDGE_OUTPUTS_FILE)!).map((line) => line.destination)
        for (const path of [env.VAULT_EDGE_OUTPUT, env.VAULT_EDGE_WORK_DIR, ...listed].filter((value): value is string => value !== undefined)) {
          const mount = container.volumeMounts.find((candidate: any) => path === candidate.mountPath || path.startsWith(`${candidate.mountPath}/`))
          const volume = spec.volumes.find((candidate: any) => candidate.name === mount?.name)
          expect(volume?.emptyDir?.medium, `${label(doc)} ${container.name} ${path}`).toBe('Memory')
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8)
  })

  it('source the file the init container writes, from the volume they share', () => {
    const initPods = withPods.filter((doc) => ours(doc) && envOf(podSpecOf(doc).initContainers?.[0] ?? {}).VAULT_EDGE_OUTPUT)
    expect(initPods.length).toBeGreaterThanOrEqual(2)
    for (const doc of initPods) {
      const spec = podSpecOf(doc)
      const [init] = spec.initContainers
      const output = envOf(init).VAULT_EDGE_OUTPUT!
      const dir = output.slice(0, output.lastIndexOf('/'))
      const initMount = init.volumeMounts.find((mount: any) => mount.mountPath === dir)
      const app = spec.containers[0]
      const appMount = app.volumeMounts.find((mount: any) => mount.name === initMount.name)
      expect(appMount, label(doc)).toMatchObject({ mountPath: dir, readOnly: true })
      expect(app.command.slice(0, 3), label(doc)).toEqual(['/bin/sh', '-c', `. ${output} && exec "$@"`])
    }
  })

  it('run the scripts of k8s/scripts byte for byte (the ConfigMaps hold copies)', () => {
    let checked = 0
    for (const doc of withPods) {
      for (const container of allContainers(podSpecOf(doc))) {
        for (const word of container.command ?? []) {
          const match = /^\/opt\/vault-edge\/([a-z-]+\.sh)$/.exec(word)
          if (!match) continue
          const copy = mountedFile(documents, doc, container, word)
          expect(copy, `${label(doc)} ${container.name}: ${word} differs from k8s/scripts/${match[1]}; copy the file into the ConfigMap`).toBe(script(match[1]!))
          checked++
        }
      }
    }
    expect(checked).toBe(6)
  })

  it('run the Node example files byte for byte', () => {
    const doc = findDocument(documents, 'k8s/examples/node-app/deployment.yaml', 'Deployment')
    const container = podSpecOf(doc).containers[0]
    expect(container.command).toEqual(['node', '/app/app.mjs'])
    for (const file of ['app.mjs', 'vault-edge-client.mjs']) {
      expect(mountedFile(documents, doc, container, `/app/${file}`), file).toBe(readFileSync(join(K8S_DIR, 'examples/node-app', file), 'utf8'))
    }
  })

  it('mount only ConfigMaps that exist here (or that Kubernetes creates) and select their own labels', () => {
    for (const doc of withPods) {
      for (const volume of podSpecOf(doc).volumes ?? []) {
        if (!volume.configMap || volume.configMap.name === 'kube-root-ca.crt') continue
        // Scripts are executable (0555 is octal to kubectl, as YAML 1.1 reads it).
        if (volume.configMap.defaultMode !== undefined) expect(volume.configMap.defaultMode, label(doc)).toBe(0o555)
        const exists = documents.some((candidate) => candidate.kind === 'ConfigMap' && candidate.name === volume.configMap.name && candidate.namespace === doc.namespace)
        expect(exists, `${label(doc)} mounts ConfigMap ${volume.configMap.name}`).toBe(true)
      }
      if (doc.kind === 'Deployment') expect(doc.body.spec.template.metadata.labels, label(doc)).toMatchObject(doc.body.spec.selector.matchLabels)
    }
  })
})

describe('the in-cluster broker (k8s/broker/)', () => {
  const file = 'k8s/broker/vault-edge.yaml'
  const deployment = findDocument(documents, file, 'Deployment', 'vault-edge')
  const container = podSpecOf(deployment).containers[0]
  const configMap = findDocument(documents, file, 'ConfigMap', 'vault-edge-config')

  it('gets BROKER_CONFIG from its ConfigMap, and that config is valid', () => {
    const source = container.env.find((env: any) => env.name === 'BROKER_CONFIG').valueFrom.configMapKeyRef
    expect(source).toEqual({ name: 'vault-edge-config', key: 'config.json' })
    const config = parseConfig(configMap.body.data['config.json'])
    expect(config.clusters[0]).toMatchObject({ audiences: ['vault-edge'], jwksUri: 'https://kubernetes.default.svc.cluster.local/openid/v1/jwks', caCert: '/etc/vault-edge/kube-ca/ca.crt' })
    expect(config.rules[0]).toMatchObject({ namespace: 'demo', serviceAccount: 'myapp', role: '{namespace}-{serviceAccount}' })
  })

  it('runs what `npm run start:node` runs, as the Dockerfile does, on 0.0.0.0:8443', () => {
    const startNode = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts['start:node'] as string
    // Less the local .dev.vars that `npm run stack` writes: a pod has BROKER_CONFIG in its env.
    expect(container.command).toEqual(startNode.split(' ').filter((arg) => !arg.startsWith('--env-file-if-exists=')))
    const dockerfile = readFileSync(join(K8S_DIR, 'broker/Dockerfile'), 'utf8')
    expect(JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!)).toEqual(container.command)
    expect(container.workingDir).toBe('/app')
    expect(envOf(container)).toMatchObject({ HOST: '0.0.0.0', PORT: '8443' })
    expect(container.ports).toEqual([{ name: 'https', containerPort: 8443 }])
    expect(dockerfile).toMatch(/^ENV HOST=0\.0\.0\.0 PORT=8443$/m)
  })

  it('takes the cache key and the Upstash credentials from an optional Secret', () => {
    for (const name of ['CACHE_ENCRYPTION_KEY', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN']) {
      const env = container.env.find((candidate: any) => candidate.name === name)
      expect(env.valueFrom.secretKeyRef, name).toEqual({ name: 'vault-edge-secrets', key: name, optional: true })
    }
  })

  it('is ready on /readyz and alive on /healthz over HTTPS, and the Service reaches that port on 443', () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' })
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' })
    const service = findDocument(documents, file, 'Service', 'vault-edge')
    expect(service.body.spec.selector).toEqual(deployment.body.spec.template.metadata.labels)
    expect(service.body.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https' }])
    const policy = findDocument(documents, file, 'NetworkPolicy', 'vault-edge')
    expect(policy.body.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8443 }])
  })

  it('serves the certificate cert-manager issues for the Service names, from a whole-Secret volume it renews', () => {
    const certificate = findDocument(documents, file, 'Certificate', 'vault-edge-tls')
    expect(certificate.body.spec.dnsNames).toContain('vault-edge.vault-edge.svc.cluster.local')
    expect(certificate.body.spec.usages).toContain('server auth')
    const volume = podSpecOf(deployment).volumes.find((candidate: any) => candidate.secret?.secretName === certificate.body.spec.secretName)
    const mount = container.volumeMounts.find((candidate: any) => candidate.name === volume.name)
    // A subPath mount would never see a renewal.
    expect(mount.subPath).toBeUndefined()
    expect(envOf(container)).toMatchObject({ TLS_CERT_FILE: `${mount.mountPath}/tls.crt`, TLS_KEY_FILE: `${mount.mountPath}/tls.key` })
    expect(envOf(container).VAULT_EDGE_ALLOW_HTTP).toBeUndefined()
    // The issuer it names exists here, and signs with the CA certificate made here.
    const issuer = findDocument(documents, file, 'Issuer', certificate.body.spec.issuerRef.name)
    const ca = findDocument(documents, file, 'Certificate', 'vault-edge-ca')
    expect(issuer.body.spec.ca.secretName).toBe(ca.body.spec.secretName)
    expect(ca.body.spec.isCA).toBe(true)
    findDocument(documents, file, 'Issuer', ca.body.spec.issuerRef.name)
  })

  it('trusts the cluster CA from kube-root-ca.crt for the JWKS (clusters[].caCert), without a token', () => {
    const volume = podSpecOf(deployment).volumes.find((candidate: any) => candidate.configMap?.name === 'kube-root-ca.crt')
    const mount = container.volumeMounts.find((candidate: any) => candidate.name === volume.name)
    expect(parseConfig(configMap.body.data['config.json']).clusters[0]!.caCert).toBe(`${mount.mountPath}/ca.crt`)
  })
})

describe('RBAC', () => {
  it('lets anonymous callers read the issuer discovery documents and nothing else', () => {
    const binding = findDocument(documents, 'k8s/rbac/service-account-issuer-discovery.yaml', 'ClusterRoleBinding')
    expect(binding.body.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' })
    expect(binding.body.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }])
  })

  it('lets the ESO token refresher mint tokens for one ServiceAccount and patch one Secret', () => {
    const role = findDocument(documents, 'k8s/migration/eso/token-refresher.yaml', 'Role')
    expect(role.body.rules).toEqual([
      { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['vault-edge-eso'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['vault-edge-eso-token'], verbs: ['patch'] },
    ])
    const cronJob = findDocument(documents, 'k8s/migration/eso/token-refresher.yaml', 'CronJob')
    const spec = podSpecOf(cronJob)
    const binding = findDocument(documents, 'k8s/migration/eso/token-refresher.yaml', 'RoleBinding')
    expect(binding.body.subjects).toEqual([{ kind: 'ServiceAccount', name: spec.serviceAccountName, namespace: 'external-secrets' }])
    expect(envOf(spec.containers[0])).toMatchObject({ TOKEN_SERVICE_ACCOUNT: 'vault-edge-eso', TOKEN_SECRET: 'vault-edge-eso-token', TOKEN_AUDIENCE: 'vault-edge', TOKEN_EXPIRATION_SECONDS: '86400' })
  })
})

describe('the seed scenarios and their vault-edge equivalents (k8s/migration/)', () => {
  it('Agent Injector: the template moves unchanged into a ConfigMap, the app command stays', () => {
    const before = findDocument(documents, 'k8s/migration/agent-injector/before.yaml', 'Deployment')
    const annotations = before.body.spec.template.metadata.annotations
    for (const key of Object.keys(annotations)) {
      expect(key).toMatch(/^vault\.hashicorp\.com\/(agent-inject|role|agent-pre-populate-only|agent-inject-secret-[a-z0-9-]+|agent-inject-template-[a-z0-9-]+)$/)
    }
    const templates = findDocument(documents, 'k8s/migration/agent-injector/after.yaml', 'ConfigMap')
    expect(templates.body.data['config.ctmpl']).toBe(annotations['vault.hashicorp.com/agent-inject-template-config'])
    expect(annotations['vault.hashicorp.com/agent-inject-template-config']).toBe(
      '{{- with secret "secret/data/myapp/config" -}}\nexport DB_USER="{{ .Data.data.username }}"\nexport DB_PASSWORD="{{ .Data.data.password }}"\n{{- end -}}\n',
    )
    const after = findDocument(documents, 'k8s/migration/agent-injector/after.yaml', 'Deployment')
    expect(podSpecOf(after).containers[0].command).toEqual(podSpecOf(before).containers[0].command)
    const init = podSpecOf(after).initContainers[0]
    expect(envOf(init)).toMatchObject({ VAULT_EDGE_OUTPUT: '/vault/secrets/config' }) // the injector's file name
    expect(mountedFile(documents, after, init, envOf(init).VAULT_EDGE_TEMPLATE_FILE!)).toBe(templates.body.data['config.ctmpl'])
  })

  it('CSI: one output per SecretProviderClass object, at the file the CSI volume had, with its mode', () => {
    const spc = findDocument(documents, 'k8s/migration/csi/before.yaml', 'SecretProviderClass')
    const parameters = vaultCsiParameters.parse(spc.body.spec.parameters)
    const objects = vaultCsiObjects.parse(parseYaml(parameters.objects))
    const before = findDocument(documents, 'k8s/migration/csi/before.yaml', 'Deployment')
    const csiMount = podSpecOf(before).containers[0].volumeMounts[0].mountPath
    const after = findDocument(documents, 'k8s/migration/csi/after.yaml', 'Deployment')
    const init = podSpecOf(after).initContainers[0]
    const outputs = outputLines(mountedFile(documents, after, init, envOf(init).VAULT_EDGE_OUTPUTS_FILE!)!)
    expect(outputs).toEqual(
      objects.map((object) => ({
        source: object.secretPath,
        destination: `${csiMount}/${object.objectName}`,
        // The Vault provider's default filePermission is 0644.
        options: { format: 'raw', key: object.secretKey, mode: `0${(object.filePermission ?? 0o644).toString(8)}` },
      })),
    )
    // The app reads them where it did, from the volume the init container fills.
    const app = podSpecOf(after).containers[0]
    expect(app.command).toBeUndefined()
    expect(app.volumeMounts).toEqual([{ name: 'secrets-store', mountPath: csiMount, readOnly: true }])
  })

  it('Agent Injector with two files: the same templates, files, modes, and the SIGHUP its command sent', () => {
    const before = findDocument(documents, 'k8s/migration/agent-injector-files/before.yaml', 'Deployment')
    const annotations = before.body.spec.template.metadata.annotations
    const after = findDocument(documents, 'k8s/migration/agent-injector-files/after.yaml', 'Deployment')
    const app = podSpecOf(after).containers[0]
    const env = envOf(app)
    const outputs = outputLines(mountedFile(documents, after, app, env.VAULT_EDGE_OUTPUTS_FILE!)!)
    const names = Object.keys(annotations).flatMap((key) => /^vault\.hashicorp\.com\/agent-inject-secret-(.+)$/.exec(key)?.slice(1) ?? [])
    expect(names).toEqual(['db', 'api-key'])
    expect(outputs.map((output) => output.destination)).toEqual(names.map((name) => `/vault/secrets/${name}`))
    names.forEach((name, index) => {
      const output = outputs[index]!
      expect(output.source).toMatch(/^template:/)
      expect(mountedFile(documents, after, app, output.source.slice('template:'.length)), name).toBe(annotations[`vault.hashicorp.com/agent-inject-template-${name}`])
      expect(output.options, name).toEqual({ mode: annotations[`vault.hashicorp.com/agent-inject-perms-${name}`] })
      expect(annotations[`vault.hashicorp.com/agent-inject-command-${name}`]).toContain('kill -HUP')
    })
    expect(env).toMatchObject({ VAULT_EDGE_ON_CHANGE: 'signal', VAULT_EDGE_RELOAD_SIGNAL: 'HUP' })
    expect(Number(env.VAULT_EDGE_REFRESH_SECONDS)).toBeGreaterThan(0)
    expect(app.command.slice(0, 2)).toEqual(['/bin/sh', '/opt/vault-edge/vault-edge-exec.sh'])
    expect(app.command.slice(2)).toEqual(podSpecOf(before).containers[0].command)
    expect(podSpecOf(after).shareProcessNamespace).toBeUndefined()
  })

  it('ESO: the ExternalSecret keeps its data mapping; only the store it names changes', () => {
    const before = findDocument(documents, 'k8s/migration/eso/before.yaml', 'ExternalSecret')
    const after = findDocument(documents, 'k8s/migration/eso/after.yaml', 'ExternalSecret')
    expect(after.body.spec.data).toEqual(before.body.spec.data)
    expect(after.body.spec.secretStoreRef).toEqual({ kind: 'ClusterSecretStore', name: 'vault-edge' })
  })

  it('ESO: the webhook store reads the same KV v2 mount through the broker with one JSONPath per property', () => {
    const vault = findDocument(documents, 'k8s/migration/eso/before.yaml', 'ClusterSecretStore').body.spec.provider.vault
    const webhook = findDocument(documents, 'k8s/migration/eso/after.yaml', 'ClusterSecretStore').body.spec.provider.webhook
    expect(vault).toMatchObject({ path: 'secret', version: 'v2' })
    expect(webhook.url).toMatch(/^https:\/\/vault-edge\.vault-edge\.svc\.cluster\.local\/v1\/secrets\/secret\/data\/\{\{ \.remoteRef\.key \}\}\?format=json$/)
    expect(webhook.result).toEqual({ jsonPath: '$.{{ .remoteRef.property }}' })
    expect(webhook.headers.Authorization).toBe('Bearer {{ .auth.token }}')
    expect(webhook.secrets).toEqual([{ name: 'auth', secretRef: { name: 'vault-edge-eso-token', namespace: 'external-secrets' } }])
    const tokenSecret = findDocument(documents, 'k8s/migration/eso/after.yaml', 'Secret', 'vault-edge-eso-token')
    expect(tokenSecret.body.metadata).toMatchObject({ namespace: 'external-secrets', labels: { 'external-secrets.io/type': 'webhook' } })
    findDocument(documents, 'k8s/migration/eso/after.yaml', 'ServiceAccount', 'vault-edge-eso')
  })
})
