import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './exe-fixture.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly body: Instruction[];
}

/** Dockerfile → instructions: comments dropped, `\` continuations joined, the op upper-cased. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (buf === '' && (line === '' || line.startsWith('#'))) return;
    if (buf === '') start = i + 1;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      return;
    }
    buf += line;
    const m = /^(\S+)\s*(.*)$/.exec(buf)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
    buf = '';
  });
  return out;
}

function stagesOf(instructions: Instruction[]): { args: Instruction[]; stages: Stage[] } {
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2], body: [] });
    } else if (stages.length === 0) args.push(ins);
    else stages.at(-1)!.body.push(ins);
  }
  return { args, stages };
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { args, stages } = stagesOf(parseDockerfile(dockerfile));
const argDefault = (name: string): string =>
  /^\S+=(.*)$/.exec(args.find((a) => a.args.startsWith(`${name}=`))!.args)![1]!;
const resolveFrom = (from: string): string => from.replace(/^\$\{(\w+)\}$/, (_, n: string) => argDefault(n));
const stage = (name: string): Stage => {
  const s = stages.find((st) => st.name === name);
  expect(s, `stage ${name}`).toBeDefined();
  return s!;
};
const ciRun = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');

/** A path is in the build context when the last .dockerignore pattern matching it is a `!` (allowlist). */
function inContext(path: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let included = true;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const pattern = (negated ? p.slice(1) : p).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(path.replace(/\/$/, ''))) included = negated;
  }
  return included;
}

describe('Dockerfile', () => {
  it('has the stages build (Node 24), exe (scratch) and runtime (Node 24 slim, last)', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'exe', 'runtime']);
    expect(resolveFrom(stage('build').from)).toMatch(/^node:24(-|$)/);
    expect(stage('exe').from).toBe('scratch');
    expect(resolveFrom(stage('runtime').from)).toMatch(/^node:24-[a-z]+-slim$/);
  });

  it('runs in every RUN only an executable script from scripts/ that .ci/run runs too', () => {
    const runs = stages.flatMap((s) => s.body.filter((i) => i.op === 'RUN'));
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) {
      const m = /^(scripts\/[a-z0-9-]+\.sh)(\s+[A-Za-z0-9/._-]+)*$/.exec(run.args);
      expect(m, `line ${run.line}: RUN ${run.args}`).not.toBeNull();
      const script = m![1]!;
      accessSync(join(ROOT, script), constants.X_OK);
      expect(ciRun, `.ci/run runs ${script}`).toContain(script);
    }
    expect(runs.map((r) => r.args.split(' ')[0])).toEqual([
      'scripts/install-deps.sh',
      'scripts/build.sh',
      'scripts/build-exe.sh',
      'scripts/stage-image.sh',
    ]);
  });

  it('copies from the context only files that exist and that .dockerignore lets in', () => {
    const copies = stage('build').body.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const src of sources) {
        expect(existsSync(join(ROOT, src)), `${src} exists`).toBe(true);
        expect(inContext(src), `${src} is in the build context`).toBe(true);
      }
    }
    for (const left of ['node_modules', 'dist', 'test', '.git', 'README.md', 'examples']) {
      expect(inContext(left), `${left} stays out of the build context`).toBe(false);
    }
  });

  it('puts the executable at /peer-rendezvous in the exe stage, non-root', () => {
    const body = stage('exe').body;
    expect(body.find((i) => i.op === 'COPY')?.args).toBe(
      '--from=build /src/dist/peer-rendezvous /peer-rendezvous',
    );
    expect(body.find((i) => i.op === 'USER')?.args).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(body.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["/peer-rendezvous"]');
    expect(stage('build').body.some((i) => i.op === 'WORKDIR' && i.args === '/src')).toBe(true);
  });

  it('runs the runtime image as a numeric non-root user with ENTRYPOINT ["peer-rendezvous"]', () => {
    const body = stage('runtime').body;
    expect(body.find((i) => i.op === 'COPY')?.args).toBe('--from=build /rootfs/ /');
    expect(body.find((i) => i.op === 'USER')?.args).toBe('1000:1000');
    expect(JSON.parse(body.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['peer-rendezvous']);
    expect(
      stage('build').body.some((i) => i.op === 'RUN' && i.args === 'scripts/stage-image.sh /rootfs'),
    ).toBe(true);
  });
});

describe('scripts/stage-image.sh (the runtime image layout)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rdv-stage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('puts the executable at /peer-rendezvous (0755) and links /usr/local/bin/peer-rendezvous to it', () => {
    const exe = join(dir, 'fake-exe');
    writeFileSync(exe, '#!/bin/sh\n', { mode: 0o700 });
    const rootfs = join(dir, 'rootfs');
    const r = spawnSync(join(ROOT, 'scripts', 'stage-image.sh'), [rootfs, exe], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(rootfs, 'peer-rendezvous')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(rootfs, 'usr', 'local', 'bin', 'peer-rendezvous'))).toBe('/peer-rendezvous');
  });

  it('fails clearly when the executable was not built', () => {
    const r = spawnSync(join(ROOT, 'scripts', 'stage-image.sh'), [join(dir, 'r2'), join(dir, 'missing')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing is missing or not executable: run scripts\/build-exe.sh first/);
  });
});
