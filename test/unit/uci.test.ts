import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { parseUci, sectionLabel, UciParseError, type UciPackage, type UciSection } from '../../src/config/uci.ts';

function parsed(t: ExecutionContext, text: string): UciPackage {
  const r = parseUci(text);
  if (!r.ok) {
    t.fail(`unexpected parse error: ${r.error.toString()}`);
    throw new Error('unreachable');
  }
  return r.value;
}

function failed(t: ExecutionContext, text: string): UciParseError {
  const r = parseUci(text);
  if (r.ok) {
    t.fail(`expected a parse error for ${JSON.stringify(text)}`);
    throw new Error('unreachable');
  }
  t.true(r.error instanceof UciParseError);
  return r.error;
}

function assertError(t: ExecutionContext, text: string, line: number, column: number, message: RegExp): void {
  const e = failed(t, text);
  t.is(e.line, line, `line of ${e.toString()}`);
  t.is(e.column, column, `column of ${e.toString()}`);
  t.regex(e.message, message);
}

/** the value of one option of the only/first section */
function opt(t: ExecutionContext, body: string, name = 'v'): string | string[] | undefined {
  const p = parsed(t, `config t\n${body}\n`);
  const v = p.sections[0]!.options.get(name);
  if (v === undefined) return undefined;
  return v.kind === 'option' ? v.value : v.values;
}

type PlainValue = string | string[];
interface PlainSection {
  type: string;
  name: string | null;
  index: number;
  options: [string, { kind: 'option' | 'list'; v: PlainValue }][];
}

function plain(p: UciPackage): { name: string | null; sections: PlainSection[] } {
  return {
    name: p.name,
    sections: p.sections.map((s) => ({
      type: s.type,
      name: s.name,
      index: s.index,
      options: [...s.options].map(([k, v]) => [k, v.kind === 'option' ? { kind: 'option', v: v.value } : { kind: 'list', v: v.values }]),
    })),
  };
}

// ---------------------------------------------------------------------------
// realistic files

const FIREWALL = `config defaults
	option syn_flood	1
	option input		ACCEPT
	option output		ACCEPT
	option forward		REJECT
# Uncomment this line to disable ipv6 rules
#	option disable_ipv6	1

config zone
	option name		lan
	list   network		'lan'
	option input		ACCEPT
	option output		ACCEPT
	option forward		ACCEPT

config zone
	option name		wan
	list   network		'wan'
	list   network		'wan6'
	option input		REJECT
	option output		ACCEPT
	option forward		REJECT
	option masq		1
	option mtu_fix		1

config forwarding
	option src		lan
	option dest		wan

# We need to accept udp packets on port 68,
# see https://dev.openwrt.org/ticket/4108
config rule
	option name		Allow-DHCP-Renew
	option src		wan
	option proto		udp
	option dest_port	68
	option target		ACCEPT
	option family		ipv4

config rule
	option name		Allow-ICMPv6-Input
	option src		wan
	option proto	icmp
	list icmp_type		echo-request
	list icmp_type		echo-reply
	option limit		1000/sec
	option family		ipv6
	option target		ACCEPT

config include
	option path /etc/firewall.user
`;

test('parses a realistic firewall config', (t) => {
  const p = parsed(t, FIREWALL);
  t.is(p.name, null);
  t.deepEqual(
    p.sections.map(sectionLabel),
    ['@defaults[0]', '@zone[0]', '@zone[1]', '@forwarding[0]', '@rule[0]', '@rule[1]', '@include[0]'],
  );
  const defaults = p.sections[0]!;
  t.is(defaults.line, 1);
  t.deepEqual([...defaults.options.keys()], ['syn_flood', 'input', 'output', 'forward']);
  t.deepEqual(defaults.options.get('syn_flood'), { kind: 'option', value: '1', line: 2 });
  const wan = p.sections[2]!;
  t.is(wan.line, 16);
  t.deepEqual(wan.options.get('network'), { kind: 'list', values: ['wan', 'wan6'], line: 18 });
  t.deepEqual(wan.options.get('masq'), { kind: 'option', value: '1', line: 23 });
  const icmp = p.sections[5]!;
  t.deepEqual(icmp.options.get('icmp_type'), { kind: 'list', values: ['echo-request', 'echo-reply'], line: 44 });
  t.is((icmp.options.get('limit') as { value: string }).value, '1000/sec');
  t.is((p.sections[6]!.options.get('path') as { value: string }).value, '/etc/firewall.user');
});

