"""Masks of new images from what training left: ``load_source`` turns a train run folder, a sweep folder or
an ensemble file into a ``Predictor`` (its members, each with its own decoding and image size);
``probabilities`` predicts raw images at their own size; ``predict_images`` writes masks, probability maps,
overlays and measurements into a folder, whole or not at all; ``choose_ensemble`` picks an ensemble of a
sweep's best trials on validation data."""

from rudratune.inference.images import image_files, read_image
from rudratune.inference.infer import FLIPS, at_training_size, device_for, probabilities, tiled
from rudratune.inference.members import Member, Predictor
from rudratune.inference.records import ENSEMBLE_KIND
from rudratune.inference.run import THRESHOLD, PredictOptions, check_out, predict_images
from rudratune.inference.sources import ENSEMBLE, Choice, load_source

__all__ = [
    "ENSEMBLE",
    "ENSEMBLE_KIND",
    "FLIPS",
    "THRESHOLD",
    "Choice",
    "Member",
    "PredictOptions",
    "Predictor",
    "at_training_size",
    "check_out",
    "device_for",
    "image_files",
    "load_source",
    "predict_images",
    "probabilities",
    "read_image",
    "tiled",
]
