import { describe, expect, it } from 'vitest';
import { labelsFromCsv, labelsFromFolders } from './imageLabels.js';

describe('labelsFromFolders', () => {
  it('numbers class folders in sorted order and keeps their names', () => {
    const r = labelsFromFolders(['set/truck/1.png', 'set/airplane/2.png', 'set/cat/3.png', 'set/airplane/4.png']);
    expect(r).toEqual({ labels: [2, 0, 1, 0], classNames: ['airplane', 'cat', 'truck'], source: 'folders' });
  });

  it('reads whole-number folder names as class indices', () => {
    expect(labelsFromFolders(['3/a.png', '10/b.png', '3/c.png']).labels).toEqual([3, 10, 3]);
  });

  it('gives no labels for a flat folder, one class only, or mixed depths', () => {
    expect(labelsFromFolders(['a.png', 'b.png']).source).toBe('none');
    expect(labelsFromFolders(['root/a.png', 'root/b.png']).source).toBe('none');
    expect(labelsFromFolders(['x/cat/a.png', 'x/dog/b.png', 'x/c.png']).source).toBe('none');
  });
});

describe('labelsFromCsv', () => {
  it('matches files by base name, skips a header, leaves unnamed files unlabelled', () => {
    const r = labelsFromCsv(['imgs/a.png', 'imgs/b.png', 'imgs/c.png'], 'file,label\na.png,3\n"b.png", 7\n');
    expect(r).toEqual({ labels: [3, 7, null], source: 'csv' });
  });

  it('refuses labels that are not class indices and files it cannot match', () => {
    expect(() => labelsFromCsv(['a.png'], 'file,label\na.png,cat')).toThrow(/not a class index/);
    expect(() => labelsFromCsv(['a.png'], 'zzz.png,1')).toThrow(/No image/);
    expect(() => labelsFromCsv(['a.png'], 'a.png')).toThrow(/no comma/);
  });
});
