/**
 * Protobuf wire-format plumbing for surgical rewrites: list a message's fields as byte ranges (protobufjs
 * Reader), and build new output as a list of byte pieces where untouched fields stay views of the original
 * bytes. Because untouched bytes are copied verbatim, fields the bundled schema doesn't know survive.
 */
import { protobuf } from './proto';

export const WireType = { VARINT: 0, FIXED64: 1, BYTES: 2, START_GROUP: 3, FIXED32: 5 } as const;

export interface Field {
  no: number;
  wire: number;
  /** Offset of the tag. */
  start: number;
  /** Offset of the payload (after the length prefix for BYTES fields). */
  dataStart: number;
  /** Offset just past the field. */
  end: number;
}

export function scanFields(buf: Uint8Array): Field[] {
  const r = protobuf.Reader.create(buf);
  const out: Field[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const wire = tag & 7;
    let dataStart = r.pos;
    if (wire === WireType.BYTES) {
      const len = r.uint32();
      dataStart = r.pos;
      r.skip(len);
    } else {
      r.skipType(wire);
    }
    out.push({ no: tag >>> 3, wire, start, dataStart, end: r.pos });
  }
  return out;
}

export function payload(buf: Uint8Array, f: Field): Uint8Array {
  return buf.subarray(f.dataStart, f.end);
}

export function fieldString(buf: Uint8Array, f: Field): string {
  return protobuf.util.utf8.read(buf, f.dataStart, f.end);
}

/** First string value of field `no` in a message, or undefined. */
export function firstString(buf: Uint8Array, fields: Field[], no: number): string | undefined {
  const f = fields.find((x) => x.no === no && x.wire === WireType.BYTES);
  return f ? fieldString(buf, f) : undefined;
}

/** Output bytes as pieces; adjacent views of the same buffer are merged so untouched runs stay one piece. */
export class Pieces {
  readonly parts: Uint8Array[] = [];
  length = 0;

  push(bytes: Uint8Array): this {
    if (bytes.length === 0) return this;
    const last = this.parts[this.parts.length - 1];
    if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.parts[this.parts.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + bytes.length);
    } else {
      this.parts.push(bytes);
    }
    this.length += bytes.length;
    return this;
  }

  pushAll(other: Pieces): this {
    for (const p of other.parts) this.push(p);
    return this;
  }

  /** The original bytes of a field, tag included. */
  pushField(buf: Uint8Array, f: Field): this {
    return this.push(buf.subarray(f.start, f.end));
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** A length-delimited field: tag, new length prefix, then the body pieces. */
export function bytesField(no: number, body: Pieces | Uint8Array): Pieces {
  const len = body instanceof Pieces ? body.length : body.length;
  const header = protobuf.Writer.create().uint32((no << 3) | WireType.BYTES).uint32(len).finish();
  const out = new Pieces().push(header);
  return body instanceof Pieces ? out.pushAll(body) : out.push(body);
}

/** A whole field encoded by protobufjs' Writer (scalars, small messages). */
export function encodedField(write: (w: protobuf.Writer) => protobuf.Writer): Pieces {
  return new Pieces().push(write(protobuf.Writer.create()).finish());
}

export function stringField(no: number, value: string): Pieces {
  return encodedField((w) => w.uint32((no << 3) | WireType.BYTES).string(value));
}

/**
 * Copies a message, dropping the fields `drop` selects and putting `replacement` where the first dropped field
 * was (at the end when none was there). All other fields keep their bytes and order.
 */
export function replaceFields(buf: Uint8Array, fields: Field[], drop: (f: Field) => boolean, replacement: Pieces): Pieces {
  const out = new Pieces();
  let placed = false;
  for (const f of fields) {
    if (!drop(f)) {
      out.pushField(buf, f);
    } else if (!placed) {
      out.pushAll(replacement);
      placed = true;
    }
  }
  if (!placed) out.pushAll(replacement);
  return out;
}
