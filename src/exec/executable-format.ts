// What execve(2) would do with a file: a #! script needs its interpreter, an ELF binary its loader.
// A failed execve aborts Node 22.15–25.x, so these are checked before, with the reason in words.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/** Why the kernel would refuse to run `file`, or undefined when it should start. */
export function formatProblem(file: string, cwd: string, depth = 0): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    // Executable but not readable (mode --x): the kernel can still run an ELF binary; nothing to check.
    return undefined;
  }
  try {
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 2 && head[0] === 0x23 && head[1] === 0x21)
      return shebangProblem(head.subarray(0, n), cwd, depth);
    if (n >= 4 && head.readUInt32BE(0) === 0x7f454c46) return elfProblem(fd, head.subarray(0, n), cwd);
    return 'it is neither a #! script nor an ELF binary (execve would fail with ENOEXEC); add a #! line';
  } finally {
    closeSync(fd);
  }
}

/** A `#!` line: the interpreter must exist and be executable (Linux allows a few levels of nesting). */
function shebangProblem(head: Buffer, cwd: string, depth: number): string | undefined {
  const end = head.indexOf(0x0a);
  const line = head.subarray(2, end < 0 ? head.length : end).toString('latin1');
  const interpreter = line.replace(/^[ \t]+/, '').split(/[ \t]/)[0] ?? '';
  if (interpreter.endsWith('\r')) {
    return `its #! line ends in a carriage return (Windows line endings): the kernel looks for ${JSON.stringify(interpreter)}`;
  }
  if (interpreter === '') return 'its #! line names no interpreter';
  const path = isAbsolute(interpreter) ? interpreter : resolve(cwd, interpreter);
  const problem = fileProblem(path);
  if (problem !== undefined) return `its #! interpreter ${interpreter} ${problem}`;
  if (depth >= 3) return `its #! interpreter ${interpreter} is nested too deeply`;
  const inner = formatProblem(path, cwd, depth + 1);
  return inner === undefined ? undefined : `its #! interpreter ${interpreter}: ${inner}`;
}

const PT_INTERP = 3;

/** An ELF binary's program interpreter (the dynamic loader, e.g. /lib/ld-musl-x86_64.so.1) must exist. */
function elfProblem(fd: number, head: Buffer, cwd: string): string | undefined {
  if (head.length < 64) return undefined;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) =>
    is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o);
  const phoff = word(head, is64 ? 32 : 28);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = u16(head, is64 ? 56 : 44);
  if (phentsize === 0 || phnum === 0 || phnum > 512) return undefined;
  const table = Buffer.alloc(phentsize * phnum);
  if (readSync(fd, table, 0, table.length, phoff) !== table.length) return 'its ELF header is truncated';
  for (let i = 0; i < phnum; i++) {
    const ph = table.subarray(i * phentsize, (i + 1) * phentsize);
    if (u32(ph, 0) !== PT_INTERP) continue;
    const offset = word(ph, is64 ? 8 : 4);
    const size = word(ph, is64 ? 32 : 16);
    if (size === 0 || size > 4096) return 'its ELF interpreter entry is malformed';
    const raw = Buffer.alloc(size);
    readSync(fd, raw, 0, size, offset);
    const interpreter = raw.toString('latin1').replace(/\0.*$/s, '');
    const problem = fileProblem(isAbsolute(interpreter) ? interpreter : resolve(cwd, interpreter));
    return problem === undefined
      ? undefined
      : `its ELF interpreter ${interpreter} ${problem} (a binary built for another libc?)`;
  }
  return undefined;
}

/** Why `path` is not an executable regular file, or undefined. */
export function fileProblem(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'is a directory';
    if (!st.isFile()) return 'is not a regular file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EACCES' ? 'cannot be reached (permission denied)' : 'does not exist';
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return 'is not executable (permission denied)';
  }
  return undefined;
}
