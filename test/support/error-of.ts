import { AppError } from '../../src/errors.ts'

/** The AppError that `run` throws; fails the test when it returns or throws anything else. */
export function errorOf(run: () => unknown): AppError {
  try {
    run()
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected an AppError')
}