test('parses a package with named sections (microsocks style)', (t) => {
  const p = parsed(
    t,
    `package ugate

config microsocks 'config'
	option enabled '1'
	option listen_ip '0.0.0.0'
	option port '1080'
	option auth_once "0"
	option user ''

config ugate main
	option log_level info
	list dns '1.1.1.1'
	list dns 8.8.8.8 # fallback
`,
  );
  t.is(p.name, 'ugate');
  t.deepEqual(p.sections.map(sectionLabel), ['config', 'main']);
  t.is(p.sections[0]!.index, 0);
  t.is(p.sections[1]!.type, 'ugate');
  t.deepEqual([...p.sections[0]!.options.keys()], ['enabled', 'listen_ip', 'port', 'auth_once']);
  t.deepEqual(p.sections[1]!.options.get('dns'), { kind: 'list', values: ['1.1.1.1', '8.8.8.8'], line: 12 });
});

test('empty input and comment-only input give an empty package', (t) => {
  t.deepEqual(plain(parsed(t, '')), { name: null, sections: [] });
  t.deepEqual(plain(parsed(t, '\n\n   \n\t# only a comment\n#\n')), { name: null, sections: [] });
  t.deepEqual(plain(parsed(t, 'config t')), {
    name: null,
    sections: [{ type: 't', name: null, index: 0, options: [] }],
  });
});

// ---------------------------------------------------------------------------
// quoting

test('single quotes are fully literal', (t) => {
  t.is(opt(t, `option v 'a\\b "c" #d ;e'`), 'a\\b "c" #d ;e');
  t.is(opt(t, `option v 'trailing\\'`), 'trailing\\');
  t.is(opt(t, `option v '  spaced  '`), '  spaced  ');
});

test('double quotes: backslash makes the next character literal, no decoding', (t) => {
  t.is(opt(t, 'option v "a\\"b\\\\c"'), 'a"b\\c');
  t.is(opt(t, 'option v "\\n\\t\\x"'), 'ntx');
  t.is(opt(t, `option v "it's #1; ok"`), "it's #1; ok");
  t.is(opt(t, `option v "\\'"`), "'");
});

test('unquoted words: backslash escapes, stop at whitespace', (t) => {
  t.is(opt(t, 'option v a\\ b\\#c\\;d\\\\e\\"f'), 'a b#c;d\\e"f');
  t.is(opt(t, 'option v 192.168.1.1/24'), '192.168.1.1/24');
  t.is(opt(t, 'option v \\n'), 'n');
});

test('adjacent parts concatenate', (t) => {
  t.is(opt(t, `option v 'a'"b"c`), 'abc');
  t.is(opt(t, `option v pre'mid dle'"post fix"`), 'premid dlepost fix');
  t.is(opt(t, `option v 'it'\\''s'`), "it's");
  t.is(opt(t, `option v ''"a"''`), 'a');
  // an empty quoted part still makes the value present: "x" is an extra argument
  assertError(t, `config t\noption v ''"" x\n`, 2, 15, /too many arguments/);
});

test('quoted names and types are accepted', (t) => {
  const p = parsed(t, `config 'my type' 'n1'\n`.replace('my type', 'my-type') + `\toption "opt_1" 'v'\n`);
  t.is(p.sections[0]!.type, 'my-type');
  t.is(p.sections[0]!.name, 'n1');
  t.deepEqual([...p.sections[0]!.options.keys()], ['opt_1']);
  // types allow any printable non-space ASCII (uci_validate_type)
  t.is(parsed(t, 'config a.b:c/d@e\n').sections[0]!.type, 'a.b:c/d@e');
});

