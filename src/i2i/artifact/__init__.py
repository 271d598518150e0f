"""The model artifact: what a trained model is outside training, and its one home on disk (the release format).

``open_model`` (in ``open``) opens any model path: a release folder, a run folder or a checkpoint file.
"""
