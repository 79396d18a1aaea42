import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { normalizeExportOptions } from '../../src/exec/export-options.js';
import { buildExports } from '../../src/exec/exports.js';
import { fakeMesh } from './mesh-fixture.js';

const H = (i: number) => `train-${i}.workers.default.svc.cluster.local`;
const DIR = '/run/rdv';
const ctx = { env: {}, dir: DIR };
const opts = (raw: Parameters<typeof normalizeExportOptions>[0] = {}) => normalizeExportOptions(raw);

const GENERIC_POD1 = {
  PEER_INDEX: '1',
  PEER_COUNT: '3',
  PEER_HOSTS: `${H(0)},${H(1)},${H(2)}`,
  PEER_COORDINATOR: H(0),
  PEER_ROSTER_FILE: '/run/rdv/roster.json',
};

describe('buildExports: the generic set', () => {
  it('is always there, hosts without the trailing dot, in index order', () => {
    const x = buildExports(fakeMesh(1), ctx, opts());
    expect(Object.entries(x.env)).toEqual(Object.entries(GENERIC_POD1));
    expect(x.overridden).toEqual([]);
  });

  it('writes the roster as pretty JSON with fqdn, host, addresses and generation', () => {
    const x = buildExports(fakeMesh(1), ctx, opts());
    expect(x.files.map((f) => f.path)).toEqual(['/run/rdv/roster.json']);
    const peer = (i: number) =>
      `    {\n      "index": ${i},\n      "fqdn": "${H(i)}.",\n      "host": "${H(i)}",\n      "addresses": [\n        "10.244.0.${10 + i}"\n      ]\n    }`;
    expect(x.files[0]!.content).toBe(
      `{\n  "generation": "g-5f3a",\n  "peerAddress": "fqdn",\n  "index": 1,\n  "count": 3,\n  "coordinator": "${H(0)}",\n  "peers": [\n${[0, 1, 2].map(peer).join(',\n')}\n  ]\n}\n`,
    );
  });

  it('puts the roster at --roster-file', () => {
    const x = buildExports(fakeMesh(0), ctx, opts({ rosterFile: '/job/roster.json' }));
    expect(x.env.PEER_ROSTER_FILE).toBe('/job/roster.json');
    expect(x.files.map((f) => f.path)).toEqual(['/job/roster.json']);
  });

  it('keeps IP literals from --peers as they are', () => {
    const x = buildExports(fakeMesh(0, 2, ['127.0.0.2', '127.0.0.3']), ctx, opts());
    expect(x.env.PEER_HOSTS).toBe('127.0.0.2,127.0.0.3');
    expect(x.env.PEER_COORDINATOR).toBe('127.0.0.2');
  });
});

