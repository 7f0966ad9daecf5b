import numpy as np
import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


def pytest_configure(config):
    # Tests run in 2 xdist workers on 2 cores: one torch thread each, or OpenMP threads of the two
    # workers contend and a small parallel op can stall for tens of milliseconds.
    torch.set_num_threads(1)
