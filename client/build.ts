// npm run build:client: client/vault-edge-client.ts with its types removed, as the plain ES
// module apps copy (k8s/examples/node-app/vault-edge-client.mjs). TypeScript's transpiler keeps
// the comments and the layout, so the copy reads like the source; test/client checks that the
// committed copy is what this builds.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

export const CLIENT_SOURCE = fileURLToPath(new URL('./vault-edge-client.ts', import.meta.url))
export const CLIENT_BUILD = fileURLToPath(new URL('../k8s/examples/node-app/vault-edge-client.mjs', import.meta.url))

const HEADER = '// Built from client/vault-edge-client.ts by `npm run build:client`: change that file, not this one.\n'

export function buildClient(): string {
  const { outputText } = ts.transpileModule(readFileSync(CLIENT_SOURCE, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
  })
  return HEADER + outputText
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CLIENT_BUILD, buildClient())
  console.log(`wrote ${CLIENT_BUILD}`)
}
