"""The export stage: converting a Keras model for other runtimes and checking the result agrees with it.

`exporter` holds the table of formats and the conversion; `onnx_float16` the
float16 storage of ONNX weights. The public entry is `fer_cli.exporting.exporter`.
"""