describe('buildExports: presets, byte for byte', () => {
  it('torch', () => {
    const x = buildExports(fakeMesh(2), ctx, opts({ export: 'torch' }));
    expect(Object.entries(x.env).slice(5)).toEqual([
      ['MASTER_ADDR', H(0)],
      ['MASTER_PORT', '29500'],
      ['RANK', '2'],
      ['WORLD_SIZE', '3'],
      ['LOCAL_RANK', '0'],
      ['LOCAL_WORLD_SIZE', '1'],
      ['GROUP_RANK', '2'],
    ]);
  });

  it('torchrun: the agreed world as a static rendezvous, no second round, no RANK/WORLD_SIZE', () => {
    for (const index of [0, 2]) {
      const x = buildExports(fakeMesh(index), ctx, opts({ export: 'torchrun' }));
      expect(Object.entries(x.env).slice(5)).toEqual([
        ['PET_NNODES', '3'],
        ['PET_NODE_RANK', String(index)],
        ['PET_MASTER_ADDR', H(0)],
        ['PET_MASTER_PORT', '29500'],
        ['PET_RDZV_BACKEND', 'static'],
        ['PET_RDZV_ID', 'g-5f3a'],
      ]);
      expect(x.env.RANK).toBeUndefined();
      expect(x.env.WORLD_SIZE).toBeUndefined();
    }
  });

  it('torchrun --elastic on pod 0: c10d, is_host=true', () => {
    const x = buildExports(fakeMesh(0), ctx, opts({ export: 'torchrun', elastic: true }));
    expect(Object.entries(x.env).slice(5)).toEqual([
      ['PET_NNODES', '3'],
      ['PET_NODE_RANK', '0'],
      ['PET_MASTER_ADDR', H(0)],
      ['PET_MASTER_PORT', '29500'],
      ['PET_RDZV_BACKEND', 'c10d'],
      ['PET_RDZV_ENDPOINT', `${H(0)}:29400`],
      ['PET_RDZV_ID', 'g-5f3a'],
      ['PET_RDZV_CONF', 'is_host=true'],
    ]);
  });

  it('torchrun --elastic elsewhere: is_host=false; ports from options', () => {
    const x = buildExports(
      fakeMesh(1),
      ctx,
      opts({ export: 'torchrun', elastic: true, masterPort: '1234', rdzvPort: 4321 }),
    );
    expect(x.env.PET_NODE_RANK).toBe('1');
    expect(x.env.PET_RDZV_CONF).toBe('is_host=false');
    expect(x.env.PET_MASTER_PORT).toBe('1234');
    expect(x.env.PET_RDZV_ENDPOINT).toBe(`${H(0)}:4321`);
  });

  it('torchrun static: the master port is the store port; --rdzv-port plays no part', () => {
    const x = buildExports(
      fakeMesh(1),
      ctx,
      opts({ export: 'torchrun', masterPort: '1234', rdzvPort: 4321 }),
    );
    expect(x.env.PET_MASTER_PORT).toBe('1234');
    expect(x.env.PET_RDZV_ENDPOINT).toBeUndefined();
    expect(x.env.PET_RDZV_CONF).toBeUndefined();
  });

  it('jax', () => {
    const x = buildExports(fakeMesh(1), ctx, opts({ export: 'jax' }));
    expect(Object.entries(x.env).slice(5)).toEqual([
      ['JAX_COORDINATOR_ADDRESS', `${H(0)}:55527`],
      ['JAX_COORDINATOR_PORT', '55527'],
      ['JAX_NUM_PROCESSES', '3'],
      ['JAX_PROCESS_ID', '1'],
    ]);
  });

  it('jax and tf bracket IPv6 literals next to a port', () => {
    const x = buildExports(
      fakeMesh(1, 2, ['fd00::1', 'fd00::2']),
      ctx,
      opts({ export: 'jax,tf', tfPort: 9 }),
    );
    expect(x.env.JAX_COORDINATOR_ADDRESS).toBe('[fd00::1]:55527');
    expect(x.env.TF_CONFIG).toBe(
      '{"cluster":{"worker":["[fd00::1]:9","[fd00::2]:9"]},"task":{"type":"worker","index":1}}',
    );
  });

  it('tf', () => {
    const x = buildExports(fakeMesh(2), ctx, opts({ export: 'tf' }));
    expect(Object.entries(x.env).slice(5)).toEqual([
      [
        'TF_CONFIG',
        `{"cluster":{"worker":["${H(0)}:2222","${H(1)}:2222","${H(2)}:2222"]},"task":{"type":"worker","index":2}}`,
      ],
    ]);
  });

  it('mpi: three hostfiles and the variables naming them', () => {
    const x = buildExports(fakeMesh(1), ctx, opts({ export: 'mpi', slots: '4' }));
    expect(Object.entries(x.env).slice(5)).toEqual([
      ['PEER_HOSTFILE', '/run/rdv/hostfile'],
      ['PEER_HOSTFILE_MPICH', '/run/rdv/hostfile.mpich'],
      ['PEER_HOSTFILE_INTEL', '/run/rdv/hostfile.intel'],
      ['OMPI_MCA_orte_default_hostfile', '/run/rdv/hostfile'],
      ['OMPI_MCA_orte_keep_fqdn_hostnames', 'true'],
      ['PRTE_MCA_prte_default_hostfile', '/run/rdv/hostfile'],
      ['PRTE_MCA_prte_keep_fqdn_hostnames', '1'],
      ['HYDRA_HOST_FILE', '/run/rdv/hostfile.mpich'],
      ['HYDRA_CONFIG_FILE', '/run/rdv/hostfile.hydra.conf'],
      ['PEER_HYDRA_ARGS', `-localhost ${H(1)}`],
      ['I_MPI_HYDRA_HOST_FILE', '/run/rdv/hostfile.intel'],
    ]);
    expect(x.files.slice(1)).toEqual([
      { path: '/run/rdv/hostfile', content: `${H(0)} slots=4\n${H(1)} slots=4\n${H(2)} slots=4\n` },
      { path: '/run/rdv/hostfile.mpich', content: `${H(0)}:4\n${H(1)}:4\n${H(2)}:4\n` },
      { path: '/run/rdv/hostfile.intel', content: `${H(0)}\n${H(1)}\n${H(2)}\n` },
      // Hydra reads its options from this file: the proxies call back this pod by a name they resolve.
      { path: '/run/rdv/hostfile.hydra.conf', content: `-localhost ${H(1)}\n` },
    ]);
  });

  it('deepspeed: host slots=N at --hostfile', () => {
    const x = buildExports(fakeMesh(0), ctx, opts({ export: 'deepspeed', hostfile: '/job/hostfile' }));
    expect(Object.entries(x.env).slice(5)).toEqual([['PEER_HOSTFILE', '/job/hostfile']]);
    expect(x.files.slice(1)).toEqual([
      { path: '/job/hostfile', content: `${H(0)} slots=1\n${H(1)} slots=1\n${H(2)} slots=1\n` },
    ]);
  });

  it('mpi and deepspeed together share one host slots=N file; duplicates are dropped', () => {
    const x = buildExports(fakeMesh(0), ctx, opts({ export: ['mpi', 'deepspeed,mpi'] }));
    expect(x.files.map((f) => f.path)).toEqual([
      '/run/rdv/roster.json',
      '/run/rdv/hostfile',
      '/run/rdv/hostfile.mpich',
      '/run/rdv/hostfile.intel',
      '/run/rdv/hostfile.hydra.conf',
    ]);
    expect(Object.keys(x.env).filter((k) => k === 'PEER_HOSTFILE')).toHaveLength(1);
  });

  it('all presets at once keep the preset order and the generic set first', () => {
    const x = buildExports(fakeMesh(0), ctx, opts({ export: 'tf,torch' }));
    expect(Object.keys(x.env)).toEqual([
      ...Object.keys(GENERIC_POD1),
      'TF_CONFIG',
      'MASTER_ADDR',
      'MASTER_PORT',
      'RANK',
      'WORLD_SIZE',
      'LOCAL_RANK',
      'LOCAL_WORLD_SIZE',
      'GROUP_RANK',
    ]);
  });
});

