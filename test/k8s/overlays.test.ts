// The sets users apply with one command, `kubectl apply -k k8s/overlays/NAME`: each renders with
// `kubectl kustomize` (the kustomize inside kubectl), every rendered document validates, every
// container has resources, every namespace used is created by the same set, and every manifest
// under k8s/ (but the before.yaml files, which need the tools they replace) is in some set.
import { describe, expect, it } from 'vitest'
import { allContainers, loadDocuments, overlayNames, podSpecOf, renderOverlay, validateDocument, type K8sDocument } from './k8s-manifests.ts'

const overlays = overlayNames()
const rendered = new Map(overlays.map((name) => [name, renderOverlay(name)]))
const id = (doc: K8sDocument) => `${doc.kind} ${doc.namespace ?? '(cluster)'}/${doc.name}`

describe('k8s/overlays', () => {
  it('has one overlay per way of running', () => {
    expect(overlays).toEqual(['agent-injector', 'agent-injector-files', 'broker', 'csi', 'eso', 'exec-wrapper', 'init-container', 'kubernetes-auth', 'node-app'])
  })

  describe.each(overlays)('%s', (name) => {
    const documents = rendered.get(name)!

    it('renders, and every document validates with no unknown field', () => {
      expect(documents.length).toBeGreaterThan(0)
      for (const doc of documents) expect(validateDocument(doc).errors, id(doc)).toEqual([])
    })

    it('creates every namespace it puts something in', () => {
      const created = new Set(documents.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.name))
      const used = new Set(documents.map((doc) => doc.namespace).filter((namespace) => namespace !== undefined))
      expect([...used].filter((namespace) => !created.has(namespace))).toEqual([])
    })

    it('gives every container CPU and memory requests and a memory limit', () => {
      for (const doc of documents.filter((candidate) => podSpecOf(candidate) !== undefined)) {
        for (const container of allContainers(podSpecOf(doc))) {
          expect(container.resources?.requests, `${id(doc)} container ${container.name}`).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
          expect(container.resources?.limits?.memory, `${id(doc)} container ${container.name}`).toEqual(expect.any(String))
        }
      }
    })
  })

  it('creates the namespaces demo and external-secrets where they are used', () => {
    const namespaces = (name: string) => rendered.get(name)!.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.name).sort()
    expect(namespaces('init-container')).toEqual(['demo'])
    expect(namespaces('eso')).toEqual(['demo', 'external-secrets'])
    expect(namespaces('broker')).toEqual(['vault-edge'])
  })

  it('spreads the broker replicas over nodes and zones', () => {
    const broker = rendered.get('broker')!.find((doc) => doc.kind === 'Deployment' && doc.name === 'vault-edge')!
    expect(broker.body.spec.replicas).toBeGreaterThan(1)
    const spread = podSpecOf(broker).topologySpreadConstraints
    expect(spread.map((constraint: any) => constraint.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone'])
    for (const constraint of spread) expect(constraint.labelSelector.matchLabels).toEqual(broker.body.spec.selector.matchLabels)
  })

  it('puts each app Deployment in the set named after it, and no other', () => {
    const deployments = (name: string) => rendered.get(name)!.filter((doc) => doc.kind === 'Deployment').map((doc) => doc.name)
    expect(deployments('init-container')).toEqual(['myapp'])
    expect(deployments('exec-wrapper')).toEqual(['myapp-exec'])
    expect(deployments('node-app')).toEqual(['myapp-node'])
  })

  it('covers every manifest under k8s/ but the before.yaml files', () => {
    const inSomeSet = new Set([...rendered.values()].flat().map(id))
    const manifests = loadDocuments().filter((doc) => !doc.file.endsWith('before.yaml'))
    expect(manifests.map(id).filter((manifest) => !inSomeSet.has(manifest))).toEqual([])
  })
})
