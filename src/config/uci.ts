/**
 * Parser for OpenWRT's UCI configuration file format (the files in /etc/config/).
 *
 * This is an independent implementation of the grammar accepted by libuci's
 * file parser (openwrt/uci, file.c: uci_parse_line / next_arg / parse_str),
 * as used by `uci_load()` with the default UCI_FLAG_STRICT context flag.
 * Pure function, no runtime-specific APIs, never throws.
 *
 * Grammar (as implemented by libuci):
 *
 *  - The input is processed line by line. A statement starts with a command
 *    word, split off at spaces/tabs only: `package`, `config`, `option`,
 *    `list`, or their one-letter abbreviations `p`, `c`, `o`, `l`. A word
 *    starting with `#` makes the rest of the line a comment. Anything else is
 *    "invalid command".
 *  - Arguments are separated by whitespace. Each argument is a concatenation
 *    of parts: `'single quoted'` (fully literal, no escapes), `"double quoted"`
 *    (a backslash makes the next character literal) and unquoted characters
 *    (backslash makes the next character literal, so `\ ` is a literal space
 *    and `\#` a literal `#`). So `'a'"b"c` is `abc` and `'it'\''s'` is `it's`
 *    (this is how `uci export` escapes single quotes). Escapes are NOT decoded:
 *    `\n` is just `n`.
 *  - A backslash at the end of a line (quoted or not) joins the next line,
 *    dropping the backslash and the line break. Outside quotes the word
 *    continues with the first character of the next line, so leading
 *    indentation on the continuation line ends the word.
 *  - Quoted strings may span lines; the line breaks are part of the value.
 *    End of input inside quotes is "unterminated" quote.
 *  - Outside quotes, `#` anywhere (even mid-word, `a#b`) starts a comment that
 *    runs to the end of the (logical) line.
 *  - Outside quotes, `;` ends the current word and an argument that *starts*
 *    with `;` is empty and consumes the `;`; after a complete statement
 *    another command may follow (`option a 1; option b 2`). These are libuci's
 *    exact mechanics, including its quirks: `config t; option a b` is
 *    rejected (the `;` is taken as the empty section name, leaving `option`
 *    as an extra argument), and a `;` at the end of a line is rejected too.
 *  - `package <name>`: name of [A-Za-z0-9_-]. In /etc/config files libuci
 *    ignores it (the file name is the package name); here it is reported as
 *    `UciPackage.name`. A second `package` statement with a different name
 *    is rejected (uci would start a second package, which this model cannot
 *    represent).
 *  - `config <type> [<name>]`: type is any printable, non-space ASCII
 *    (33..126); name is [A-Za-z0-9_]. An empty name (`''`) means anonymous.
 *  - `option <name> <value>` / `list <name> <value>`: name is [A-Za-z0-9_].
 *    Both are errors before the first `config`.
 *  - Extra arguments are "too many arguments" (strict mode, the default).
 *    Note that an extra argument that evaluates to the empty string (`''`) is
 *    silently accepted by libuci, and so it is here.
 *
 * Semantics (mirroring uci_set / uci_add_list as called by the parser):
 *
 *  - `option n v` sets or replaces option n (a previous list of the same name
 *    is replaced by the single value). Replacing keeps the option's position.
 *  - `list n v` appends v to list n; if n currently is a plain option, it is
 *    converted into a list whose first item is the old value.
 *  - `option n ''` (explicitly empty) is ignored by libuci when loading a
 *    file: it neither creates nor clears the option. Same here.
 *    `list n ''` appends an empty item.
 *  - Two `config` statements with the same section name refer to the SAME
 *    section: libuci looks the name up and continues the existing section, so
 *    later options extend/replace the earlier ones and the section keeps its
 *    original position (and index). If the type differs, libuci (strict) fails
 *    with "section of different type overwrites prior section with same name";
 *    so does this parser.
 *  - `@type[i]` indices count all sections of that type, named and anonymous,
 *    in file order (uci_lookup_ext_section).
 *
 * Deliberate differences from libuci (all stricter, so whatever this parser
 * accepts, libuci accepts too):
 *
 *  - A missing value (`option foo` / `list foo` with no value token at all) is
 *    an error "missing value". libuci silently ignores such an `option` and
 *    appends an empty item for such a `list`, which is never what was meant.
 *  - NUL characters are rejected (libuci's line reader mangles them).
 *  - `\r\n` is normalized to `\n` before parsing, also inside multi-line
 *    quoted values (libuci would keep the `\r` in such a value).
 *  - libuci stops at the first error, reporting a buffer byte offset; here
 *    errors carry the 1-based line and column (in UTF-16 code units) of the
 *    offending token, e.g. the opening quote of an unterminated string.
 */