test('multi-line quoted values keep their line breaks', (t) => {
  t.is(opt(t, `option v 'line1\nline2\n'`), 'line1\nline2\n');
  t.is(opt(t, `option v "a\n  b"`), 'a\n  b');
  // from uci's own test suite (get_multiline.data)
  t.is(opt(t, `\t# Cannot preserve trailling whitespace with assertEquals.\n\toption v "\\"Hello, \\\nWorld.\n\\'"`), `"Hello, World.\n'`);
  const p = parsed(t, `config t\n\toption a 'x\ny'\n\toption b z\n`);
  t.deepEqual(p.sections[0]!.options.get('b'), { kind: 'option', value: 'z', line: 4 });
});

// ---------------------------------------------------------------------------
// comments

test('comments: whole line, indented, after statements, mid-word', (t) => {
  const p = parsed(
    t,
    `# header
config t # anonymous despite the comment
\t# indented comment
\toption a 1 # trailing
\toption b x#not-part-of-value
\toption c '#quoted' # comment
\toption d \\#escaped
\toption e "x" #
`,
  );
  const s = p.sections[0]!;
  t.is(s.name, null);
  t.deepEqual(
    [...s.options].map(([k, v]) => [k, v.kind === 'option' ? v.value : v.values]),
    [
      ['a', '1'],
      ['b', 'x'],
      ['c', '#quoted'],
      ['d', '#escaped'],
      ['e', 'x'],
    ],
  );
});

// ---------------------------------------------------------------------------
// continuation

test('backslash at end of line joins the next line', (t) => {
  t.is(opt(t, 'option v abc\\\ndef'), 'abcdef');
  t.is(opt(t, 'option v "abc\\\ndef"'), 'abcdef');
  t.is(opt(t, 'option v \\\nvalue'), 'value');
  // the continuation line's indentation ends the (still empty) value
  assertError(t, 'config t\noption v \\\n  value\n', 2, 10, /missing value/);
  const p = parsed(t, 'config \\\nt \\\nname\n\toption \\\na \\\n1\n\toption b 2\n');
  t.is(sectionLabel(p.sections[0]!), 'name');
  t.is(p.sections[0]!.type, 't');
  t.deepEqual(p.sections[0]!.options.get('a'), { kind: 'option', value: '1', line: 4 });
  t.deepEqual(p.sections[0]!.options.get('b'), { kind: 'option', value: '2', line: 7 });
});

test('continuation: indentation of the next line ends an unquoted word', (t) => {
  assertError(t, 'config t\noption v abc\\\n  def\n', 3, 3, /too many arguments/);
});

test('backslash-newline inside single quotes is literal', (t) => {
  t.is(opt(t, `option v 'a\\\nb'`), 'a\\\nb');
});

test('backslash at end of input', (t) => {
  t.is(opt(t, 'option v abc\\'), 'abc');
});

// ---------------------------------------------------------------------------
// lists and options

test('list accumulates, option replaces, list converts an option', (t) => {
  const p = parsed(
    t,
    `config t
\tlist l a
\toption o x
\tlist l b
\toption o y
\tlist l c
\toption r 1
\tlist r 2
\tlist r 3
\tlist q 1
\tlist q 2
\toption q only
\tlist e ''
\tlist e ''
`,
  );
  const o = p.sections[0]!.options;
  // insertion order is kept, replacement keeps the position
  t.deepEqual([...o.keys()], ['l', 'o', 'r', 'q', 'e']);
  t.deepEqual(o.get('l'), { kind: 'list', values: ['a', 'b', 'c'], line: 2 });
  t.deepEqual(o.get('o'), { kind: 'option', value: 'y', line: 5 });
  t.deepEqual(o.get('r'), { kind: 'list', values: ['1', '2', '3'], line: 7 });
  t.deepEqual(o.get('q'), { kind: 'option', value: 'only', line: 12 });
  t.deepEqual(o.get('e'), { kind: 'list', values: ['', ''], line: 13 });
});

test("an explicitly empty option value is ignored, like uci does", (t) => {
  const p = parsed(t, `config t\n\toption a ''\n\toption b 1\n\toption b ""\n`);
  t.deepEqual([...p.sections[0]!.options.keys()], ['b']);
  t.is((p.sections[0]!.options.get('b') as { value: string }).value, '1');
});

// ---------------------------------------------------------------------------
// sections

