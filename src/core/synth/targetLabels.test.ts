import { describe, expect, it } from 'vitest';
import { targetClassLabel, targetLabels } from './targetLabels.js';

describe('captions of class-conditional images', () => {
  it('names the class when the model does, else gives its index', () => {
    expect(targetClassLabel({ index: 3 })).toBe('class 3');
    expect(targetClassLabel({ index: 3, name: 'cat' })).toBe('cat');
  });

  it('labels every image of a report record, up to a limit; none without class-conditional synthesis', () => {
    expect(targetLabels({ targets: [0, 1, 2, 0], names: ['airplane', 'automobile', 'bird'] }, 3)).toEqual(['airplane', 'automobile', 'bird']);
    expect(targetLabels({ targets: [1, 0] })).toEqual(['class 1', 'class 0']);
    expect(targetLabels(undefined)).toBeUndefined();
  });
});
