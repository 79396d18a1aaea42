import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYaml } from '../../src/manifest/yaml.js';
import { runCli } from '../helpers/cli.js';
import { checkDocuments } from './check-manifest.js';
import { GENERATED_EXAMPLES } from './examples.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const yamlFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

/** The intro as YAML comment lines, then what `manifest` prints. */
async function render(intro: string, argv: readonly string[]): Promise<string> {
  const r = await runCli([...argv]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  // toYaml of a bare comment document gives '# …\nnull\n'; keep only the comment lines.
  const comment = toYaml(null, { '': intro }).replace(/null\n$/, '');
  return `${comment}#\n${r.stdout}`;
}

describe('examples/', () => {
  it('has the seed, PyTorch DDP, MPI and JAX examples', () => {
    expect(yamlFiles.sort()).toEqual([
      'jax.yaml',
      'mpi.yaml',
      'pytorch-ddp-sidecar.yaml',
      'pytorch-ddp.yaml',
      'seed-job-with-agent.yaml',
    ]);
  });

  for (const file of yamlFiles) {
    it(`${file} validates against the Kubernetes schemas and pairs each Indexed Job with its Service`, () => {
      const docs = parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map((d) => {
        expect(d.errors).toEqual([]);
        return d.toJS() as Record<string, unknown>;
      });
      checkDocuments(docs);
    });
  }

  for (const ex of GENERATED_EXAMPLES) {
    it(`${ex.file} is exactly what manifest writes for its command line`, async () => {
      const expected = await render(ex.intro, ex.argv);
      const path = join(EXAMPLES, ex.file);
      if (process.env.UPDATE_EXAMPLES === '1') writeFileSync(path, expected);
      expect(readFileSync(path, 'utf8')).toBe(expected);
    });
  }
});