export type UciValue =
  | { kind: 'option'; value: string; line: number }
  | { kind: 'list'; values: string[]; line: number };

export interface UciSection {
  type: string;
  name: string | null;
  /** index among sections of the same type, for @type[i] */
  index: number;
  /** line of the (first) `config` statement */
  line: number;
  /** options in first-definition order; `line` is the statement that created the current value */
  options: Map<string, UciValue>;
  /** lines of later `config` statements with the same name, which libuci merges into this one */
  repeatedAt: number[];
}

export interface UciPackage {
  name: string | null;
  sections: UciSection[];
}

export class UciParseError {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly message: string,
  ) {}

  toString(): string {
    return `line ${this.line}, column ${this.column}: ${this.message}`;
  }
}

export type UciParseResult = { ok: true; value: UciPackage } | { ok: false; error: UciParseError };

/** "@route[2]" for anonymous sections, the name for named ones */
export function sectionLabel(s: UciSection): string {
  return s.name !== null ? s.name : `@${s.type}[${s.index}]`;
}

/** Internal control-flow exception; never escapes parseUci. */
class Failure {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

const END = '';

/** C isspace() in the "C" locale. */
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function isAlnumOrUnderscore(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

/** Section and option names: [A-Za-z0-9_]+ */
function validName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isAlnumOrUnderscore(s.charCodeAt(i))) return false;
  return true;
}

/** Package names: [A-Za-z0-9_-]+ */
function validPackageName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isAlnumOrUnderscore(c) && c !== 45) return false;
  }
  return true;
}

