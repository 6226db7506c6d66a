import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { mapEnvNames, toEnvName } from '../../src/render/env-names.ts'
import { errorOf } from '../support/error-of.ts'

describe('env names', () => {
  it.each([
    ['username', '', 'USERNAME'],
    ['db-password', '', 'DB_PASSWORD'],
    ['api.key', '', 'API_KEY'],
    ['Mixed_Case9', '', 'MIXED_CASE9'],
    ['2fa-secret', '', '_2FA_SECRET'],
    ['crème', '', 'CR_ME'],
    ['🔑key', '', '_KEY'],
    ['with space', '', 'WITH_SPACE'],
    ['password', 'app_', 'APP_PASSWORD'],
    ['password', 'my-app.', 'MY_APP_PASSWORD'],
    ['x', '1st_', '_1ST_X'],
    ['', 'only_prefix', 'ONLY_PREFIX'],
  ])('maps %j with prefix %j to %s', (key, prefix, name) => {
    expect(toEnvName(key, prefix)).toBe(name)
  })

  it('refuses two keys that map to one name, naming both and the name', () => {
    const error = errorOf(() => mapEnvNames(['db-user', 'ok', 'db_user']))
    expect(error).toMatchObject({ status: 400, code: 'env_name_collision' })
    expect(error.detail).toContain('"db-user", "db_user" both map to DB_USER')
  })

  it('names every colliding group', () => {
    const error = errorOf(() => mapEnvNames(['a.b', 'a-b', 'A_B', 'x y', 'x_y']))
    expect(error.detail).toContain('"a.b", "a-b", "A_B" all map to A_B')
    expect(error.detail).toContain('"x y", "x_y" both map to X_Y')
  })

  it('refuses a key that maps to nothing', () => {
    const error = errorOf(() => mapEnvNames(['ok', '']))
    expect(error).toMatchObject({ status: 400, code: 'env_name_invalid' })
    expect(error.detail).toContain('""')
  })

  it('always gives a POSIX name, and mapping a name again changes nothing (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 8 }), (key, prefix) => {
        const name = toEnvName(key, prefix)
        if (key + prefix === '') {
          expect(name).toBe('')
        } else {
          expect(name).toMatch(/^[A-Z_][A-Z0-9_]*$/)
          expect(toEnvName(name)).toBe(name)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('either maps every key to a distinct name or throws an AppError naming the problem (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: fc.constantFrom('a', 'A', '-', '_', '.', '1', 'é') , maxLength: 3 }), { maxLength: 8 }), (keys) => {
        let names: Map<string, string>
        try {
          names = mapEnvNames(keys)
        } catch (error) {
          expect(error).toBeInstanceOf(AppError)
          expect(['env_name_collision', 'env_name_invalid']).toContain((error as AppError).code)
          return
        }
        expect([...names.keys()]).toEqual(keys)
        expect(new Set(names.values()).size).toBe(keys.length)
      }),
      { numRuns: 500 },
    )
  })
})
