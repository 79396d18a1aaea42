// Random bytes for the run path (DNS question IDs, nonces, incarnations, generations, temp-file names) without
// node:crypto. Loading node:crypto costs a pod ~3.6 ms of its start-up (it loads 17 internal crypto modules and
// the stream stack with them: bench/results.md, "Start-up without node:crypto"), more than every other builtin
// a pod loads together; N pods pay it at once. The bytes come from the kernel's CSPRNG, /dev/urandom (what
// OpenSSL seeds from too), read 4 KiB at a time; where it cannot be opened (no /dev, not Linux) node:crypto's
// randomFillSync fills the pool instead. HMAC (auth.ts, only with a token) and SHA-256 (`--peers`) load
// node:crypto where they are used.
import { closeSync, openSync, readSync } from 'node:fs';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
/** The next unused byte of the pool; each byte is handed out once. */
let offset = POOL_BYTES;
/** Where the pool's bytes come from: set by the first refill (tests read it). */
let source: 'urandom' | 'crypto' | undefined;

/** Which source filled the pool last ('urandom' or 'crypto'); undefined before the first draw. */
export function randomSource(): 'urandom' | 'crypto' | undefined {
  return source;
}

/** Fill `buf` completely from /dev/urandom; false when it cannot be opened or read to the end. */
function fromUrandom(buf: Buffer): boolean {
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n <= 0) return false;
      got += n;
    }
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Refill the pool; once /dev/urandom failed, node:crypto for good (no open per refill that fails again). */
function refill(): void {
  if (source !== 'crypto' && fromUrandom(pool)) source = 'urandom';
  else {
    process.getBuiltinModule('node:crypto').randomFillSync(pool);
    source = 'crypto';
  }
  offset = 0;
}

/** Copy `n` fresh random bytes into `target` at `at`. */
function draw(target: Buffer, at: number, n: number): void {
  let done = 0;
  while (done < n) {
    if (offset === POOL_BYTES) refill();
    const take = Math.min(n - done, POOL_BYTES - offset);
    pool.copy(target, at + done, offset, offset + take);
    offset += take;
    done += take;
  }
}

/** `n` random bytes (a new Buffer). */
export function randomBytes(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`randomBytes: ${n} is not a byte count`);
  const out = Buffer.allocUnsafe(n);
  draw(out, 0, n);
  return out;
}

const UINT32 = 2 ** 32;
const word = Buffer.allocUnsafe(4);

/**
 * A uniform random integer in [min, max) — `randomInt(max)` is [0, max) — as node:crypto's randomInt, for a
 * range of at most 2^32 (rejection sampling: no modulo bias).
 */
export function randomInt(min: number, max?: number): number {
  const [lo, hi] = max === undefined ? [0, min] : [min, max];
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi <= lo || hi - lo > UINT32) {
    throw new RangeError(`randomInt: [${lo}, ${hi}) is not a range of 1 to 2^32 integers`);
  }
  const range = hi - lo;
  // The largest multiple of range that fits in 32 bits: values at or above it would make low results likelier.
  const limit = UINT32 - (UINT32 % range);
  for (;;) {
    draw(word, 0, 4);
    const x = word.readUInt32BE(0);
    if (x < limit) return lo + (x % range);
  }
}