describe('buildExports with peerAddress ip: every preset carries the proven addresses', () => {
  const A = (i: number) => `10.244.0.${10 + i}`;
  const ipMesh = (index: number, v6 = false) => {
    const m = fakeMesh(index);
    const peers = m.peers.map((p) => ({ ...p, addresses: [v6 ? `fd00::${p.index + 1}` : A(p.index)] }));
    return { ...m, peers, self: peers[index]!, coordinator: peers[0]!, peerAddress: 'ip' as const };
  };
  const everything = (x: ReturnType<typeof buildExports>) =>
    JSON.stringify(x.env) + x.files.map((f) => f.content).join('');

  for (const preset of ['torch', 'torchrun', 'jax', 'tf', 'mpi', 'deepspeed'] as const) {
    it(`${preset}: no pod name anywhere, only addresses`, () => {
      const x = buildExports(ipMesh(1), ctx, opts({ export: preset }));
      // The roster keeps each name in \`fqdn\` (for reference); nothing else names a pod.
      const noRoster =
        JSON.stringify(x.env) +
        x.files
          .slice(1)
          .map((f) => f.content)
          .join('');
      expect(noRoster).not.toMatch(/train-\d/);
      expect(everything(x)).toContain(A(0));
    });
  }

  it('the generic set, torch, torchrun, jax and tf byte for byte', () => {
    const x = buildExports(ipMesh(0), ctx, opts({ export: 'torch,torchrun,jax,tf', elastic: true }));
    expect(x.env.PEER_HOSTS).toBe(`${A(0)},${A(1)},${A(2)}`);
    expect(x.env.PEER_COORDINATOR).toBe(A(0));
    expect(x.env.MASTER_ADDR).toBe(A(0));
    expect(x.env.PET_MASTER_ADDR).toBe(A(0));
    expect(x.env.PET_RDZV_ENDPOINT).toBe(`${A(0)}:29400`);
    expect(x.env.JAX_COORDINATOR_ADDRESS).toBe(`${A(0)}:55527`);
    expect(x.env.TF_CONFIG).toBe(
      `{"cluster":{"worker":["${A(0)}:2222","${A(1)}:2222","${A(2)}:2222"]},"task":{"type":"worker","index":0}}`,
    );
  });

  it('mpi and deepspeed hostfiles list the addresses', () => {
    const x = buildExports(ipMesh(2), ctx, opts({ export: 'mpi,deepspeed', slots: '2' }));
    expect(x.env.PEER_HYDRA_ARGS).toBe(`-localhost ${A(2)}`);
    expect(x.files.slice(1, 4)).toEqual([
      { path: '/run/rdv/hostfile', content: `${A(0)} slots=2\n${A(1)} slots=2\n${A(2)} slots=2\n` },
      { path: '/run/rdv/hostfile.mpich', content: `${A(0)}:2\n${A(1)}:2\n${A(2)}:2\n` },
      { path: '/run/rdv/hostfile.intel', content: `${A(0)}\n${A(1)}\n${A(2)}\n` },
    ]);
  });

  it('the roster says how hosts are written and keeps the names beside the addresses', () => {
    const x = buildExports(ipMesh(1), ctx, opts());
    const roster = JSON.parse(x.files[0]!.content);
    expect(roster).toMatchObject({ peerAddress: 'ip', coordinator: A(0) });
    expect(roster.peers[1]).toEqual({ index: 1, fqdn: `${H(1)}.`, host: A(1), addresses: [A(1)] });
  });

  it('IPv6 addresses are bracketed next to a port', () => {
    const x = buildExports(ipMesh(1, true), ctx, opts({ export: 'torch,torchrun,jax,tf', elastic: true }));
    expect(x.env.MASTER_ADDR).toBe('fd00::1');
    expect(x.env.PET_RDZV_ENDPOINT).toBe('[fd00::1]:29400');
    expect(x.env.JAX_COORDINATOR_ADDRESS).toBe('[fd00::1]:55527');
    expect(x.env.TF_CONFIG).toContain('"[fd00::3]:2222"');
  });

  it('falls back to the name for a pod the mesh has no address for', () => {
    const m = ipMesh(0);
    const peers = m.peers.map((p) => (p.index === 2 ? { ...p, addresses: [] } : p));
    const x = buildExports({ ...m, peers, self: peers[0]!, coordinator: peers[0]! }, ctx, opts());
    expect(x.env.PEER_HOSTS).toBe(`${A(0)},${A(1)},${H(2)}`);
  });
});

