import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN_SCRIPT, selfCommand } from '../../src/self-command.js';

describe('selfCommand', () => {
  it('is the executable alone inside the single executable', () => {
    expect(
      selfCommand({ isSea: () => true, execPath: '/opt/x/peer-rendezvous', binScript: '/b.js' }),
    ).toEqual({
      file: '/opt/x/peer-rendezvous',
      args: [],
    });
  });

  it('is node plus bin/peer-rendezvous.js under Node, and that command runs the CLI', () => {
    const self = selfCommand();
    expect(self).toEqual({ file: process.execPath, args: [BIN_SCRIPT] });
    expect(existsSync(BIN_SCRIPT)).toBe(true);
    const r = spawnSync(self.file, [...self.args, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
