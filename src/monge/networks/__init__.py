"""Networks of the texts: the two-layer network of Figure 1.1, MLPs, convolutional networks, generators.

Plain ``torch.nn.Module`` s; this package imports nothing of monge but itself.
"""

from .convnet import ConvNet
from .generator import ConvGenerator, Generator, MLPGenerator
from .perceptron import ACTIVATIONS, MLP, TwoLayer, count_parameters, make_activation

__all__ = ["ACTIVATIONS", "ConvGenerator", "ConvNet", "Generator", "MLP", "MLPGenerator", "TwoLayer",
           "count_parameters", "make_activation"]
