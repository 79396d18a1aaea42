#!/usr/bin/env node
// Bundle the CLI (src/cli/main.ts and everything it imports, dependencies included) into one CommonJS file.
//
// Two users: `npm run build` writes dist/cli.cjs, which bin/peer-rendezvous.js loads (one file with V8's
// compile cache starts far faster than ~130 ES modules: bench/results.md, "exec: … start-up time"); and
// scripts/build-exe.mjs, whose single executable needs one CommonJS main script.
// Lazily imported code (yargs and the commands behind it, see src/cli/fast-path.ts) stays lazy: esbuild
// wraps it in functions that run on first import. For dist/, yargs (which shares no code with ours) goes to
// its own file, dist/yargs.cjs, required only by the full parser: V8 then never even parses it on the fast
// path, ~3 ms of a start without compile cache (a new container's first start).
//
// Usage: node scripts/bundle-cli.mjs [--out dist/cli.cjs]   (dist/yargs.cjs and dist/yargs/locales/ next to it)
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/**
 * Bundle to `outfile` (written atomically). `sea`: for the single executable, where import.meta.url is the
 * executable's own URL and the code is minified; otherwise import.meta.url is the bundle file's URL, so
 * paths computed from it (bin/peer-rendezvous.js next to dist/) are the same as from dist/*.js.
 */
export async function bundleCli({ outfile, version, sea = false }) {
  const esbuild = require('esbuild');
  const entry = sea
    ? [
        "import { main } from './src/cli/main.ts';",
        'main(process.argv.slice(2)).then((code) => {',
        '  process.exitCode = code;',
        '});',
      ].join('\n')
    : "export { main } from './src/cli/main.ts';";
  const tmp = `${outfile}.tmp-${process.pid}`;
  const yargsFile = join(dirname(outfile), 'yargs.cjs');
  // The single executable is one file: yargs stays inside it.
  const yargsApart = {
    name: 'yargs-apart',
    setup(build) {
      build.onResolve({ filter: /^yargs$/ }, () => ({ path: './yargs.cjs', external: true }));
    },
  };
  const result = await esbuild.build({
    plugins: sea ? [] : [yargsApart],
    stdin: {
      contents: entry,
      resolveDir: root,
      loader: 'ts',
      sourcefile: sea ? 'exe-entry.ts' : 'cli-entry.ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    outfile: tmp,
    tsconfig: join(root, 'tsconfig.json'),
    // Class names are user-visible (error.name = new.target.name): keep them through minification.
    minify: sea,
    keepNames: true,
    legalComments: 'none',
    // import.meta does not exist in CommonJS: give the bundle a file URL where ESM dependencies (yargs) and
    // src/self-command.ts compute paths from it, and the version that src/version.ts would read from disk.
    define: {
      'import.meta.url': 'PEER_RENDEZVOUS_IMPORT_META_URL',
      PEER_RENDEZVOUS_BUNDLED_VERSION: JSON.stringify(version),
    },
    banner: {
      js: `const PEER_RENDEZVOUS_IMPORT_META_URL = require("node:url").pathToFileURL(${sea ? 'process.execPath' : '__filename'}).href;`,
    },
    logLevel: 'silent',
    metafile: true,
  });
  for (const w of result.warnings) {
    // yargs' `extends` support uses import.meta.resolve; the CLI never passes `extends`.
    if (/import\.meta/.test(w.text) && /apply-extends/.test(w.location?.file ?? '')) continue;
    process.stderr.write(`bundle-cli: esbuild warning: ${w.text} (${w.location?.file ?? '?'})\n`);
  }
  if (!sea) {
    // module.exports is the yargs function itself: what the main bundle's `import yargs from 'yargs'` expects.
    await esbuild.build({
      stdin: { contents: "export { default } from 'yargs';", resolveDir: root, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      outfile: `${yargsFile}.tmp-${process.pid}`,
      keepNames: true,
      legalComments: 'none',
      define: { 'import.meta.url': 'PEER_RENDEZVOUS_IMPORT_META_URL' },
      // yargs finds its translations at resolve(<its esm.mjs>, '../../../locales'): give it the URL of a
      // file as if yargs lay in dist/yargs/, and put the locales there (next to dist/yargs.cjs it would
      // read <package>/../locales, outside the package).
      banner: {
        js: 'const PEER_RENDEZVOUS_IMPORT_META_URL = require("node:url").pathToFileURL(require("node:path").join(__dirname, "yargs", "lib", "platform-shims", "esm.mjs")).href;',
      },
      footer: { js: 'module.exports = module.exports.default;' },
      logLevel: 'silent',
    });
    const locales = join(dirname(require.resolve('yargs/package.json')), 'locales');
    const target = join(dirname(outfile), 'yargs', 'locales');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    for (const f of readdirSync(locales))
      if (f.endsWith('.json')) copyFileSync(join(locales, f), join(target, f));
    renameSync(`${yargsFile}.tmp-${process.pid}`, yargsFile);
  }
  if (!sea) {
    // The first line names this build (a hash of the code): bin/peer-rendezvous.js uses a code cache
    // (scripts/code-cache.mjs) only when it was made from the bundle that carries the same line. A new
    // bundle makes the old cache stale: it goes.
    // esbuild escapes non-ASCII characters in code but keeps comments as written: one `…` in a comment makes V8
    // hold the whole 600 KB source as a two-byte string (twice the memory, a slower decode on every start).
    // Escaped the same way, the comments stay readable and the file is ASCII.
    const code = readFileSync(tmp, 'utf8').replace(
      /[^\x00-\x7f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    const build = createHash('sha256').update(code).digest('hex').slice(0, 16);
    writeFileSync(tmp, `// peer-rendezvous build ${build}\n${code}`);
    rmSync(`${outfile}.v8cache`, { force: true });
  }
  renameSync(tmp, outfile);
  return { inputs: Object.keys(result.metafile.inputs).length, bytes: statSync(outfile).size };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  try {
    await bundleCli({ outfile: resolve(values.out ?? join(root, 'dist', 'cli.cjs')), version: pkg.version });
  } catch (error) {
    process.stderr.write(`bundle-cli: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
