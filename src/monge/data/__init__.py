"""Data sets, offline: scikit-learn's digits, MNIST-1D, 2-D toys, the user's files.

``load(name)`` returns a :class:`Dataset` for chapter 1: train and test splits as torch tensors,
standardised on the training split. ``load_points(name)`` returns :class:`Points` for chapter 2's
generative networks: training and held-out samples in data units. This package imports nothing
of monge but itself and :mod:`monge.errors`; a refused argument or file raises its
:class:`~monge.errors.InputError`.
"""

from .augment import random_shift
from .dataset import Dataset, standardised, stratified_split
from .files import read_labelled
from .points import POINT_SETS, Points, from_array, load_points
from .sets import DATASETS, load
from .toys import (GENERATIVE_TOYS, TOYS, Modes, blobs, circle, circles, gaussians8, gaussians25, modes, moons, spiral,
                   swissroll, xor)

__all__ = ["DATASETS", "Dataset", "GENERATIVE_TOYS", "Modes", "POINT_SETS", "Points", "TOYS", "blobs", "circle",
           "circles", "from_array", "gaussians8", "gaussians25", "load", "load_points", "modes", "moons", "random_shift",
           "read_labelled", "spiral", "standardised", "stratified_split", "swissroll", "xor"]
