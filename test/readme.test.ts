// The README is what a new user copies from: its sample configuration must pass the real schema,
// and nothing in the repository may point outside it (a clone has nothing beside it).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config.ts'

const readme = readFileSync('README.md', 'utf8')

function firstBlockAfter(heading: string, language: string): string {
  const section = readme.split(`\n${heading}\n`)[1]
  expect(section, `README has no "${heading}" section`).toBeDefined()
  const block = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section!)?.[1]
  expect(block, `no \`\`\`${language} block under "${heading}"`).toBeDefined()
  return block!
}

describe('README', () => {
  it('shows a configuration that the schema accepts, with underscore role names', () => {
    const config = parseConfig(firstBlockAfter('## Configuration', 'json'))
    expect(config.clusters[0]!.name).toBe('prod-eu')
    for (const rule of config.rules) for (const role of [rule.role, ...rule.roles]) expect(role).not.toMatch(/}-|-{/)
  })

  it('lists exactly two commands under "Two commands"', () => {
    const commands = firstBlockAfter('## Two commands', 'sh').split('\n').filter((line) => line.trim() !== '')
    expect(commands.map((line) => line.replace(/\s+#.*$/, ''))).toEqual(['npm run demo', 'npm test'])
  })

  it('keeps the token out of curl\'s argv and writes with umask 077 in the pod example', () => {
    const pod = firstBlockAfter('## Calling it from a pod', 'sh')
    expect(pod).toMatch(/^umask 077/m)
    expect(pod).toContain('-H @-')
    expect(pod).not.toMatch(/-H "Authorization: Bearer \$/)
  })

  it('ships a .dev.vars.example whose BROKER_CONFIG the schema accepts, as dotenv reads it', () => {
    const value = /^BROKER_CONFIG='(.*)'$/m.exec(readFileSync('.dev.vars.example', 'utf8'))?.[1]
    expect(parseConfig(value).rules[0]!.role).toBe('demo_myapp')
  })

  it('links the contract inside the repository', () => {
    expect(readme).toContain('](docs/SPEC.md)')
  })
})

describe('the repository stands alone', () => {
  it('has no tracked file that reads or links a path outside it', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter((file) => file !== '' && file !== 'test/readme.test.ts')
    const offenders = tracked.filter((file) => {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch {
        return false // a file deleted in the working tree
      }
      return /\.\.\/shared\/|\/work\/(shared|main|wt-)/.test(text)
    })
    expect(offenders).toEqual([])
  })
})
