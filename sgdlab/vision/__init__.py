"""The bear classifier: the same hand-written SGD, now training ResNet34 on photos.

Vision code imports the core (``sgdlab.*``); the core never imports vision.
"""

from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.data import ImageDataLoaders, default_bears_dir
from sgdlab.vision.interpret import ClassificationInterpretation
from sgdlab.vision.learner import Learner, vision_learner
from sgdlab.vision.lr_find import LRFinderResult
from sgdlab.vision.model import create_model
from sgdlab.vision.predictor import Predictor
from sgdlab.vision.recorder import EpochRow, Recorder

__all__ = [
    "ClassificationInterpretation", "EpochRow", "ImageDataLoaders", "LRFinderResult", "Learner",
    "Predictor", "Recorder", "create_model", "default_bears_dir", "load_learner",
    "vision_learner",
]