test('anonymous indexing counts all sections of the type, per type', (t) => {
  const p = parsed(
    t,
    `config route\nconfig rule\nconfig route 'named'\nconfig route\nconfig rule ''\nconfig route\n`,
  );
  t.deepEqual(p.sections.map(sectionLabel), ['@route[0]', '@rule[0]', 'named', '@route[2]', '@rule[1]', '@route[3]']);
  t.deepEqual(
    p.sections.map((s) => [s.type, s.index, s.line]),
    [
      ['route', 0, 1],
      ['rule', 0, 2],
      ['route', 1, 3],
      ['route', 2, 4],
      ['rule', 1, 5],
      ['route', 3, 6],
    ],
  );
});

test('a repeated section name continues the same section (uci merges)', (t) => {
  const p = parsed(
    t,
    `config iface lan
\toption proto static
\tlist dns a
config iface wan
\toption proto dhcp
config iface 'lan'
\toption proto dhcp
\tlist dns b
\toption mtu 1400
`,
  );
  t.is(p.sections.length, 2);
  const lan = p.sections[0]!;
  t.is(lan.name, 'lan');
  t.is(lan.index, 0);
  t.is(lan.line, 1);
  t.deepEqual([...lan.options.keys()], ['proto', 'dns', 'mtu']);
  t.deepEqual(lan.options.get('proto'), { kind: 'option', value: 'dhcp', line: 7 });
  t.deepEqual(lan.options.get('dns'), { kind: 'list', values: ['a', 'b'], line: 3 });
  t.is(p.sections[1]!.index, 1);
});

test('command abbreviations and ; separators', (t) => {
  const p = parsed(t, `p pk\nc t 'n'; o a 1; l b 2;l b 3\nconfig u x; option y z # done\n`);
  t.is(p.name, 'pk');
  t.deepEqual(plain(p).sections, [
    {
      type: 't',
      name: 'n',
      index: 0,
      options: [
        ['a', { kind: 'option', v: '1' }],
        ['b', { kind: 'list', v: ['2', '3'] }],
      ],
    },
    { type: 'u', name: 'x', index: 0, options: [['y', { kind: 'option', v: 'z' }]] },
  ]);
  // an unquoted ';' ends the statement, so what follows must be a command
  assertError(t, 'config t\noption v a;b\n', 2, 12, /invalid command 'b'/);
});

test('a repeated identical package statement is accepted', (t) => {
  t.is(parsed(t, 'package a-b_c\npackage a-b_c\n').name, 'a-b_c');
});

// ---------------------------------------------------------------------------
// CRLF

test('CRLF line ends', (t) => {
  const lf = `package p\n\nconfig t 'n' # c\n\toption a 'x y'\n\tlist b 1\n\tlist b "2"\n\toption c a\\\nb\n\toption d 'm\nl'\n`;
  const crlf = lf.replace(/\n/g, '\r\n');
  const a = parsed(t, lf);
  const b = parsed(t, crlf);
  t.deepEqual(plain(b), plain(a));
  t.deepEqual(b.sections[0]!.options.get('d'), { kind: 'option', value: 'm\nl', line: 9 });
  t.is((b.sections[0]!.options.get('c') as { value: string }).value, 'ab');
  assertError(t, 'config t\r\n\toption a\r\n', 2, 10, /missing value/);
});

// ---------------------------------------------------------------------------
// errors

