"""The models-from-code file of the served model: MLflow runs it on loading (``code/`` is on sys.path)."""

import mlflow.models

try:  # the served model: code/segmenter.py
    from segmenter import Segmenter
except ImportError:  # while rudratune logs it
    from rudratune.serve.segmenter import Segmenter

mlflow.models.set_model(Segmenter())
