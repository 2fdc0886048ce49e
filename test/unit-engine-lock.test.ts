// One background engine per state directory: the lock file names the engine's pid from the moment
// it exists (a lock read empty was once taken for a dead engine's, and two engines ran).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lockPath, releaseEngineLock, runningEngine, takeEngineLock } from '../src/client/background.js';
import { tempDir } from './support/cli.js';

const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const holder = (dir: string) => readFileSync(lockPath(dir), 'utf8');

describe('the engine lock', () => {
  it('is taken with this pid in it, by this process again, and released', () => {
    const dir = tempDir();
    expect(takeEngineLock(dir)).toBe(true);
    expect(holder(dir)).toBe(`${process.pid}\n`);
    expect(runningEngine(dir)).toBe(process.pid);
    expect(takeEngineLock(dir)).toBe(true);
    releaseEngineLock(dir);
    expect(runningEngine(dir)).toBeNull();
    // Nothing is left beside it (the file it was written in first, a stale lock moved aside).
    expect(readdirSync(dir).filter((f) => f.startsWith('engine.lock'))).toEqual([]);
  });

  it('is refused while another live process holds it, and left as it was', () => {
    const dir = tempDir();
    writeFileSync(lockPath(dir), `${process.ppid}\n`);
    expect(takeEngineLock(dir)).toBe(false);
    expect(holder(dir)).toBe(`${process.ppid}\n`);
    releaseEngineLock(dir);
    expect(holder(dir)).toBe(`${process.ppid}\n`);
  });

  it.each([
    ['a dead engine', () => `${deadPid()}\n`],
    ['nobody (empty, as an engine killed while writing it left it)', () => ''],
  ])('left by %s is taken over', (_by, content) => {
    const dir = tempDir();
    writeFileSync(lockPath(dir), content());
    expect(runningEngine(dir)).toBeNull();
    expect(takeEngineLock(dir)).toBe(true);
    expect(holder(dir)).toBe(`${process.pid}\n`);
    expect(readdirSync(dir).filter((f) => f.startsWith('engine.lock'))).toEqual(['engine.lock']);
  });
});
