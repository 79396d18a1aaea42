#!/usr/bin/env node
// Build the single executable dist/peer-rendezvous: one file that runs on glibc Linux without Node installed.
//
//   1. scripts/bundle-cli.mjs bundles src/ (entry: the CLI's main) and its dependencies into one minified
//      CommonJS file, with the package version defined at build time;
//   2. the Node 24 binary that the `node` devDependency installed writes a single-executable-application blob
//      (`--experimental-sea-config`, experimental warning disabled, V8 code cache included);
//   3. postject injects the blob into a copy of that same binary, which is renamed into place atomically.
//
// Usage: node scripts/build-exe.mjs [--out <file>] [--no-code-cache] [--no-strip] [--quiet]
// Run it with the Node from node_modules (scripts/build-exe.sh does): the blob must match the binary.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleCli } from './bundle-cli.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** The fuse string Node looks for to know a blob was injected (docs: Single executable applications). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The real Node binary behind node_modules/.bin/node (the `node` devDependency), checked to be ELF Node 24. */
export function findNodeBinary() {
  const link = join(root, 'node_modules', '.bin', 'node');
  let file;
  try {
    file = realpathSync(link);
  } catch (cause) {
    throw new Error(`no Node binary at ${link}: run npm ci first (the "node" devDependency provides it)`, {
      cause,
    });
  }
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    throw new Error(`${file} is not an ELF executable: the single executable is built for Linux only`);
  }
  const version = execFileSync(file, ['--version'], { encoding: 'utf8' }).trim();
  if (!/^v24\./.test(version)) throw new Error(`${file} is Node ${version}, expected v24.x`);
  return { file, version };
}

/** Strip symbols with binutils' strip; a clear error when it is missing. */
function stripBinary(file) {
  try {
    execFileSync('strip', ['--strip-all', file], { stdio: 'pipe' });
  } catch (cause) {
    const missing = cause?.code === 'ENOENT';
    throw new Error(
      missing
        ? 'strip (binutils) is not installed: install binutils or pass --no-strip (the file grows by ~17 MiB)'
        : `strip ${file} failed: ${cause?.stderr?.toString().trim() || cause?.message}`,
      { cause },
    );
  }
}

/** Run postject in a child process: LIEF prints harmless section-name warnings, shown only on failure. */
function injectBlob(nodeBinary, file, blob) {
  const cli = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  try {
    execFileSync(nodeBinary, [cli, file, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
      stdio: 'pipe',
    });
  } catch (cause) {
    throw new Error(`postject failed: ${cause?.stderr?.toString().trim() || cause?.message}`, { cause });
  }
}

/** Build the executable at `out`; returns what was built. */
export async function buildExe({
  out = join(root, 'dist', 'peer-rendezvous'),
  codeCache = true,
  strip = true,
} = {}) {
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const node = findNodeBinary();
  const work = mkdtempSync(join(tmpdir(), 'rdv-exe-'));
  try {
    const main = join(work, 'peer-rendezvous.cjs');
    const blob = join(work, 'sea-prep.blob');
    const bundled = await bundleCli({ outfile: main, version: pkg.version, sea: true });
    const config = {
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      // Code cache: V8 bytecode compiled at build time, so start-up skips compiling the bundle.
      // Snapshot: would need the whole CLI written against the startup-snapshot API; not used.
      useCodeCache: codeCache,
      useSnapshot: false,
    };
    const configFile = join(work, 'sea-config.json');
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    execFileSync(node.file, ['--experimental-sea-config', configFile], { cwd: work, stdio: 'pipe' });

    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    copyFileSync(node.file, tmp);
    chmodSync(tmp, 0o755);
    // Node's release binary carries ~17 MiB of symbols; strip them before the blob goes in (not after:
    // stripping an injected binary breaks it).
    if (strip) stripBinary(tmp);
    injectBlob(node.file, tmp, blob);
    renameSync(tmp, out);

    const reported = execFileSync(out, ['--version'], { encoding: 'utf8', env: {} }).trim();
    if (reported !== pkg.version) {
      throw new Error(
        `built ${out} but it reports version ${JSON.stringify(reported)}, expected ${pkg.version}`,
      );
    }
    return {
      out,
      node: node.version,
      version: reported,
      bundleBytes: bundled.bytes,
      bundleInputs: bundled.inputs,
      blobBytes: statSync(blob).size,
      bytes: statSync(out).size,
      ms: Date.now() - started,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'no-code-cache': { type: 'boolean', default: false },
      'no-strip': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  try {
    const r = await buildExe({
      out: values.out === undefined ? undefined : resolve(values.out),
      codeCache: !values['no-code-cache'],
      strip: !values['no-strip'],
    });
    if (!values.quiet) {
      const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      process.stdout.write(
        `build-exe: ${r.out} (${mib(r.bytes)}; Node ${r.node}; bundle ${mib(r.bundleBytes)} from ` +
          `${r.bundleInputs} files; blob ${mib(r.blobBytes)}) reports version ${r.version}, built in ${r.ms} ms\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`build-exe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
