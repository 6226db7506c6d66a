// routes/answer.ts: the If-None-Match decision it makes in place of Hono's etag middleware, held
// to that middleware's answers, and the header record the audit trail reads instead of a
// Headers object.
import fc from 'fast-check'
import { Hono } from 'hono'
import { etag } from 'hono/etag'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from '../../src/app-env.ts'
import { answer, headerOf, ifNoneMatchMatches, isAnswer } from '../../src/routes/answer.ts'

/** Hono's etag middleware in front of a route that answers with `tag`: does it answer 304? */
async function honoAnswers304(tag: string, ifNoneMatch: string): Promise<boolean> {
  const app = new Hono().use(etag()).get('/', (c) => c.body('x', 200, { ETag: tag }))
  return (await app.request('/', { headers: { 'If-None-Match': ifNoneMatch } })).status === 304
}

const tagText = fc.stringMatching(/^[0-9a-f"W/ ,*\t\u00a0]{0,12}$/)
const entityTag = fc.tuple(fc.boolean(), fc.stringMatching(/^[0-9a-f]{0,6}$/)).map(([weak, opaque]) => `${weak ? 'W/' : ''}"${opaque}"`)

describe('ifNoneMatchMatches', () => {
  it('decides as Hono\'s etag middleware does, for lists, weak tags, `*` and garbage', async () => {
    const header = fc.oneof(tagText, fc.array(entityTag, { maxLength: 3 }).map((tags) => tags.join(', ')), fc.constant('*'))
    await fc.assert(
      fc.asyncProperty(entityTag, header, async (tag, ifNoneMatch) => {
        expect(ifNoneMatchMatches(ifNoneMatch, tag)).toBe(await honoAnswers304(tag, ifNoneMatch))
      }),
      { numRuns: 400 },
    )
  })

  it('matches under weak comparison and never without the header', () => {
    // Found by the property above: Headers trims the value, so ` *` is `*`.
    expect(ifNoneMatchMatches(' *\t', '"a"')).toBe(true)
    expect(ifNoneMatchMatches('"a", W/"b"', '"b"')).toBe(true)
    expect(ifNoneMatchMatches('"a"', 'W/"a"')).toBe(true)
    expect(ifNoneMatchMatches('"ab"', '"a"')).toBe(false)
    expect(ifNoneMatchMatches(undefined, '"a"')).toBe(false)
  })
})

describe('answer and headerOf', () => {
  const app = new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set('requestId', 'req-1')
      await next()
    })
    .get('/answer', (c) => answer(c, 'body', 200, { 'X-Cache': 'hit', 'Content-Type': 'text/plain' }))
    .get('/plain', (c) => c.text('body', 200, { 'X-Cache': 'miss' }))

  it('adds the common headers and reads back from its record, case-insensitively', async () => {
    const response = await app.request('/answer')
    expect(isAnswer(response)).toBe(true)
    expect(headerOf(response, 'x-cache')).toBe('hit')
    expect(headerOf(response, 'X-Request-Id')).toBe('req-1')
    expect(headerOf(response, 'ETag')).toBeNull()
    expect(Object.fromEntries(response.headers)).toEqual({
      'x-cache': 'hit',
      'content-type': 'text/plain',
      'x-request-id': 'req-1',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
  })

  it('reads any other response from its headers', async () => {
    const response = await app.request('/plain')
    expect(isAnswer(response)).toBe(false)
    expect(headerOf(response, 'X-Cache')).toBe('miss')
  })
})
