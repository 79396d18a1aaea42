#!/usr/bin/env node
// Thin entry point: `npm run build` bundles the CLI into dist/cli.cjs; this only loads it and sets the exit code.
// Loading is most of an agent's start-up, and N pods start at once: two caches make it cheaper.
// - dist/cli.cjs.v8cache (scripts/code-cache.mjs, written by `npm run build`): V8's code cache of the bundle
//   taken from a mesh member *after* it ran, so it holds the bytecode of every function a pod runs, not only
//   the few compiled at load. Used only when it was made from this very bundle (the build line at its top)
//   by this Node version and architecture; V8 itself rejects it under other V8 flags. ~12% of the pods'
//   CPU at N=16 (bench/results.md). NODE_DISABLE_COMPILE_CACHE=1 (Node's switch) turns it off too;
//   NODE_DEBUG=peer-rendezvous says on stderr whether it was used.
// - Otherwise Node's compile cache (Node ≥ 22.1): the functions compiled at load, reused between runs.
import module from 'node:module';

// Not `import … from 'node:fs'`: an ES module import of a builtin reads every export, and fs.promises loads
// fs/promises, readline and ~25 more builtins no pod needs.
const { readFileSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { dirname } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');
const vm = process.getBuiltinModule('node:vm');

module.enableCompileCache?.();
const file = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url));
// Set by scripts/code-cache.mjs only (not PEER_RENDEZVOUS_*: every name of that prefix is an option).
const out = process.env.PRDV_WRITE_CODE_CACHE;
const off = process.env.NODE_DISABLE_COMPILE_CACHE === '1';
const say = /\bpeer-rendezvous\b/.test(process.env.NODE_DEBUG ?? '')
  ? (text) => process.stderr.write(`peer-rendezvous: code cache: ${text}\n`)
  : () => {};

/** The bundle's exports through the code cache, or undefined (absent, stale or turned off: load it as usual). */
function withCodeCache() {
  if (off && !out) {
    say('off (NODE_DISABLE_COMPILE_CACHE=1)');
    return undefined;
  }
  let cache;
  if (!out) {
    try {
      cache = readFileSync(`${file}.v8cache`);
    } catch {
      say(`none at ${file}.v8cache`);
      return undefined;
    }
  }
  const source = readFileSync(file, 'utf8');
  let data;
  if (cache) {
    const end = cache.indexOf(10);
    let header;
    try {
      header = end === -1 ? undefined : JSON.parse(cache.subarray(0, end).toString('utf8'));
    } catch {}
    if (typeof header !== 'object' || header === null) {
      say('unreadable header: not used');
      return undefined;
    }
    const build = `// peer-rendezvous build ${header.build}\n`;
    if (header.node !== process.version || header.arch !== process.arch || !source.startsWith(build)) {
      say(`made for build ${header.build} on Node ${header.node} ${header.arch}: not used`);
      return undefined;
    }
    data = cache.subarray(end + 1);
  }
  // The CommonJS wrapper Node gives a module; the bundle needs exports, require, module and __filename only.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(data ? { cachedData: data } : {}),
  });
  if (data) say(script.cachedDataRejected ? 'rejected by V8 (other V8 flags?): compiled anew' : 'accepted');
  const m = { exports: {}, filename: file, id: file };
  script.runInThisContext()(m.exports, module.createRequire(file), m, file, dirname(file));
  if (out) writeCacheBeforeExec(script);
  return m.exports;
}

/**
 * For scripts/code-cache.mjs: write this process's code cache (every function compiled so far) just before it
 * becomes the workload, to $PRDV_WRITE_CODE_CACHE-<JOB_COMPLETION_INDEX>.
 */
function writeCacheBeforeExec(script) {
  const execve = process.execve;
  if (typeof execve === 'function') {
    process.execve = function execveAfterCache(...args) {
      writeFileSync(`${out}-${process.env.JOB_COMPLETION_INDEX ?? 'main'}`, script.createCachedData());
      return execve.apply(this, args);
    };
  }
}

const { main } = withCodeCache() ?? module.createRequire(import.meta.url)('../dist/cli.cjs');

process.exitCode = await main(process.argv.slice(2));
