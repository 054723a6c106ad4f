"""ONNX weights stored in float16, computed in float32 (`fer export -f onnx --quantize float16`).

Each float32 weight tensor is stored at half its size and cast back to float32
by a `Cast` node in front of the graph. ONNX Runtime folds those casts into
constants when it loads the model, so inference runs exactly the float32
kernels, at float32 speed, on weights rounded to float16 (a relative error of
about 5e-4). The file is about half the size: what matters for a model that
ships inside a package, an ensemble above all. A converter that computes in
float16 (onnxconverter-common) would be slower on CPUs, where float16
kernels are few.
"""

from __future__ import annotations

import math
from pathlib import Path

SMALLEST = 16  # elements; scalars and short constants (epsilons, floors, shapes as floats) stay exact


def store_weights_as_float16(source: Path, out: Path) -> None:
    """Write `source` to `out` with its float32 weights stored in float16.

    Args:
        source: an ONNX model file.
        out: where to write the converted model (may be `source`).
    """
    from fer_cli.optional import require

    onnx = require("onnx")
    numpy_helper = onnx.numpy_helper
    model = onnx.load(str(source))
    graph = model.graph
    graph_inputs = {value.name for value in graph.input}
    kept, casts = [], []
    for tensor in graph.initializer:
        if tensor.data_type != onnx.TensorProto.FLOAT or math.prod(tensor.dims) < SMALLEST or tensor.name in graph_inputs:
            kept.append(tensor)
            continue
        half_name = f"{tensor.name}__float16"
        half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype("float16"), half_name)
        kept.append(half)
        casts.append(onnx.helper.make_node("Cast", [half_name], [tensor.name], to=onnx.TensorProto.FLOAT, name=f"{half_name}__cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)  # the casts first, so the graph stays in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
