"""An ESTIMATE of the pose models' cost per frame on a Raspberry Pi 4 and 5, from op counts.

Nothing here runs on a Pi. Each model's multiply-accumulates (MACs) are counted from its
own file (convolutions, depthwise convolutions, fully connected layers), split by whether
the op runs in int8 or in float, and scaled by XNNPACK's published Raspberry Pi 4 figures
for MobileNet v2 1.0 (300 M MACs, Sandler et al. 2018): 46 ms in FP32 and 17 ms in INT8,
4 threads, ARM64 (google/XNNPACK README, "Raspberry Pi" table, benchmarked Feb 8 2022 with
end2end-bench). The Pi 5 is taken as 2-3x the Pi 4 (Raspberry Pi's own figure for the
Cortex-A76 at 2.4 GHz against the A72 at 1.8 GHz, at the Pi 5's launch, Oct 2023).

MAC scaling ignores what MACs do not count: BlazePose's 256x256 input and its heatmap and
mask decoders move more memory per MAC than MobileNet v2, so read the figures as a lower
bound within ~30 %; the mask decoder's share most of all (its MACs are few, its
activations large: here it is ~45 % of an invoke). The engine's own work (the crop,
reading the outputs) comes on top: 1.0–1.5 ms here (bench/profile_engine.py).

    python bench/pi_estimate.py [--variants lite,full,heavy]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.errors import ModelError  # noqa: E402
from edge.pose.blazepose import cut_landmark_model  # noqa: E402
from edge.pose.models import model_names, model_path  # noqa: E402

SOURCE = ("google/XNNPACK README, Raspberry Pi table (Feb 8 2022): MobileNet v2 1.0 on a "
          "Pi 4 (BCM2711, ARM64, 4 threads) FP32 46 ms, INT8 17 ms; Pi 5 = Pi 4 / 2-3 "
          "(Raspberry Pi's launch figure, Oct 2023)")
MOBILENET_V2_MACS = 300e6
PI4_MS = {"float": 46.0, "int8": 17.0}  # per MobileNet v2, 4 threads
PI5_SPEEDUP = (2.0, 3.0)
_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def macs_by_precision(data: bytes) -> dict[str, float]:
    """MACs of the model's convolutions and fully connected layers, by the op's input type."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    totals = {"float": 0.0, "int8": 0.0}
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        if name not in _MAC_OPS:
            continue
        out = [int(v) for v in graph.tensors[op.outputs[0]].shape]
        weights = [int(v) for v in graph.tensors[op.inputs[1]].shape]
        if name == "CONV_2D":  # weights: out_c, kh, kw, in_c
            macs = np.prod(out) * np.prod(weights[1:])
        elif name == "DEPTHWISE_CONV_2D":  # weights: 1, kh, kw, c
            macs = np.prod(out) * weights[1] * weights[2]
        else:  # weights: out, in
            macs = np.prod(out) * weights[-1]
        int8 = graph.tensors[op.inputs[0]].type == schema.TensorType.INT8
        totals["int8" if int8 else "float"] += float(macs)
    return totals


def estimate(macs: dict[str, float]) -> dict[str, Any]:
    pi4 = sum(macs[p] / MOBILENET_V2_MACS * PI4_MS[p] for p in macs)
    return {"macs_m": {p: round(v / 1e6, 1) for p, v in macs.items()},
            "pi4_ms": round(pi4, 1),
            "pi5_ms": [round(pi4 / PI5_SPEEDUP[1], 1), round(pi4 / PI5_SPEEDUP[0], 1)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="lite,full,heavy")
    args = parser.parse_args(argv)
    rows = []
    for variant in args.variants.split(","):
        for precision in ("float", "int8"):
            for role, name in zip(("detector", "landmark"), model_names(variant, precision),
                                  strict=True):
                if role == "detector" and variant != args.variants.split(",")[0]:
                    continue  # one detector serves every variant: listed once
                try:
                    path = model_path(name)
                except ModelError as exc:
                    print(f"pi estimate: {name} skipped ({exc})", file=sys.stderr)
                    continue
                data = path.read_bytes()
                rows.append({"model": name, "role": role, "variant": variant,
                             "precision": precision, **estimate(macs_by_precision(data))})
                cut = cut_landmark_model(data) if role == "landmark" else None
                if cut is not None:  # what the engine runs on a frame whose mask is not read
                    rows.append({"model": f"{name} without its mask head", "role": role,
                                 "variant": variant, "precision": precision,
                                 **estimate(macs_by_precision(cut.pose))})
    print(json.dumps({"estimate": True, "source": SOURCE, "rows": rows}, indent=1))
    print()
    print("ESTIMATE, not a measurement (op counts × published XNNPACK figures; see "
          "bench/pi_estimate.py): ms per invoke, 4 threads")
    print()
    print("| model | precision | MACs (M) float / int8 | Pi 4 ms | Pi 5 ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        m = r["macs_m"]
        print(f"| {r['model']} | {r['precision']} | {m['float']} / {m['int8']} | "
              f"~{r['pi4_ms']} | ~{r['pi5_ms'][0]}–{r['pi5_ms'][1]} |")
    print()
    print(f"Source: {SOURCE}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
