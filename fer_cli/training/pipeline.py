"""tf.data input pipelines: batching and augmenting (uint8 image, label) examples, from memory or a stream."""

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


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
    augment: AugmentConfig | None = None,
    context=None,
):
    """A batched `tf.data.Dataset` of (float32 images (N,48,48,1) in 0..255, one-hot labels).

    Args:
        images: uint8 (N, 48, 48).
        labels: class indices (N,), or soft targets (N, num_classes) such as a teacher's.
        num_classes: width of the one-hot targets.
        batch_size: samples per batch.
        shuffle: reshuffle every epoch (seeded).
        seed: random seed for shuffling and augmentation.
        augment: random changes for training. Defaults to `None`.
        context: a `tf.distribute.InputContext`; this input pipeline then
            keeps only its share of the samples. Defaults to `None`.
    """
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()

    targets = labels.astype(np.float32) if labels.ndim == 2 else labels.astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((images, targets))
    if context is not None and context.num_input_pipelines > 1:
        ds = ds.shard(context.num_input_pipelines, context.input_pipeline_id)
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return batch_examples(ds, num_classes, batch_size, seed, augment)


def batch_examples(ds, num_classes: int, batch_size: int, seed: int, augment: AugmentConfig | None = None):
    """Batch a dataset of (uint8 image (48,48), int label or soft target) for a model, augmenting if asked.

    Args:
        ds: the examples, in the order to train on.
        num_classes: width of the one-hot targets.
        batch_size: samples per batch.
        seed: random seed for augmentation.
        augment: random changes for training. Defaults to `None`.

    Returns:
        A prefetched dataset of (float32 images (N,48,48,1) in 0..255, one-hot labels).
    """
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()
    ds = ds.batch(batch_size)

    from fer_cli.training.augment import batch_augmenter

    images_fn, mix_fn = batch_augmenter(augment, seed) if augment else (None, None)

    steps_are_random = bool(images_fn or mix_fn)

    def prepare(x, y):
        x = tf.cast(x, tf.float32)[..., None]
        if images_fn:
            x = images_fn(x)
        if y.dtype.is_integer:  # soft targets (float rows) are already distributions
            y = tf.one_hot(y, num_classes)
        if mix_fn:
            x, y = mix_fn(x, y)
        return x, y

    # Serial map: random augmentation ops are stateful, and parallel calls would
    # interleave their random draws differently on every run, breaking `--seed`.
    # Prefetch still overlaps it with training; the cost is measured in the README.
    ds = ds.map(prepare, num_parallel_calls=None if steps_are_random else tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
