"""The int8 recipe: static int8 (weights per channel, activations per tensor) everywhere
except the first convolutions and the heads, which stay float.

Fully int8 moves BlazePose's world landmarks by ~5 cm and fails the squats clip's limits;
keeping the first two convolutions (where the picture's fine detail is) and the heads
(where the coordinates come out) in float holds every limit and keeps most of the speed.
"""

from __future__ import annotations

from typing import Any

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
# Ops a head passes through after its last convolution (reshape, concatenate, sigmoid).
HEAD_TAILS = ("RESHAPE", "CONCATENATION", "LOGISTIC")

STATIC_INT8: dict[str, Any] = {
    "activation_tensor_config": {"num_bits": 8, "symmetric": False,
                                 "granularity": "TENSORWISE", "dtype": "INT"},
    "weight_tensor_config": {"num_bits": 8, "symmetric": True,
                             "granularity": "CHANNELWISE", "dtype": "INT"},
    "compute_precision": "INTEGER",
    "explicit_dequantize": False,
    "skip_checks": False,
    "min_weight_elements": 0,
}


def _ops(model: Any) -> list[tuple[str, list[int], list[int]]]:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.subgraphs[0]
    out = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        out.append((name, [int(i) for i in op.inputs], [int(i) for i in op.outputs]))
    return out


def float_ops(model: Any, first_convs: int, heads: bool, head_cells: int,
              min_cells: int = 0) -> list[str]:
    """Output tensor names of the ops kept float: the first `first_convs` convolutions in
    execution order, and (`heads`) each graph output's last convolution and what follows
    it, and every op whose output has at most `head_cells` spatial cells (the landmark
    model's regressor ends in a 2×2 stage that sets every coordinate: in int8 it moves the
    world landmarks by up to 17 cm), and (`min_cells` > 0) every op whose output has at
    least that many (the high-resolution stages, where the mask is drawn)."""
    graph = model.subgraphs[0]
    ops = _ops(model)
    keep: list[int] = [i for i, (name, _, _) in enumerate(ops) if name in CONVS][:first_convs]
    for i, (_, _, outs) in enumerate(ops):
        shape = list(graph.tensors[outs[0]].shape)
        cells = shape[1] * shape[2] if len(shape) == 4 else None
        if cells is not None and (cells <= head_cells or 0 < min_cells <= cells):
            keep.append(i)
    if heads:
        producer = {t: i for i, (_, _, outs) in enumerate(ops) for t in outs}
        pending = [producer[t] for t in graph.outputs if t in producer]
        seen: set[int] = set()
        while pending:
            i = pending.pop()
            if i in seen:
                continue
            seen.add(i)
            name, ins, _ = ops[i]
            if name in HEAD_TAILS:
                pending.extend(producer[t] for t in ins if t in producer)
        keep.extend(sorted(seen))
    return [graph.tensors[ops[i][2][0]].name.decode() for i in sorted(set(keep))]


def recipe(model: Any, first_convs: int, heads: bool, head_cells: int,
           min_cells: int = 0) -> list[dict[str, Any]]:
    """The ai-edge-quantizer recipe (its JSON form): the later entry wins for an op."""
    import re

    entries: list[dict[str, Any]] = [{"regex": ".*", "operation": "*",
                                      "algorithm_key": "min_max_uniform_quantize",
                                      "op_config": STATIC_INT8}]
    for name in float_ops(model, first_convs, heads, head_cells, min_cells):
        entries.append({"regex": f"^{re.escape(name)};$", "operation": "*",
                        "algorithm_key": "no_quantize"})
    return entries
