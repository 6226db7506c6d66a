// The Node entry's log output (src/logger.ts createBatchedOutput): lines are written in batches
// for speed, and every line must still come out once, whole and in order, also at exit.
import { describe, expect, it } from 'vitest'
import { createBatchedOutput, createConsoleLogger } from '../src/logger.ts'

function recordingOutput() {
  const writes: { stream: string; text: string }[] = []
  let atExit: () => void = () => {}
  const output = createBatchedOutput(
    {
      out: (text) => writes.push({ stream: 'out', text }),
      err: (text) => writes.push({ stream: 'err', text }),
      flushAtExit: (fd, text) => writes.push({ stream: `exit ${fd}`, text }),
    },
    (flush) => (atExit = flush),
    (flush) => process.nextTick(flush),
  )
  return { writes, output, exit: () => atExit() }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('batched log output', () => {
  it('writes the lines logged together in one write per stream, each once and in order', async () => {
    const { writes, output } = recordingOutput()
    const log = createConsoleLogger('info', output)
    for (let n = 0; n < 100; n++) log.log('info', 'audit', { n })
    log.log('warn', 'odd', { n: 'w' })
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes.map((write) => write.stream)).toEqual(['out', 'err'])
    const lines = writes[0]!.text.split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((line) => JSON.parse(line).n)).toEqual([...Array(100).keys()])
    expect(JSON.parse(writes[1]!.text)).toEqual({ level: 'warn', msg: 'odd', n: 'w' })
    log.log('info', 'later')
    await nextTurn()
    expect(writes.map((write) => write.stream)).toEqual(['out', 'err', 'out'])
  })

  it('writes what is pending at once on flush() (before an answer is sent), and nothing twice', async () => {
    const { writes, output } = recordingOutput()
    const log = createConsoleLogger('info', output)
    log.log('info', 'request refused')
    log.log('info', 'audit')
    output.flush()
    expect(writes).toEqual([{ stream: 'out', text: '{"level":"info","msg":"request refused"}\n{"level":"info","msg":"audit"}\n' }])
    await nextTurn()
    expect(writes).toHaveLength(1)
  })

  it('lets answers wait for their lines: written() resolves after one write holding every line logged in the turn', async () => {
    const { writes, output } = recordingOutput()
    const log = createConsoleLogger('info', output)
    expect(output.written()).toBeUndefined()
    const answered: string[] = []
    const answer = async (name: string) => {
      log.log('info', 'audit', { name })
      await output.written()
      answered.push(`${name} after ${writes.length} write(s)`)
    }
    await Promise.all([answer('a'), answer('b'), answer('c')])
    expect(answered).toEqual(['a after 1 write(s)', 'b after 1 write(s)', 'c after 1 write(s)'])
    expect(writes).toHaveLength(1)
    expect(writes[0]!.text.trim().split('\n').map((line) => JSON.parse(line).name)).toEqual(['a', 'b', 'c'])
    expect(output.written()).toBeUndefined()
    await answer('d')
    expect(writes).toHaveLength(2)
  })

  it('writes what is pending synchronously at exit, and nothing twice', async () => {
    const { writes, output, exit } = recordingOutput()
    const log = createConsoleLogger('info', output)
    log.log('info', 'last words')
    log.log('error', 'failure')
    exit()
    expect(writes).toEqual([
      { stream: 'exit 1', text: '{"level":"info","msg":"last words"}\n' },
      { stream: 'exit 2', text: '{"level":"error","msg":"failure"}\n' },
    ])
    await nextTurn()
    expect(writes).toHaveLength(2)
  })

  it('still redacts token-shaped text', async () => {
    const { writes, output } = recordingOutput()
    createConsoleLogger('info', output).log('info', 'x', { reason: 'eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl' })
    await nextTurn()
    expect(writes[0]!.text).not.toContain('eyJ')
  })
})

describe('log lines', () => {
  const lineOf = (message: string, fields?: Record<string, unknown>) => {
    const lines: string[] = []
    createConsoleLogger('info', { out: (line) => lines.push(line), err: (line) => lines.push(line) }).log('info', message, fields)
    return lines[0]!
  }

  it.each<[string, Record<string, unknown> | undefined]>([
    ['plain', undefined],
    ['empty', {}],
    ['undefined only', { a: undefined }],
    ['audit-like', { type: 'audit', requestId: 'r', path: ['secret/data/a'], status: 200, reads: [{ path: 'p', cache: 'hit' }], pod: undefined }],
    ['quotes "and" \\ newlines\n', { reason: 'a "quoted"\nline', n: 0, nested: { x: [1, null, true] } }],
    ['names level and msg', { level: 'overridden', msg: 'also', other: 1 }],
  ])('reads as JSON.stringify({ level, msg, ...fields }) (%s)', (message, fields) => {
    expect(lineOf(message, fields)).toBe(JSON.stringify(fields ? { level: 'info', msg: message, ...fields } : { level: 'info', msg: message }))
  })
})
