/** Typed reads of NodeProto attributes (ints come back from protobufjs as number or Long). */
import { onnx } from './proto';
import { LongLike, toNumber as toInt64Number } from './int64';

type NodeLike = Pick<onnx.INodeProto, 'attribute' | 'opType' | 'name'>;

const toNumber = (v: unknown): number => toInt64Number(v as LongLike);

export function findAttr(node: NodeLike, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function intAttr(node: NodeLike, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a && a.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
}

export function floatAttr(node: NodeLike, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a && a.f !== undefined && a.f !== null ? a.f : fallback;
}

export function intsAttr(node: NodeLike, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a && a.ints && a.ints.length > 0 ? a.ints.map(toNumber) : undefined;
}

export function stringAttr(node: NodeLike, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a && a.s && a.s.length > 0 ? Buffer.from(a.s).toString('utf8') : fallback;
}

/** A node's display name: its name, or `OpType(first output)` for unnamed nodes. */
export function nodeLabel(node: Pick<onnx.INodeProto, 'name' | 'opType' | 'output'>): string {
  return node.name && node.name.length > 0 ? node.name : `${node.opType}(${(node.output ?? [])[0] ?? '?'})`;
}
