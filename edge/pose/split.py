"""The landmark model cut in two: the pose part run on every frame, the mask head on demand.

BlazePose's landmark model computes its segmentation mask in a decoder of its own: about
two fifths of an invoke (full int8 on one thread here: 10.5 ms whole, 5.9 ms without it).
The analysis reads the mask only when the trunk is forward, so most frames need none. The
cut keeps every op and weight: the pose part is the ops the landmarks, presence, heatmap
and world landmarks need, with the tensors the mask head reads from them (its features)
as extra outputs; the mask head is the remaining ops, with those features as inputs. Run
one after the other they compute exactly what the whole model does.

Cutting needs the TFLite flatbuffer schema, which ai-edge-litert ships and tflite-runtime
does not: without it `split_mask_head` returns None and the engine runs the whole model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SplitModel:
    """The two parts, as model bytes, and the names of the features between them (the pose
    part's extra outputs, the mask head's inputs, in the mask head's input order)."""

    pose: bytes
    mask_head: bytes
    features: tuple[str, ...]


def _flatbuffers() -> Any | None:
    try:
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError:
        return None
    return flatbuffer_utils


def can_split() -> bool:
    """Whether models can be cut here (the flatbuffer schema imports)."""
    return _flatbuffers() is not None


def split_mask_head(model: bytes, is_mask: Callable[[Sequence[int]], bool]) -> SplitModel | None:
    """`model` cut before the output whose shape `is_mask` accepts; None when the schema is
    not importable, or the model has no such output or no op that only the mask needs."""
    fb = _flatbuffers()
    if fb is None or model[4:8] != b"TFL3":
        return None
    try:
        whole = fb.read_model_from_bytearray(bytearray(model))
    except Exception:  # noqa: BLE001  (a broken file: the runtime's load says what is wrong)
        return None
    if len(whole.subgraphs) != 1:
        return None
    graph = whole.subgraphs[0]
    masks = [o for o in graph.outputs if is_mask([int(v) for v in graph.tensors[o].shape])]
    if len(masks) != 1:
        return None
    others = [o for o in graph.outputs if o not in masks]
    pose_ops = _ops_for(graph, others)
    head_ops = _ops_for(graph, masks) - pose_ops
    if not head_ops:
        return None
    made_by_pose = {t for k in pose_ops for t in graph.operators[k].outputs}
    made_by_pose |= set(graph.inputs)
    features = sorted({t for k in head_ops for t in graph.operators[k].inputs
                       if t in made_by_pose})
    names = tuple(graph.tensors[t].name.decode() for t in features)
    outputs = [graph.tensors[t].name.decode() for t in others]
    if len(set(names)) != len(names) or set(names) & set(outputs):
        return None  # the engine finds the features by name: they must be unambiguous
    pose = _part(fb, model, pose_ops, list(graph.inputs), others + features)
    head = _part(fb, model, head_ops, features, masks)
    return SplitModel(pose, head, names)


def _ops_for(graph: Any, outputs: list[int]) -> set[int]:
    """The indices of the ops `outputs` depend on (ops are stored in execution order)."""
    needed, ops = set(outputs), set()
    for k in range(len(graph.operators) - 1, -1, -1):
        op = graph.operators[k]
        if any(t in needed for t in op.outputs):
            ops.add(k)
            needed.update(t for t in op.inputs if t >= 0)
    return ops


def _part(fb: Any, model: bytes, ops: set[int], inputs: list[int], outputs: list[int]) -> bytes:
    """A model of `ops` (indices into the whole graph) between `inputs` and `outputs`, with
    only the tensors and weight buffers those ops use."""
    part = fb.read_model_from_bytearray(bytearray(model))  # its own copy to cut
    graph = part.subgraphs[0]
    kept_ops = [graph.operators[k] for k in sorted(ops)]
    used = sorted({t for op in kept_ops for t in (*op.inputs, *op.outputs) if t >= 0}
                  | set(inputs) | set(outputs))
    tensor_at = {old: new for new, old in enumerate(used)}
    for op in kept_ops:
        op.inputs = [tensor_at[t] if t >= 0 else -1 for t in op.inputs]
        op.outputs = [tensor_at[t] for t in op.outputs]
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = [tensor_at[t] for t in op.intermediates]
    graph.tensors = [graph.tensors[t] for t in used]
    graph.operators = kept_ops
    graph.inputs = [tensor_at[t] for t in inputs]
    graph.outputs = [tensor_at[t] for t in outputs]
    # Buffer 0 is the schema's empty sentinel; metadata keeps its own buffers.
    metadata = [m.buffer for m in part.metadata or []]
    kept_buffers = sorted({0, *metadata, *(t.buffer for t in graph.tensors)})
    buffer_at = {old: new for new, old in enumerate(kept_buffers)}
    for tensor in graph.tensors:
        tensor.buffer = buffer_at[tensor.buffer]
    for m in part.metadata or []:
        m.buffer = buffer_at[m.buffer]
    part.buffers = [part.buffers[b] for b in kept_buffers]
    part.signatureDefs = None  # the engine reads tensors by index, not by signature
    return bytes(fb.convert_object_to_bytearray(part))
