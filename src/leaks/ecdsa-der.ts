/**
 * ECDSA signatures arrive DER-encoded (SEQUENCE { INTEGER r, INTEGER s }), as
 * GitHub sends them; WebCrypto verifies the fixed-size r || s form. Strict:
 * anything but exactly one minimal SEQUENCE of two positive INTEGERs that fit
 * the curve's size is refused (null), so a malformed signature never verifies.
 */
export function derToRaw(der: Uint8Array, size: number): Uint8Array | null {
  let offset = 0;
  const byte = () => (offset < der.length ? (der[offset++] as number) : -1);
  function length(): number {
    const first = byte();
    if (first < 0) return -1;
    if (first < 0x80) return first;
    if (first !== 0x81) return -1; // a P-256 signature never needs more than one length byte
    const n = byte();
    return n >= 0x80 ? n : -1;
  }
  function integer(): Uint8Array | null {
    if (byte() !== 0x02) return null;
    const n = length();
    if (n <= 0 || offset + n > der.length) return null;
    let value = der.subarray(offset, offset + n);
    offset += n;
    if ((value[0] as number) & 0x80) return null; // negative
    if (value.length > 1 && value[0] === 0 && !((value[1] as number) & 0x80)) return null; // not minimal
    if (value[0] === 0) value = value.subarray(1);
    if (value.length > size) return null;
    return value;
  }
  if (byte() !== 0x30) return null;
  const total = length();
  if (total < 0 || offset + total !== der.length) return null;
  const r = integer();
  const s = integer();
  if (r === null || s === null || offset !== der.length) return null;
  const raw = new Uint8Array(size * 2);
  raw.set(r, size - r.length);
  raw.set(s, size * 2 - s.length);
  return raw;
}

/** The inverse, for tests and tools that sign with WebCrypto and must send DER. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const int = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.subarray(i);
    const body = (trimmed[0] as number) & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, body.length, ...body];
  };
  const content = [...int(raw.subarray(0, half)), ...int(raw.subarray(half))];
  return new Uint8Array([0x30, content.length, ...content]);
}
