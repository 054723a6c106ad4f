"""tf.data input pipelines over in-memory uint8 images, with optional augmentation."""

from __future__ import annotations

import numpy as np

from fer_cli.config import AugmentConfig


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified (train, validation) split.

    Args:
        labels: class index per sample.
        fraction: share of samples held out for validation.
        seed: random seed.

    Returns:
        Sorted train indices and validation indices.
    """
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    counts = np.bincount(labels)
    # Stratify only where every present class can give at least one sample to each side.
    stratify = labels if counts[counts > 0].min() >= 2 else None
    train, val = train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(val)


def augmenter(config: AugmentConfig, seed: int):
    """A Keras pipeline of random image changes, or `None` when all are off."""
    if not config.enabled():
        return None
    from keras import layers

    steps = []
    if config.flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if config.rotate:
        steps.append(layers.RandomRotation(config.rotate, fill_mode="reflect", seed=seed + 1))
    if config.zoom:
        steps.append(layers.RandomZoom(config.zoom, fill_mode="reflect", seed=seed + 2))
    if config.translate:
        steps.append(layers.RandomTranslation(config.translate, config.translate, fill_mode="reflect", seed=seed + 3))
    if config.contrast:
        steps.append(layers.RandomContrast(config.contrast, value_range=(0, 255), seed=seed + 4))
    return steps


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
    augment: AugmentConfig | None = None,
):
    """A batched `tf.data.Dataset` of (float32 images (N,48,48,1) in 0..255, one-hot labels).

    Args:
        images: uint8 (N, 48, 48).
        labels: class indices (N,).
        num_classes: width of the one-hot targets.
        batch_size: samples per batch.
        shuffle: reshuffle every epoch (seeded).
        seed: random seed for shuffling and augmentation.
        augment: random changes for training. Defaults to `None`.
    """
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    steps = augmenter(augment, seed) if augment else None

    def prepare(x, y):
        x = tf.cast(x, tf.float32)[..., None]
        if steps:
            for step in steps:
                x = step(x, training=True)
        return x, tf.one_hot(y, num_classes)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
