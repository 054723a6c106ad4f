"""Training: run folders, the tf.data input pipeline, callbacks and the fit loop."""
