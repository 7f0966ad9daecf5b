"""Networks of the texts: the two-layer network of Figure 1.1, MLPs, convolutional networks.

Plain ``torch.nn.Module`` s; this package imports nothing of monge but itself.
"""

from .convnet import ConvNet
from .perceptron import ACTIVATIONS, MLP, TwoLayer, count_parameters, make_activation

__all__ = ["ACTIVATIONS", "ConvNet", "MLP", "TwoLayer", "count_parameters", "make_activation"]
