"""The seed's CNN: the classic Keras FER2013 network the project started from."""

from fer_cli.models.registry import register_model
from fer_cli.tf_env import keras


@register_model("seed", "the seed CNN: 4 conv layers with max-pooling and dropout, Dense(1024) (2.3M params)")
def seed(x, num_classes: int):
    """Conv2D+MaxPooling+Dropout stacks, Flatten, Dense(1024), Dropout, softmax."""
    layers = keras().layers

    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Conv2D(128, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(128, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return x