describe('buildExports: the environment wins', () => {
  it('keeps variables the user set, names the ones that differ, ignores equal ones', () => {
    const env = { MASTER_PORT: '1', RANK: '', WORLD_SIZE: '3', PATH: '/bin' };
    const x = buildExports(fakeMesh(1), { env, dir: DIR }, opts({ export: 'torch' }));
    expect(x.overridden).toEqual(['MASTER_PORT', 'RANK']);
    expect(x.env.MASTER_PORT).toBeUndefined();
    expect(x.env.RANK).toBeUndefined();
    expect(x.env.WORLD_SIZE).toBeUndefined();
    expect(x.env.MASTER_ADDR).toBe(H(0));
  });

  it('does not mutate its inputs', () => {
    const env = Object.freeze({ RANK: '7' });
    const o = opts({ export: 'torch' });
    const mesh = fakeMesh(0);
    const before = JSON.stringify([env, o, mesh]);
    buildExports(mesh, { env, dir: DIR }, o);
    expect(JSON.stringify([env, o, mesh])).toBe(before);
  });
});

describe('normalizeExportOptions', () => {
  it('has the documented defaults', () => {
    expect(opts()).toEqual({
      presets: [],
      masterPort: 29500,
      rdzvPort: 29400,
      jaxPort: 55527,
      tfPort: 2222,
      slots: 1,
      hostfile: undefined,
      rosterFile: undefined,
      elastic: false,
    });
  });

  it.each([
    [
      { export: 'torch,pytorch' },
      /--export names "pytorch", which is not a preset: expected a comma list of torch, torchrun, jax, tf, mpi, deepspeed/,
    ],
    [{ masterPort: '0' }, /--master-port="0" is not a port: expected an integer from 1 to 65535/],
    [{ rdzvPort: '65536' }, /--rdzv-port="65536" is not a port/],
    [{ jaxPort: '1e3' }, /--jax-port="1e3" is not a port/],
    [{ slots: '0' }, /--slots="0" is not a slot count: expected an integer from 1 to 1000000/],
    [{ slots: -2 }, /--slots="-2"/],
    [{ hostfile: '' }, /--hostfile="" is not a file path/],
  ])('rejects %o', (raw, message) => {
    expect(() => opts(raw)).toThrow(UsageError);
    expect(() => opts(raw)).toThrow(message);
  });

  it('names where a bad value came from', () => {
    expect(() => opts({ slots: 'x', origins: { slots: 'env PEER_RENDEZVOUS_SLOTS' } })).toThrow(
      /^env PEER_RENDEZVOUS_SLOTS="x" is not a slot count/,
    );
  });

  it('accepts none and empty lists', () => {
    expect(opts({ export: 'none' }).presets).toEqual([]);
    expect(opts({ export: ' Torch , ,JAX' }).presets).toEqual(['torch', 'jax']);
  });
});
