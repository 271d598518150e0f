"""Running released models without PyTorch: ONNX graphs in onnxruntime, with numpy and Pillow only.

Nothing here imports torch (a test runs it where importing torch fails); ``pixels`` repeats the torch path's
resizing and padding in numpy, ``session`` opens ONNX files, ``runtime`` holds ``OnnxTranslator`` and
``OnnxClassifier``.
"""
