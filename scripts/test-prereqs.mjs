#!/usr/bin/env node
// The system programs the test suite runs (real DNS servers, a caching resolver, network namespaces, real
// frameworks), checked before `npm test` starts. One table says which program proves which Debian package.
//
//   node scripts/test-prereqs.mjs            check; as root with apt-get, install what is missing; else stop
//                                            with one line naming what is missing and the command to run
//   node scripts/test-prereqs.mjs --install  install what is missing (root, Debian/apt), then check
//   node scripts/test-prereqs.mjs --check    check only: never installs
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

/** What the tests need: a program (or a check) and the Debian package that provides it. */
const PREREQUISITES = [
  { pkg: 'knot', program: 'knotd', for: 'Knot, the third-party authoritative DNS server' },
  { pkg: 'knot-dnsutils', program: 'knsupdate', for: 'dynamic updates to Knot' },
  { pkg: 'dnsmasq-base', program: 'dnsmasq', for: 'dnsmasq, the second third-party DNS server' },
  { pkg: 'bind9-dnsutils', program: 'dig', for: 'dig, to compare DNS answers' },
  { pkg: 'unbound', program: 'unbound', for: 'the caching resolver in front of the cluster DNS' },
  { pkg: 'iproute2', program: 'ip', for: 'network-namespace pods' },
  { pkg: 'util-linux', program: 'unshare', for: 'per-pod hostnames and PID namespaces' },
  { pkg: 'iputils-ping', program: 'ping', for: "the seed page's ping loop" },
  { pkg: 'procps', program: 'ps', for: 'process checks' },
  { pkg: 'binutils', program: 'strip', for: 'the single executable' },
  { pkg: 'openmpi-bin', program: 'mpirun.openmpi', for: 'Open MPI on the exported hostfile' },
  { pkg: 'mpich', program: 'mpiexec.hydra', for: 'MPICH Hydra on the exported hostfile' },
  { pkg: 'libmpich-dev', program: 'mpicc.mpich', for: 'building the MPICH test program' },
  { pkg: 'libopenmpi-dev', program: 'mpicc.openmpi', for: 'building the Open MPI test program' },
  { pkg: 'gcc', program: 'gcc', for: 'mpicc' },
  { pkg: 'python3-torch', python: 'torch', for: 'PyTorch (gloo, torchrun) on the exports' },
  { pkg: 'python3-mpi4py', python: 'mpi4py', for: 'mpi4py on the exported hostfile' },
];

/** Debian's own interpreter: the tests never use a pyenv/venv python3 that happens to be first on PATH. */
const PYTHON = '/usr/bin/python3';
/** sbin directories hold knotd and unbound; a non-root PATH often lacks them. */
const SEARCH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];

function onPath(program) {
  for (const dir of SEARCH) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, program), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

function pythonHas(modules) {
  if (!existsSync(PYTHON) || modules.length === 0) return new Set(modules.length === 0 ? [] : modules);
  // find_spec only locates the module (no import of torch: that takes seconds).
  const code = `import importlib.util as u\nfor m in ${JSON.stringify(modules)}:\n    u.find_spec(m) or print(m)`;
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return new Set(modules);
  return new Set(r.stdout.split('\n').filter(Boolean));
}

/** The prerequisites that are not there. */
function missing() {
  const pyMissing = pythonHas(PREREQUISITES.filter((p) => p.python).map((p) => p.python));
  return PREREQUISITES.filter((p) => (p.program ? !onPath(p.program) : pyMissing.has(p.python)));
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = onPath('apt-get');
const mode = process.argv[2] ?? '--auto';
if (!['--auto', '--install', '--check'].includes(mode)) {
  console.error(`test-prereqs: unknown argument "${mode}": expected --install, --check or nothing`);
  process.exit(64);
}

/**
 * apt-get install, without starting any service the packages bring (unbound's) and without prompts. The
 * policy-rc.d guard is created and removed by one shell whose EXIT trap runs on Ctrl-C too, so an interrupted
 * install never leaves a guard behind that would stop every later package from starting its service.
 */
function install(packages) {
  const script = [
    'guard=/usr/sbin/policy-rc.d; own=0',
    'if [ ! -e "$guard" ]; then printf \'#!/bin/sh\\n# peer-rendezvous test-prereqs: start no service while installing\\nexit 101\\n\' > "$guard" && chmod 755 "$guard" && own=1; fi',
    'trap \'[ "$own" = 1 ] && rm -f "$guard"\' EXIT',
    "trap 'exit 130' INT TERM",
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null',
  ].join('\n');
  console.error(`test-prereqs: installing with apt-get (root): ${packages.join(' ')}`);
  const r = spawnSync('sh', ['-c', script, 'sh', ...packages], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    console.error(
      `test-prereqs: apt-get failed (exit ${r.status ?? r.signal}): install ${packages.join(' ')} by hand`,
    );
    process.exit(1);
  }
}

let absent = missing();
const mayInstall = mode === '--install' || (mode === '--auto' && isRoot && hasApt);
if (absent.length > 0 && mayInstall) {
  if (!isRoot || !hasApt) {
    console.error(
      'test-prereqs: installing needs root on a Debian/Ubuntu machine (apt-get): run `sudo npm run test:setup`',
    );
    process.exit(1);
  }
  install([...new Set(absent.map((p) => p.pkg))]);
  absent = missing();
}

const problems = absent.map(
  (p) => `${p.program ?? `${PYTHON}: import ${p.python}`} (Debian package ${p.pkg}: ${p.for})`,
);
if (!isRoot) problems.push('root (the network-namespace pods and PID-1 tests need it)');
if (problems.length > 0) {
  const pkgs = [...new Set(absent.map((p) => p.pkg))].join(' ');
  const fix =
    absent.length > 0
      ? `sudo npm run test:setup   (apt-get install ${pkgs}), then sudo npm test`
      : 'sudo npm test';
  console.error(`test-prereqs: the test suite cannot run here, missing: ${problems.join('; ')}. Run: ${fix}`);
  process.exit(1);
}
if (mode !== '--auto')
  console.error('test-prereqs: every system prerequisite of the test suite is installed');