test('error: a quote left open is named even when the error surfaces at a later quote', (t) => {
  // the quote opened on line 2 pairs with the one on line 3; the last one is left over
  const r = parseUci("config ugate 'main'\n\toption access_log '1\nconfig listener 'lan'\n\toption type 'redirect'\n");
  t.false(r.ok);
  if (!r.ok) {
    t.deepEqual([r.error.line, r.error.column], [4, 23]);
    t.regex(r.error.message, /unterminated single quote \('\); the value quoted at line 2, column 20 runs over several lines: is its closing quote missing\?/);
  }
});

test('error: unterminated quotes point at the opening quote', (t) => {
  assertError(t, "config t\n\toption a 'abc\n\toption b c\n", 2, 11, /unterminated single quote/);
  assertError(t, 'config t\n\toption a x"abc\\"\n', 2, 12, /unterminated double quote/);
  assertError(t, "config 'abc", 1, 8, /unterminated single quote/);
});

test('error: option/list outside a section', (t) => {
  assertError(t, '# x\n  option a b\n', 2, 3, /before the first section/);
  assertError(t, 'package p\nlist a b\n', 2, 1, /before the first section/);
});

test('error: too many arguments', (t) => {
  assertError(t, 'config t\n\toption a b c\n', 2, 13, /too many arguments/);
  assertError(t, 'config t n extra\n', 1, 12, /too many arguments/);
  assertError(t, 'package p q\n', 1, 11, /too many arguments/);
  assertError(t, "config t\n\toption a 'b' \"c\"\n", 2, 15, /too many arguments/);
  // uci quirk: the ';' is taken as the (empty) section name
  assertError(t, 'config t; option a b\n', 1, 11, /too many arguments/);
});

test('error: missing value, name, type', (t) => {
  assertError(t, 'config t\n\toption a\n', 2, 10, /missing value for option 'a'/);
  assertError(t, 'config t\n\tlist a   # c\n', 2, 11, /missing value for list 'a'/);
  assertError(t, 'config t\n\toption a;\n', 2, 10, /missing value/);
  assertError(t, "config t\n\toption '' v\n", 2, 9, /missing option name/);
  assertError(t, 'config t\n\toption # c\n', 2, 9, /missing option name/);
  assertError(t, "config '' n\n", 1, 8, /missing section type/);
  assertError(t, 'package ;\n', 1, 9, /missing package name/);
  assertError(t, 'config\n', 1, 1, /config without arguments/);
  assertError(t, 'config t\n\toption', 2, 2, /option without arguments/);
  assertError(t, 'package\n', 1, 1, /package without arguments/);
});

test('error: invalid names', (t) => {
  assertError(t, 'config t\n\toption a-b c\n', 2, 9, /invalid character in option name 'a-b'/);
  assertError(t, 'config t\n\tlist "a b" c\n', 2, 7, /invalid character in option name/);
  assertError(t, 'config t my-name\n', 1, 10, /invalid character in section name 'my-name'/);
  assertError(t, "config 'a b'\n", 1, 8, /invalid character in section type/);
  assertError(t, 'config tÿpe\n', 1, 8, /invalid character in section type/);
  assertError(t, 'package a.b\n', 1, 9, /invalid character in package name/);
  assertError(t, 'config t\n\toption ünïcode 1\n', 2, 9, /invalid character in option name/);
});

test('error: invalid commands', (t) => {
  assertError(t, 'config t\n  options a b\n', 2, 3, /invalid command 'options'/);
  assertError(t, 'config t\n\toption a b;\n', 2, 13, /invalid command/);
  assertError(t, 'config t\n\toption a b; bogus\n', 2, 14, /invalid command 'bogus'/);
  assertError(t, '"config" t\n', 1, 1, /invalid command/);
});

test('error: redeclaring a named section with another type', (t) => {
  assertError(t, 'config a x\nconfig b y\nconfig b x\n', 3, 8, /section 'x' redeclared with type 'b' \(was 'a' on line 1\)/);
});

test('error: second package statement, NUL characters', (t) => {
  assertError(t, 'package a\nconfig t\npackage b\n', 3, 9, /second package statement/);
  assertError(t, 'config t\n\toption a "x\0"\n', 2, 13, /NUL/);
});

test('UciParseError.toString', (t) => {
  const e = failed(t, 'config t\n\toption a b c\n');
  t.is(e.toString(), "line 2, column 13: too many arguments (unexpected 'c')");
  t.is(String(new UciParseError(3, 4, 'boom')), 'line 3, column 4: boom');
});

test('never throws on odd input types', (t) => {
  t.notThrows(() => parseUci(undefined as unknown as string));
  t.notThrows(() => parseUci(42 as unknown as string));
  const evil = { toString(): string { throw new Error('no'); } };
  const r = parseUci(evil as unknown as string);
  t.false(r.ok);
});

// ---------------------------------------------------------------------------
// properties

const UCI_ALPHABET = [
  'a', 'b', 'z', 'A', '0', '9', '_', '-', '.', ' ', ' ', '\t', "'", "'", '"', '"', '\\', '\\', '#', '#', ';', '\n',
  '\r', 'o', 'c', 'l', 'p', '$', 'é', '\u{1F600}', '\v', '\0',
];

test('property: parseUci never throws on random input', (t) => {
  const structured = fc
    .array(
      fc.oneof(
        fc.constantFrom('config', 'option', 'list', 'package', 'c', 'o', 'l', 'p', ' ', '\t', '\n', '\r\n', "'", '"', '\\', '#', ';'),
        fc.string({ maxLength: 4 }),
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));
  const chars = fc.array(fc.constantFrom(...UCI_ALPHABET), { maxLength: 60 }).map((a) => a.join(''));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), structured, chars), (s) => {
      const r = parseUci(s);
      if (!r.ok) {
        t.true(r.error.line >= 1 && r.error.column >= 1, r.error.toString());
        t.true(typeof r.error.message === 'string' && r.error.message.length > 0);
      }
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

// generated models ----------------------------------------------------------

interface GenValue {
  kind: 'option' | 'list';
  v: string | string[];
}
interface GenSection {
  type: string;
  name: string | null;
  options: [string, GenValue][];
}

const nameArb = fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/);
const typeArb = fc.stringMatching(/^[!-~]{1,8}$/);
const valueCharArb = fc.constantFrom(
  'a', 'B', '7', '_', ' ', ' ', '\t', "'", "'", '"', '"', '\\', '\\', '#', '#', ';', '\n', '$', '/', 'é', '\u{1F600}', '\r',
);
const valueArb = fc
  .array(valueCharArb, { maxLength: 12 })
  .map((a) => a.join(''))
  .filter((s) => !s.includes('\r\n')); // CRLF is normalized to LF by design

const sectionArb: fc.Arbitrary<GenSection> = fc.record({
  type: typeArb,
  name: fc.option(nameArb, { nil: null }),
  options: fc.uniqueArray(
    fc.tuple(
      nameArb,
      fc.oneof(
        valueArb.filter((s) => s !== '').map((v): GenValue => ({ kind: 'option', v })),
        fc.array(valueArb, { minLength: 1, maxLength: 4 }).map((v): GenValue => ({ kind: 'list', v })),
      ),
    ),
    { selector: ([n]) => n, maxLength: 6 },
  ),
});

const modelArb = fc.record({
  name: fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), { nil: null }),
  sections: fc.uniqueArray(sectionArb, {
    selector: (s) => s.name ?? Symbol('anonymous'),
    maxLength: 6,
  }),
});

