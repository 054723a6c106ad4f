"""The training loop for several replicas: `strategy.run` steps driving the same Keras callbacks as `fit`.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (its train
function returns per-replica values it cannot convert, keras-team/keras#20585
and tensorflow/tensorflow#72388, still so with Keras 3.15 and TensorFlow 2.21),
so distributed runs use TensorFlow's documented custom-loop route instead:
`distribute_datasets_from_function` gives each worker its own input pipeline,
`strategy.run` runs one step on every replica, and `tf.nn.compute_average_loss`
divides each replica's loss by the global batch so that the summed gradients
are those of one big batch. Checkpoints, EMA, early stopping and the rest are
the same callback objects `fit` uses, called in the same order.

Every worker must issue the same collective operations in the same order, so
each epoch has a fixed number of steps over a repeating input (no worker runs
dry early) and the decision to stop is all-reduced.
"""

from __future__ import annotations

import math

import numpy as np

from fer_cli.config import TrainConfig
from fer_cli.errors import WorkerLost


def global_steps(train_count: int, global_batch: int) -> int:
    """Steps per epoch: enough global batches to see each training image once."""
    return max(1, math.ceil(train_count / global_batch))


class DistributedLoop:
    """Training under `placement.strategy`, step functions built once.

    Args:
        placement: the strategy and this process's role (`fer_cli.training.strategy.Placement`).
        model: a compiled model whose variables were made in the strategy's scope.
        inputs: the run's `MemoryInputs` or `StreamInputs`.
        config: the run's config; `batch_size` is the global batch, split evenly over the replicas.
        initial_epoch: epochs already done.
        class_weight: loss weight per class index, or `None`.
    """

    def __init__(self, placement, model, inputs, config: TrainConfig, initial_epoch: int,
                 class_weight: dict[int, float] | None):
        from fer_cli.tf_env import keras as _keras
        from fer_cli.tf_env import tensorflow

        self.tf, keras = tensorflow(), _keras()
        tf = self.tf
        self.placement, self.model, self.inputs, self.config = placement, model, inputs, config
        self.initial_epoch = initial_epoch
        strategy = placement.strategy
        global_batch = config.batch_size
        self.steps = steps = global_steps(inputs.train_count, global_batch)
        from fer_cli.training.pipeline import epochs_of

        # Each step takes one batch per local replica from this worker's pipeline.
        batches_per_epoch = steps * (placement.replicas // placement.workers)

        def train_input(context):
            batch = context.get_per_replica_batch_size(global_batch)
            # Each epoch is `steps` batches on every pipeline, cycling through its share as
            # needed (so no worker runs dry before the others), drawn from (seed, epoch) only
            # so that a resumed run continues exactly; class weights come as sample weights.
            return epochs_of(lambda e: inputs.train(batch, config.seed, context, e, batches_per_epoch, class_weight),
                             initial_epoch, config.epochs)

        self._train_batches = iter(strategy.distribute_datasets_from_function(train_input))
        self._val_batches = self._eval_input(inputs.val, None) if inputs.val_count else None
        loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing, reduction=None)

        def totals(per_sample_loss, probabilities, targets):
            # Padding rows (all-zero targets) count for nothing.
            real = tf.cast(tf.reduce_sum(targets, axis=-1) > 0, tf.float32)
            correct = tf.cast(tf.equal(tf.argmax(probabilities, -1), tf.argmax(targets, -1)), tf.float32)
            return tf.stack([tf.reduce_sum(per_sample_loss * real), tf.reduce_sum(correct * real), tf.reduce_sum(real)])

        def replica_train(images, targets, sample_weight=None):
            with tf.GradientTape() as tape:
                probabilities = model(images, training=True)
                per_sample = loss_fn(targets, probabilities)
                if sample_weight is not None:
                    per_sample = per_sample * sample_weight
                loss = tf.nn.compute_average_loss(per_sample, global_batch_size=global_batch)
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return totals(per_sample, probabilities, targets)

        def replica_eval(images, targets):
            probabilities = model(images, training=False)
            return totals(loss_fn(targets, probabilities), probabilities, targets)

        sum_ = tf.distribute.ReduceOp.SUM
        self._train_step = tf.function(lambda batch: strategy.reduce(sum_, strategy.run(replica_train, args=batch), axis=None))
        self._eval_step = tf.function(lambda batch: strategy.reduce(sum_, strategy.run(replica_eval, args=batch), axis=None))

        def vote(flag):
            return tf.distribute.get_replica_context().all_reduce(sum_, tf.identity(flag))

        self._stop_votes = tf.function(lambda flag: strategy.experimental_local_results(strategy.run(vote, args=(flag,)))[0])

    def _eval_input(self, make, split: str | None):
        """Evaluation batches of equal count on every replica, padded with examples of weight 0.

        A replica handed an empty batch would break batch normalization, and a
        worker that runs out first would leave the others waiting at a
        collective, so every pipeline yields the same number of full batches.
        """
        tf = self.tf
        placement = self.placement
        per_replica = max(1, 256 // placement.replicas)
        local_replicas = placement.replicas // placement.workers
        share = self.inputs.largest_share(split, placement.workers)
        batches = max(1, math.ceil(share / (per_replica * local_replicas))) * local_replicas
        classes = len(self.inputs.class_names)

        def pipeline(context):
            padding = tf.data.Dataset.from_tensors((tf.zeros([48, 48, 1]), tf.zeros([classes]))).repeat()
            examples = make(per_replica, context).unbatch().concatenate(padding)
            return examples.batch(per_replica).take(batches)

        return placement.strategy.distribute_datasets_from_function(pipeline)

    def _evaluate(self, batches) -> tuple[float, float]:
        sums = np.zeros(3)
        for batch in batches:
            sums += self._eval_step(batch).numpy()
        return sums[0] / max(sums[2], 1.0), sums[1] / max(sums[2], 1.0)

    def split_measure(self, name: str):
        """A `SplitReport` measure: accuracy on split `name`, computed by all workers together."""
        batches = self._eval_input(lambda batch, context: self.inputs.report(name, batch, context), name)
        return lambda _model: self._evaluate(batches)[1]

    def run(self, callbacks: list) -> None:
        """Train to `config.epochs`, calling `callbacks` as `fit` would.

        Raises:
            WorkerLost: when another worker dies or the cluster cannot be reached.
        """
        from fer_cli.tf_env import keras as _keras

        tf, model = self.tf, self.model
        callback_list = _keras().callbacks.CallbackList(
            callbacks, model=model, epochs=self.config.epochs, steps=self.steps, verbose=0
        )
        logs: dict = {}
        try:
            model.stop_training = False
            callback_list.on_train_begin()
            for epoch in range(self.initial_epoch, self.config.epochs):
                callback_list.on_epoch_begin(epoch)
                sums = np.zeros(3)
                for step in range(self.steps):
                    callback_list.on_train_batch_begin(step)
                    sums += self._train_step(next(self._train_batches)).numpy()
                    logs = {"loss": sums[0] / sums[2], "accuracy": sums[1] / sums[2]}
                    callback_list.on_train_batch_end(step, logs)
                if self._val_batches is not None:
                    callback_list.on_test_begin()
                    val_loss, val_accuracy = self._evaluate(self._val_batches)
                    callback_list.on_test_end({"loss": val_loss, "accuracy": val_accuracy})
                    logs.update(val_loss=val_loss, val_accuracy=val_accuracy)
                callback_list.on_epoch_end(epoch, logs)
                # A signal or early stop on any worker stops all of them after the same epoch.
                if float(self._stop_votes(tf.constant(float(bool(model.stop_training))))) > 0:
                    break
            callback_list.on_train_end(logs)
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                tf.errors.CancelledError) as exc:
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise WorkerLost(
                f"training stopped: a worker of the cluster died or is unreachable ({reason}). "
                "Start every worker again with `fer train --resume RUN` to continue from the last saved epoch"
            ) from exc
