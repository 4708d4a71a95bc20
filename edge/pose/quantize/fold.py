"""Fold MediaPipe's float16 weights into plain float32 constants, and name a signature.

MediaPipe's files keep their weights in float16 and turn them back into float32 at load
through DEQUANTIZE ops (the detector's are also sparse, through DENSIFY). A quantizer
looking for constant float32 weights sees none, so it changes nothing. Folding those ops
away gives a model whose outputs are bit-identical, with weights the quantizer can use;
the `serving_default` signature is what its calibration feeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SIGNATURE = "serving_default"


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _op_code(model: Any, op: Any) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    return int(max(code.builtinCode, code.deprecatedBuiltinCode))


_NUMPY_OF_TYPE = {0: np.float32, 1: np.float16, 2: np.int32, 9: np.int8, 3: np.uint8}


def _constant(model: Any, tensor: Any) -> np.ndarray | None:
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    dtype = _NUMPY_OF_TYPE.get(int(tensor.type))
    if dtype is None:
        return None
    return np.frombuffer(np.asarray(data, np.uint8).tobytes(), dtype=dtype)


def _index_vector(vector: Any) -> np.ndarray:
    return np.asarray(vector.values, np.int64)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: Any) -> np.ndarray:
    """The dense array a TFLite sparse constant stands for (DENSE and CSR dimensions, in
    order, no blocks: what MediaPipe's detector uses)."""
    order = list(sparsity.traversalOrder)
    if order != list(range(len(shape))) or sparsity.blockMap is not None:
        raise ValueError(f"sparse tensor with traversal {order} and blocks: not supported")
    coords = np.zeros((1, 0), np.int64)  # one row per stored path, one column per dim
    positions = np.zeros(1, np.int64)  # where each path continues in the next dimension
    for dim, meta in enumerate(sparsity.dimMetadata):
        if meta.format == 0:  # DENSE: every index of this dimension
            size = int(meta.denseSize)
            coords = np.column_stack([np.repeat(coords, size, axis=0),
                                      np.tile(np.arange(size), len(positions))])
            positions = (positions[:, None] * size + np.arange(size)).reshape(-1)
        else:  # SPARSE_CSR: the indices stored between this path's two segment bounds
            segments = _index_vector(meta.arraySegments)
            indices = _index_vector(meta.arrayIndices)
            counts = segments[positions + 1] - segments[positions]
            starts = np.repeat(segments[positions], counts)
            within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = starts + within
            coords = np.column_stack([np.repeat(coords, counts, axis=0), indices[positions]])
        if coords.shape[1] != dim + 1:
            raise ValueError("sparse tensor: inconsistent metadata")
    if len(positions) != len(values):
        raise ValueError(f"sparse tensor: {len(values)} values for {len(positions)} positions")
    dense = np.zeros(shape, values.dtype)
    dense[tuple(coords.T)] = values[positions]
    return dense


def _set_constant(model: Any, tensor: Any, value: np.ndarray, type_code: int) -> None:
    schema = _schema()
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(value).tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor.buffer = len(model.buffers) - 1
    tensor.type = type_code
    tensor.sparsity = None


def fold_float16_weights(model: Any) -> int:
    """Replace every DENSIFY and float16 DEQUANTIZE of a constant by the float32 constant
    it computes; returns how many ops went. Changes `model` (a ModelT) in place."""
    folded = 0
    for graph in model.subgraphs:
        keep = []
        for op in graph.operators:
            if not _fold(model, graph, op):
                keep.append(op)
                continue
            folded += 1
        graph.operators = keep
        _drop_unused_tensors(graph)
    _drop_unused_buffers(model)
    return folded


def _fold(model: Any, graph: Any, op: Any) -> bool:
    """Turn `op`'s output into the constant it computes, if it is a DENSIFY or a float16
    DEQUANTIZE of a constant; says whether it did."""
    ops = _schema().BuiltinOperator
    code = _op_code(model, op)
    if code not in (ops.DENSIFY, ops.DEQUANTIZE) or not len(op.inputs):
        return False
    src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    value = _constant(model, src)
    if value is None:
        return False
    if code == ops.DENSIFY and src.sparsity is not None:
        dense = densify(value, tuple(int(v) for v in dst.shape), src.sparsity)
        _set_constant(model, dst, dense, int(src.type))
        return True
    if code == ops.DEQUANTIZE and int(src.type) == 1 and src.sparsity is None:
        _set_constant(model, dst, value.astype(np.float32), 0)
        return True
    return False


def _drop_unused_tensors(graph: Any) -> None:
    used = {i for op in graph.operators for i in [*op.inputs, *op.outputs] if i >= 0}
    used |= set(graph.inputs) | set(graph.outputs)
    order = sorted(used)
    new_index = {old: new for new, old in enumerate(order)}
    graph.tensors = [graph.tensors[i] for i in order]
    for op in graph.operators:
        op.inputs = [new_index[i] if i >= 0 else i for i in op.inputs]
        op.outputs = [new_index[i] for i in op.outputs]
    graph.inputs = [new_index[i] for i in graph.inputs]
    graph.outputs = [new_index[i] for i in graph.outputs]


def _drop_unused_buffers(model: Any) -> None:
    used = {t.buffer for g in model.subgraphs for t in g.tensors}
    used |= {m.buffer for m in (model.metadata or [])}
    for i, buffer in enumerate(model.buffers):
        if i not in used:
            buffer.data = None


def add_signature(model: Any) -> None:
    """Name the main graph's inputs and outputs `serving_default`, as calibration expects."""
    schema = _schema()
    graph = model.subgraphs[0]

    def tensor_map(index: int) -> Any:
        entry = schema.TensorMapT()
        entry.name = graph.tensors[index].name.decode()
        entry.tensorIndex = index
        return entry

    signature = schema.SignatureDefT()
    signature.signatureKey = SIGNATURE
    signature.subgraphIndex = 0
    signature.inputs = [tensor_map(i) for i in graph.inputs]
    signature.outputs = [tensor_map(i) for i in graph.outputs]
    model.signatureDefs = [signature]


def prepare(float_model: bytes) -> bytes:
    """The float model, its weights folded to float32 and its signature named."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(float_model))
    fold_float16_weights(model)
    add_signature(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def strip_output_quantize(model: Any) -> int:
    """Make float outputs float again: the quantizer ends a float head with a QUANTIZE to
    int8 over the calibrated range, which clips (a landmark beyond the range seen in
    calibration sticks to its edge) and costs a dequantise in the engine. Returns how many
    went."""
    ops = _schema().BuiltinOperator
    stripped = 0
    for graph in model.subgraphs:
        producer = {o: op for op in graph.operators for o in op.outputs}
        for k, out in enumerate(list(graph.outputs)):
            op = producer.get(out)
            if op is None or _op_code(model, op) != ops.QUANTIZE:
                continue
            src = op.inputs[0]
            if int(graph.tensors[src].type) != 0:
                continue
            graph.outputs[k] = src
            graph.tensors[src].name = graph.tensors[out].name
            graph.operators = [o for o in graph.operators if o is not op]
            for signature in model.signatureDefs or []:
                for entry in signature.outputs or []:
                    if entry.tensorIndex == out:
                        entry.tensorIndex = src
            stripped += 1
    return stripped