type Style = 0 | 1 | 2;

/** encode one chunk in a given style; returns null if the style cannot encode it */
function encodeChunk(s: string, style: Style): string {
  if (style === 0) return `'${s.replace(/'/g, `'\\''`)}'`;
  if (style === 1) return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  // unquoted: escape everything that is not obviously safe; a line break cannot be escaped
  return s.replace(/[^A-Za-z0-9_./$é-]/gu, (c) => (c === '\n' || c === '\r' ? `'${c}'` : `\\${c}`));
}

/** serialize a string as a concatenation of differently quoted chunks */
function encode(s: string, styles: Style[], cuts: number[]): string {
  if (s === '') return styles[0] === 1 ? '""' : "''";
  const chars = [...s];
  const bounds = [...new Set(cuts.map((c) => c % (chars.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let prev = 0;
  for (const b of [...bounds, chars.length]) {
    if (b > prev) pieces.push(chars.slice(prev, b).join(''));
    prev = Math.max(prev, b);
  }
  return pieces.map((p, i) => encodeChunk(p, styles[i % styles.length] ?? 0)).join('');
}

interface Noise {
  styles: Style[];
  cuts: number[];
  ws: string[];
  comments: boolean[];
}

const noiseArb: fc.Arbitrary<Noise> = fc.record({
  styles: fc.array(fc.constantFrom<Style>(0, 1, 2), { minLength: 1, maxLength: 5 }),
  cuts: fc.array(fc.nat(20), { maxLength: 3 }),
  ws: fc.array(fc.constantFrom(' ', '\t', '  ', ' \t '), { minLength: 1, maxLength: 5 }),
  comments: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
});

function serialize(m: { name: string | null; sections: GenSection[] }, n: Noise): string {
  let k = 0;
  const pick = <T,>(xs: T[]): T => xs[k++ % xs.length]!;
  const enc = (s: string): string => encode(s, [...n.styles.slice(k % n.styles.length), ...n.styles], n.cuts.map((c) => c + k++));
  const sp = (): string => pick(n.ws);
  const comment = (): string => (pick(n.comments) ? `${sp()}# c'o"m\\ment ; x` : '');
  const lines: string[] = [];
  if (m.name !== null) lines.push(`package${sp()}${enc(m.name)}${comment()}`);
  for (const s of m.sections) {
    if (pick(n.comments)) lines.push('', `${sp()}# section`);
    lines.push(`config${sp()}${enc(s.type)}${s.name !== null ? sp() + enc(s.name) : ''}${comment()}`);
    for (const [name, v] of s.options) {
      const values = v.kind === 'option' ? [v.v as string] : (v.v as string[]);
      const stmts = values.map((x) => `${v.kind}${sp()}${enc(name)}${sp()}${enc(x)}`);
      if (pick(n.comments)) lines.push(sp() + stmts.join(`;${sp()}`) + comment());
      else for (const st of stmts) lines.push(sp() + st + comment());
    }
  }
  return lines.join('\n') + '\n';
}

