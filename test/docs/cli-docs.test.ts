import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { renderCliDocs } from '../../scripts/gen-cli-docs.mjs';

describe('docs/cli.md', () => {
  it('is exactly what every command prints for --help (regenerate with npm run docs:cli)', () => {
    const committed = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    const generated = (renderCliDocs as () => string)();
    expect(generated).toContain('## peer-rendezvous wait');
    expect(committed).toBe(generated);
  });
});
