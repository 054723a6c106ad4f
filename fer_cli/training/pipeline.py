"""tf.data input pipelines: batching and augmenting (uint8 image, label) examples, from memory or a stream."""

from __future__ import annotations

import math

import numpy as np

from fer_cli.config import AugmentConfig
from fer_cli.tf_env import tensorflow_for_tracing


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified (train, validation) split.

    Args:
        labels: class index per sample.
        fraction: share of samples held out for validation.
        seed: random seed.

    Returns:
        Sorted train indices and validation indices.
    """
    from fer_cli.optional import require

    train_test_split = require("sklearn.model_selection").train_test_split
    indices = np.arange(len(labels))
    counts = np.bincount(labels)
    present = int(np.count_nonzero(counts))
    held_out = math.ceil(fraction * len(labels))
    # Stratify only where every present class can give at least one sample to each side.
    can_stratify = counts[counts > 0].min() >= 2 and present <= held_out and present <= len(labels) - held_out
    stratify = labels if can_stratify else None
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
    epoch=0,
    steps: int | None = None,
    class_weight: dict[int, float] | None = None,
):
    """One epoch of batches, as a `tf.data.Dataset` of (float32 images (N,48,48,1) in 0..255, targets).

    Args:
        images: uint8 (N, 48, 48).
        labels: class indices (N,), or soft targets (N, num_classes) such as a teacher's.
        num_classes: width of the one-hot targets.
        batch_size: samples per batch.
        shuffle: shuffle, in an order that depends only on `seed` and `epoch`.
        seed: random seed for shuffling and augmentation.
        augment: random changes for training. Defaults to `None`.
        context: a `tf.distribute.InputContext`; this input pipeline then
            keeps only its share of the samples. Defaults to `None`.
        epoch: the epoch (an int or an int64 scalar tensor). Defaults to `0`.
        steps: batches in the epoch, cycling through the data as often as
            needed; `None` is one pass. Defaults to `None`.
        class_weight: loss weight per class; batches then carry sample
            weights (see `sample_weights`). Defaults to `None`.
    """
    tf = tensorflow_for_tracing()
    targets = labels.astype(np.float32) if labels.ndim == 2 else labels.astype(np.int32)
    with tf.init_scope():
        # Eager tensors, captured by reference when this runs inside `epochs_of`'s traced function
        # (a NumPy array there would be copied into the graph as a constant).
        images_t, targets_t = tf.convert_to_tensor(images), tf.convert_to_tensor(targets)
    order = tf.range(len(labels), dtype=tf.int64)
    if shuffle:
        # A stateless permutation: the order is a function of (seed, epoch) alone.
        order = tf.random.experimental.stateless_shuffle(order, seed=shuffle_seed(seed, epoch))
    ds = tf.data.Dataset.from_tensor_slices(order)
    if context is not None and context.num_input_pipelines > 1:
        ds = ds.shard(context.num_input_pipelines, context.input_pipeline_id)
    ds = ds.map(lambda i: (tf.gather(images_t, i), tf.gather(targets_t, i)))
    return batch_examples(ds, num_classes, batch_size, seed, augment, epoch, steps, class_weight)


def shuffle_seed(seed: int, epoch):
    """The stateless seed (shape [2], int64) that orders the examples of one epoch."""
    tf = tensorflow_for_tracing()
    base = tf.constant([seed, 0x0DE5], tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(epoch, tf.int64))


def sample_weights(targets, class_weight: dict[int, float]):
    """Each sample's loss weight: its classes' weights, averaged by its target.

    A one-hot target gets its class's weight; a mixed or soft target (mixup,
    cutmix, a teacher's) gets the mix of its classes' weights. Both training
    loops weight samples this way.

    Args:
        targets: float targets (B, C), each row a distribution.
        class_weight: loss weight per class index (missing classes weigh 1).

    Returns:
        float32 weights (B,).
    """
    tf = tensorflow_for_tracing()
    width = targets.shape[-1]
    vector = tf.constant([class_weight.get(i, 1.0) for i in range(width)], tf.float32)
    return tf.reduce_sum(targets * vector, axis=-1)


def batch_examples(ds, num_classes: int, batch_size: int, seed: int, augment: AugmentConfig | None = None,
                   epoch=0, steps: int | None = None, class_weight: dict[int, float] | None = None):
    """Batch a dataset of (uint8 image (48,48), int label or soft target) for a model, augmenting if asked.

    Each batch's augmentation draws depend only on `seed`, `epoch` and the
    batch's step, so the same epoch of a resumed run gets the same draws.

    Args:
        ds: the examples, in the order to train on.
        num_classes: width of the one-hot targets.
        batch_size: samples per batch.
        seed: random seed for augmentation.
        augment: random changes for training. Defaults to `None`.
        epoch: the epoch (an int or an int64 scalar tensor). Defaults to `0`.
        steps: batches to give, cycling through `ds` as often as needed;
            `None` is one pass. Defaults to `None`.
        class_weight: loss weight per class; batches then carry sample
            weights as a third element. Defaults to `None`.

    Returns:
        A prefetched dataset of (float32 images (N,48,48,1) in 0..255, float targets[, sample weights]).
    """
    tf = tensorflow_for_tracing()
    ds = ds.batch(batch_size)
    if steps is not None:
        ds = ds.repeat().take(steps)

    from fer_cli.training.augment import batch_augmenter, batch_seed

    images_fn, mix_fn = batch_augmenter(augment) if augment else (None, None)

    def prepare(step, batch):
        x, y = batch
        x = tf.cast(x, tf.float32)[..., None]
        seed_of_batch = batch_seed(seed, epoch, step)
        if images_fn:
            x = images_fn(x, seed_of_batch)
        if y.dtype.is_integer:  # soft targets (float rows) are already distributions
            y = tf.one_hot(y, num_classes)
        if mix_fn:
            x, y = mix_fn(x, y, seed_of_batch)
        if class_weight:
            return x, y, sample_weights(y, class_weight)
        return x, y

    # Stateless draws make parallel calls safe: the result does not depend on their order.
    ds = ds.enumerate().map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def epochs_of(one_epoch, first: int, last: int):
    """Epochs `first` to `last - 1` as one dataset, epoch `e` being `one_epoch(e)`.

    `one_epoch` receives the epoch as an int64 scalar tensor and must give the
    same batches for the same epoch every time, so a run resumed at epoch
    `first` sees what an uninterrupted run sees from there on.
    """
    from fer_cli.tf_env import tensorflow

    tf = tensorflow()
    return tf.data.Dataset.range(first, last).flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)
