/** Awaits a promise that must reject with an InputError, and returns the error for its message. */
import { expect } from 'vitest';
import { InputError } from '../src/errors.ts';

export async function inputError(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}
