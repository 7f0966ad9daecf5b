"""Networks of the texts: the two-layer network of Figure 1.1, MLPs, convolutional networks, generators, critics.

Plain ``torch.nn.Module`` s; this package imports nothing of monge but itself and :mod:`monge.errors` (a refused
hyperparameter raises its :class:`~monge.errors.InputError`).
"""

from .convnet import ConvNet
from .critic import ConvCritic, MLPCritic
from .generator import ConvGenerator, Generator, MLPGenerator
from .perceptron import ACTIVATIONS, MLP, TwoLayer, count_parameters, make_activation

__all__ = ["ACTIVATIONS", "ConvCritic", "ConvGenerator", "ConvNet", "Generator", "MLP", "MLPCritic", "MLPGenerator",
           "TwoLayer", "count_parameters", "make_activation"]
