import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalQuantError } from './errors.js';
import { toUserError } from './toUserError.js';

describe('toUserError', () => {
  it('keeps LocalQuantErrors, also ones that lost their class crossing a worker boundary', () => {
    const own = new LocalQuantError('BAD_CONFIG', 'seed must be an integer', 'use 0');
    expect(toUserError(own)).toEqual({ error: own });
    const plain = { name: 'LocalQuantError', code: 'TRUNCATED', message: 'cut short', hint: 'download again' };
    const r = toUserError(plain);
    expect(r.error).toBeInstanceOf(LocalQuantError);
    expect(r.error.toJSON()).toEqual({ code: 'TRUNCATED', message: 'cut short', hint: 'download again' });
  });

  it('names the path and the reason of a file-system error', () => {
    let thrown: unknown;
    try {
      readFileSync('/no/such/dir/model.onnx');
    } catch (e) {
      thrown = e;
    }
    const { error, detail } = toUserError(thrown);
    expect(error.code).toBe('MISSING_FILE');
    expect(error.message).toBe("Cannot access '/no/such/dir/model.onnx': no such file or folder.");
    expect(detail).toMatch(/ENOENT/);
  });

  it('gives unexpected errors a generic typed message and keeps the JS text out of it', () => {
    const { error, detail } = toUserError(new TypeError("Cannot read properties of undefined (reading 'dims')"));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).not.toMatch(/undefined|dims/);
    expect(detail).toBe("TypeError: Cannot read properties of undefined (reading 'dims')");
    expect(toUserError(new RangeError('Array buffer allocation failed')).error.code).toBe('TOO_LARGE');
    expect(toUserError('a string').error.code).toBe('INTERNAL');
  });
});