/** Section types: printable non-space ASCII (33..126)+ */
function validType(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

interface Arg {
  value: string;
  /** offset where the argument starts (after leading whitespace) */
  start: number;
  /** true if any quote or character was seen, i.e. the token was written (possibly as '') */
  present: boolean;
  /** end of the previous argument token */
  prevEnd: number;
}

type Command = 'package' | 'config' | 'option' | 'list';

function commandOf(word: string): Command | null {
  switch (word) {
    case 'p':
    case 'package':
      return 'package';
    case 'c':
    case 'config':
      return 'config';
    case 'o':
    case 'option':
      return 'option';
    case 'l':
    case 'list':
      return 'list';
    default:
      return null;
  }
}

class Parser {
  /** cursor */
  private pos = 0;
  /** end of the current logical line (exclusive); characters at or after it read as END */
  private lineEnd = 0;
  /** start of the next physical line not yet fetched */
  private nextLine = 0;
  /** end of the last argument token (before its terminator), for error positions */
  private tokenEnd = 0;

  private readonly pkg: UciPackage = { name: null, sections: [] };
  private section: UciSection | null = null;
  private readonly named = new Map<string, UciSection>();
  private readonly typeCounts = new Map<string, number>();
  /** where the first quoted value that runs over a line break starts */
  private multilineStart: number | undefined;

  /**
   * A quoted value may run over several lines, so a quote left open pairs with the next one and
   * the error surfaces at a later quote: name the first value that ran over a line break.
   */
  private multilineHint(open: number): string {
    const first = this.multilineStart;
    if (first === undefined || first === open) return '';
    const at = this.location(first);
    return `; the value quoted at line ${at.line}, column ${at.column} runs over several lines: is its closing quote missing?`;
  }
  private readonly lineStarts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  run(): UciPackage {
    const nul = this.text.indexOf('\0');
    if (nul >= 0) throw new Failure(nul, 'NUL character in input');
    while (this.nextLine < this.text.length) {
      this.pos = this.nextLine;
      this.lineEnd = this.nextLine;
      this.fetchLine();
      this.parseLine();
    }
    return this.pkg;
  }

  /** 1-based line and column of an offset */
  location(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  private lineOf(offset: number): number {
    return this.location(offset).line;
  }

  // ---- low-level reading -------------------------------------------------

  private cur(): string {
    return this.pos < this.lineEnd ? this.text[this.pos]! : END;
  }

  /**
   * Append the next physical line to the logical line and continue reading at
   * its start (libuci's uci_getln(ctx, pos)). Returns false at end of input.
   */
  private fetchLine(): boolean {
    if (this.nextLine >= this.text.length) return false;
    const nl = this.text.indexOf('\n', this.nextLine);
    const end = nl < 0 ? this.text.length : nl + 1;
    this.pos = this.nextLine;
    this.lineEnd = end;
    this.nextLine = end;
    return true;
  }

  private skipWhitespace(): void {
    while (this.pos < this.lineEnd && isSpace(this.text[this.pos]!)) this.pos++;
  }

  /**
   * Called with the cursor on a backslash. Returns the escaped character, or
   * null if the backslash ended the line (then the next line has been joined,
   * or the input is exhausted).
   */
  private backslash(): string | null {
    this.pos++;
    const c = this.cur();
    if (c === END || c === '\n') {
      this.fetchLine();
      return null;
    }
    this.pos++;
    return c;
  }

  private singleQuoted(): string {
    const open = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.cur();
      if (c === "'") {
        this.pos++;
        return out;
      }
      if (c === END) {
        if (!this.fetchLine()) throw new Failure(open, `unterminated single quote (')${this.multilineHint(open)}`);
        this.multilineStart ??= open;
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  private doubleQuoted(): string {
    const open = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.cur();
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === END) {
        if (!this.fetchLine()) throw new Failure(open, `unterminated double quote (")${this.multilineHint(open)}`);
        this.multilineStart ??= open;
        continue;
      }
      if (c === '\\') {
        const e = this.backslash();
        if (e !== null) out += e;
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  /** libuci parse_str: one argument made of quoted/unquoted parts. */
  private word(): { value: string; present: boolean } {
    let out = '';
    let present = false;
    let skipTerminator = true;
    for (;;) {
      const c = this.cur();
      if (c === "'") {
        out += this.singleQuoted();
        present = true;
      } else if (c === '"') {
        out += this.doubleQuoted();
        present = true;
      } else if (c === '#') {
        // comment: truncate the logical line here
        this.lineEnd = this.pos;
        break;
      } else if (c === END) {
        break;
      } else if (c === ';') {
        skipTerminator = false;
        break;
      } else if (c === '\\') {
        const e = this.backslash();
        if (e !== null) {
          out += e;
          present = true;
        }
      } else {
        out += c;
        present = true;
        this.pos++;
      }
      const n = this.cur();
      if (n === END || isSpace(n)) break;
    }
    this.tokenEnd = this.pos;
    if (skipTerminator && this.cur() !== END) this.pos++;
    return { value: out, present };
  }

  /** libuci next_arg (without the name validation, done by the callers). */
  private arg(): Arg {
    const prevEnd = this.tokenEnd;
    this.skipWhitespace();
    const start = this.pos;
    if (this.cur() === ';') {
      this.pos++;
      return { value: '', start, present: false, prevEnd };
    }
    const w = this.word();
    return { value: w.value, start, present: w.present, prevEnd };
  }

  private requiredArg(what: string): Arg {
    const a = this.arg();
    if (a.value === '') throw new Failure(this.missingAt(a), `missing ${what}`);
    return a;
  }

  /** where to report a missing argument: where it was expected, or right after the previous token at end of line */
  private missingAt(a: Arg): number {
    return this.text.slice(a.prevEnd, a.start).includes('\n') ? a.prevEnd : a.start;
  }

  /** libuci assert_eol (strict mode). */
  private endOfStatement(): void {
    const a = this.arg();
    if (a.value !== '') throw new Failure(a.start, `too many arguments (unexpected '${a.value}')`);
  }

  // ---- statements --------------------------------------------------------

  private parseLine(): void {
    this.skipWhitespace();
    for (;;) {
      // command word, split at spaces and tabs only (libuci uses strtok(" \t"))
      while (this.cur() === ' ' || this.cur() === '\t') this.pos++;
      if (this.cur() === END) return;
      const start = this.pos;
      while (this.pos < this.lineEnd && this.text[this.pos] !== ' ' && this.text[this.pos] !== '\t') this.pos++;
      const word = this.text.slice(start, this.pos);
      if (word[0] === '#') return;
      let cmd = commandOf(word);
      if (cmd === null) {
        const bare = word.replace(/\s+$/, '');
        // libuci reads the line end itself as the next command after a ";" that ends a statement,
        // or after an empty extra argument followed by a space ("package x '' ").
        if (bare === '') throw new Failure(start, "invalid command (the line ends where another command should follow: after ';' or an empty extra argument)");
        cmd = commandOf(bare);
        if (cmd === null) throw new Failure(start, `invalid command '${bare}'`);
        // libuci: "invalid command" / "<cmd> without name"
        if (cmd === 'option' || cmd === 'list') this.requireSection(start);
        throw new Failure(start, `${cmd} without arguments`);
      }
      if ((cmd === 'option' || cmd === 'list') && this.section === null) this.requireSection(start);
      if (this.pos >= this.lineEnd) throw new Failure(start, `${cmd} without arguments`);
      this.pos++; // the space/tab after the command word
      switch (cmd) {
        case 'package':
          this.parsePackage();
          break;
        case 'config':
          this.parseConfig(start);
          break;
        case 'option':
        case 'list':
          this.parseOption(start, cmd === 'list');
          break;
      }
    }
  }

  private requireSection(at: number): void {
    if (this.section === null) throw new Failure(at, 'option/list command found before the first section');
  }

  private parsePackage(): void {
    const name = this.requiredArg('package name');
    if (!validPackageName(name.value))
      throw new Failure(name.start, `invalid character in package name '${name.value}'`);
    this.endOfStatement();
    if (this.pkg.name !== null && this.pkg.name !== name.value)
      throw new Failure(name.start, `second package statement ('${name.value}' after '${this.pkg.name}')`);
    this.pkg.name = name.value;
  }

  private parseConfig(at: number): void {
    const type = this.requiredArg('section type');
    if (!validType(type.value)) throw new Failure(type.start, `invalid character in section type '${type.value}'`);
    const name = this.arg();
    if (name.value !== '' && !validName(name.value))
      throw new Failure(name.start, `invalid character in section name '${name.value}'`);
    this.endOfStatement();

    if (name.value !== '') {
      const existing = this.named.get(name.value);
      if (existing) {
        if (existing.type !== type.value)
          throw new Failure(
            type.start,
            `section '${name.value}' redeclared with type '${type.value}' (was '${existing.type}' on line ${existing.line})`,
          );
        existing.repeatedAt.push(this.lineOf(type.start));
        this.section = existing;
        return;
      }
    }
    const index = this.typeCounts.get(type.value) ?? 0;
    this.typeCounts.set(type.value, index + 1);
    const s: UciSection = {
      type: type.value,
      name: name.value === '' ? null : name.value,
      index,
      line: this.lineOf(at),
      options: new Map(),
      repeatedAt: [],
    };
    this.pkg.sections.push(s);
    if (s.name !== null) this.named.set(s.name, s);
    this.section = s;
  }

  private parseOption(at: number, list: boolean): void {
    const section = this.section!;
    const name = this.requiredArg('option name');
    if (!validName(name.value)) throw new Failure(name.start, `invalid character in option name '${name.value}'`);
    const value = this.arg();
    if (!value.present) throw new Failure(this.missingAt(value), `missing value for ${list ? 'list' : 'option'} '${name.value}'`);
    this.endOfStatement();

    const line = this.lineOf(at);
    const old = section.options.get(name.value);
    if (list) {
      if (old === undefined) section.options.set(name.value, { kind: 'list', values: [value.value], line });
      else if (old.kind === 'list') old.values.push(value.value);
      else section.options.set(name.value, { kind: 'list', values: [old.value, value.value], line: old.line });
    } else if (value.value !== '') {
      // (an explicitly empty option value is ignored, like libuci does)
      section.options.set(name.value, { kind: 'option', value: value.value, line });
    }
  }
}

/**
 * Parse the text of a UCI configuration file. Never throws; the first error
 * aborts parsing (like libuci in strict mode).
 */
export function parseUci(text: string): UciParseResult {
  let parser: Parser | null = null;
  try {
    const src = String(text).replace(/\r\n/g, '\n');
    parser = new Parser(src);
    return { ok: true, value: parser.run() };
  } catch (e) {
    if (e instanceof Failure && parser !== null) {
      const { line, column } = parser.location(e.offset);
      return { ok: false, error: new UciParseError(line, column, e.message) };
    }
    return { ok: false, error: new UciParseError(1, 1, `internal parser error: ${String(e)}`) };
  }
}
