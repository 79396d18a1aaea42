// Printing exports so that `eval "$(peer-rendezvous env)"` gives back exactly the same values.

/** A POSIX shell word that stands for `value` literally: single quotes, each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export NAME='value'` lines, one per variable, in the given order. Throws on a name a shell cannot take. */
export function shellExports(env: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [name, value] of Object.entries(env)) {
    if (!NAME.test(name)) throw new TypeError(`Expected a shell variable name, got ${JSON.stringify(name)}`);
    out += `export ${name}=${shellQuote(value)}\n`;
  }
  return out;
}

/** The exports as one JSON object on one line. */
export function jsonExports(env: Readonly<Record<string, string>>): string {
  return `${JSON.stringify(env)}\n`;
}
