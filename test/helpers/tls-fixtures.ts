// Builders for TLS ClientHello test inputs, plus one real ClientHello captured from
// `openssl s_client -servername real.example -alpn h2,http/1.1` (OpenSSL 3.0).

export interface HelloOptions {
  sni?: string;
  alpn?: string[];
  /** supported_versions extension (omitted when undefined) */
  versions?: number[];
  /** key_share entries, filled with pattern bytes */
  keyShares?: { group: number; len: number }[];
  extraExtensions?: { type: number; data: Uint8Array }[];
  /** max handshake bytes per TLS record (split across records when smaller) */
  recordSize?: number;
  recordVersion?: number;
  legacyVersion?: number;
  sessionId?: Uint8Array;
  cipherSuites?: number[];
  compression?: number[];
  /** bytes placed verbatim after compression_methods instead of a built extensions block */
  rawExtensions?: Uint8Array;
}

export const u8 = (...b: number[]) => Uint8Array.from(b);
export const u16 = (n: number) => u8(n >> 8, n & 0xff);
export const u24 = (n: number) => u8(n >> 16, (n >> 8) & 0xff, n & 0xff);
export const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function fromHex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** An extension: type, 2-byte length, data. */
export const ext = (type: number, data: Uint8Array) => concat(u16(type), u16(data.length), data);

export const sniExt = (name: string) => {
  const entry = concat(u8(0), u16(name.length), ascii(name));
  return ext(0, concat(u16(entry.length), entry));
};

export const alpnExt = (protos: string[]) => {
  const list = concat(...protos.map((p) => concat(u8(p.length), ascii(p))));
  return ext(16, concat(u16(list.length), list));
};

export const versionsExt = (vs: number[]) => ext(43, concat(u8(vs.length * 2), ...vs.map(u16)));

export const keyShareExt = (shares: { group: number; len: number }[]) => {
  const entries = concat(
    ...shares.map((s) => concat(u16(s.group), u16(s.len), Uint8Array.from({ length: s.len }, (_, i) => (i * 7 + s.group) & 0xff))),
  );
  return ext(51, concat(u16(entries.length), entries));
};

/** The handshake message: type 1, 3-byte length, ClientHello body. */
export function buildHandshake(o: HelloOptions = {}): Uint8Array {
  const sid = o.sessionId ?? Uint8Array.from({ length: 32 }, (_, i) => i);
  const suites = o.cipherSuites ?? [0x1301, 0x1302, 0x1303, 0xc02f];
  const comp = o.compression ?? [0];
  let exts = o.rawExtensions;
  if (!exts) {
    const list: Uint8Array[] = [];
    if (o.sni !== undefined) list.push(sniExt(o.sni));
    if (o.alpn) list.push(alpnExt(o.alpn));
    if (o.versions) list.push(versionsExt(o.versions));
    if (o.keyShares) list.push(keyShareExt(o.keyShares));
    for (const e of o.extraExtensions ?? []) list.push(ext(e.type, e.data));
    const block = concat(...list);
    exts = list.length ? concat(u16(block.length), block) : new Uint8Array(0);
  }
  const body = concat(
    u16(o.legacyVersion ?? 0x0303),
    Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i), // random
    u8(sid.length),
    sid,
    u16(suites.length * 2),
    ...suites.map(u16),
    u8(comp.length),
    Uint8Array.from(comp),
    exts,
  );
  return concat(u8(1), u24(body.length), body);
}

/** Wraps handshake bytes into handshake records of at most recordSize payload bytes. */
export function toRecords(hs: Uint8Array, recordSize = 16384, recordVersion = 0x0301): Uint8Array {
  const recs: Uint8Array[] = [];
  for (let o = 0; o < hs.length; o += recordSize) {
    const frag = hs.subarray(o, Math.min(hs.length, o + recordSize));
    recs.push(concat(u8(22), u16(recordVersion), u16(frag.length), frag));
  }
  return concat(...recs);
}

export function buildClientHello(o: HelloOptions = {}): Uint8Array {
  return toRecords(buildHandshake(o), o.recordSize, o.recordVersion);
}

/** A Chrome-like post-quantum hello (~1.8 KB): X25519MLKEM768 (1216 B) + X25519 shares. */
export function pqClientHello(recordSize?: number): Uint8Array {
  return buildClientHello({
    sni: 'pq.example.com',
    alpn: ['h2', 'http/1.1'],
    versions: [0x0304, 0x0303],
    keyShares: [
      { group: 0x11ec, len: 1216 },
      { group: 0x001d, len: 32 },
    ],
    extraExtensions: [
      { type: 10, data: concat(u16(8), u16(0x11ec), u16(0x001d), u16(0x0017), u16(0x0018)) }, // supported_groups
      { type: 13, data: concat(u16(8), u16(0x0403), u16(0x0804), u16(0x0401), u16(0x0503)) }, // signature_algorithms
      { type: 0xfe0d, data: new Uint8Array(282) }, // ECH GREASE-sized blob
      { type: 21, data: new Uint8Array(80) }, // padding
    ],
    recordSize,
  });
}

/** Real ClientHello bytes from `openssl s_client -connect 127.0.0.1:PORT -servername real.example -alpn h2,http/1.1`. */
export const REAL_OPENSSL_HELLO_HEX = [
  '160301014b010001470303b251ea4547bf809027c3905ef47a50a487dc9a7d280a0386f1d35033ea32cf602022974f37',
  '8e7c9d70bcb14dc44058ceb9e1a377a417317d64bf70e41ba4db3f87003e130213031301c02cc030009fcca9cca8ccaa',
  'c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c0',
  '00000011000f00000c7265616c2e6578616d706c65000b000403000102000a00160014001d0017001e00190018010001',
  '01010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a00280403050306',
  '03080708080809080a080b080408050806040105010601030303010302040205020602002b0009080304030303020301',
  '002d00020101003300260024001d00200205b951e9ed00ebadec233a42359de51cb9dad162e3a7b19e1f912420744033',
].join('');

export const realOpensslHello = () => fromHex(REAL_OPENSSL_HELLO_HEX);
