"""Data sets for chapter 1, offline: scikit-learn's digits, MNIST-1D, 2-D toys, the user's files.

``load(name)`` returns a :class:`Dataset`: train and test splits as torch tensors, standardised
on the training split. This package imports nothing of monge but itself.
"""

from .augment import random_shift
from .dataset import Dataset, standardised, stratified_split
from .files import read_labelled
from .sets import DATASETS, load
from .toys import TOYS, blobs, circles, moons, spiral, xor

__all__ = ["DATASETS", "Dataset", "TOYS", "blobs", "circles", "load", "moons", "random_shift", "read_labelled",
           "spiral", "standardised", "stratified_split", "xor"]