function expected(m: { name: string | null; sections: GenSection[] }): ReturnType<typeof plain> {
  const counts = new Map<string, number>();
  return {
    name: m.name,
    sections: m.sections.map((s): PlainSection => {
      const index = counts.get(s.type) ?? 0;
      counts.set(s.type, index + 1);
      return { type: s.type, name: s.name, index, options: s.options.map(([k, v]) => [k, { kind: v.kind, v: v.v }]) };
    }),
  };
}

test('property: a serialized model parses back to the same model', (t) => {
  fc.assert(
    fc.property(modelArb, noiseArb, (m, n) => {
      const text = serialize(m, n);
      const r = parseUci(text);
      if (!r.ok) throw new Error(`${r.error.toString()}\n${text}`);
      t.deepEqual(plain(r.value), expected(m), text);
      // the same file with CRLF line ends (also inside multi-line values) gives the same model
      const r2 = parseUci(text.replace(/\n/g, '\r\n'));
      if (!r2.ok) throw new Error(`CRLF: ${r2.error.toString()}\n${text}`);
      t.deepEqual(plain(r2.value), expected(m));
    }),
    { numRuns: 1500 },
  );
});

test('property: uci export format (single quotes, \'\\\'\' escapes) round-trips', (t) => {
  fc.assert(
    fc.property(modelArb, (m) => {
      // exactly what uci_export_package writes
      const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
      let out = m.name !== null ? `package ${m.name}\n` : '';
      for (const s of m.sections) {
        // (uci writes the type unquoted; it only round-trips for types without quoting characters)
        const type = /^[^'"\\#;]+$/.test(s.type) ? s.type : q(s.type);
        out += `\nconfig ${type}${s.name !== null ? ` ${q(s.name)}` : ''}\n`;
        for (const [name, v] of s.options)
          for (const x of v.kind === 'option' ? [v.v as string] : (v.v as string[])) out += `\t${v.kind} ${name} ${q(x)}\n`;
      }
      out += '\n';
      const r = parseUci(out);
      if (!r.ok) throw new Error(`${r.error.toString()}\n${out}`);
      t.deepEqual(plain(r.value), expected(m));
    }),
    { numRuns: 1000 },
  );
});

test('sectionLabel', (t) => {
  const s: UciSection = { type: 'route', name: null, index: 2, line: 1, options: new Map(), repeatedAt: [] };
  t.is(sectionLabel(s), '@route[2]');
  t.is(sectionLabel({ ...s, name: 'lan' }), 'lan');
});

test('an empty extra argument and a space before the line end: an error, as in libuci (the line end is read as a command)', (t) => {
  t.true(parseUci("package config '' ").ok);
  const r = parseUci("package config '' \n");
  t.false(r.ok);
  if (!r.ok) t.like(r.error, { line: 1, column: 19, message: "invalid command (the line ends where another command should follow: after ';' or an empty extra argument)" });
  t.true(parseUci("package config ''\n").ok);
});
