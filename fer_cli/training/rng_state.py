"""The model's own random state (dropout's seed generators), kept across `--resume`.

Keras saves weights and optimizer state in a ``.keras`` file but not the
counters of the layers' seed generators, so a reloaded model would draw
different dropout masks than the run that never stopped. The run folder keeps
them in ``state.json``, keyed by layer name (names are saved with the model).
"""

from __future__ import annotations


def rng_states(model) -> dict[str, list[list[int]]]:
    """Each layer's seed-generator states, for layers that have any."""
    from fer_cli.tf_env import keras as _keras

    keras = _keras()
    states = {}
    for layer in model._flatten_layers(include_self=False):
        generators = getattr(layer, "_seed_generators", [])
        if generators:
            states[layer.name] = [keras.ops.convert_to_numpy(g.state).tolist() for g in generators]
    return states


def restore_rng_states(model, states: dict[str, list[list[int]]]) -> None:
    """Put back states that `rng_states` took, layer by layer; unknown layers are skipped."""
    for layer in model._flatten_layers(include_self=False):
        saved = states.get(layer.name)
        generators = getattr(layer, "_seed_generators", [])
        if saved and len(saved) == len(generators):
            for generator, value in zip(generators, saved, strict=True):
                generator.state.assign(value)
