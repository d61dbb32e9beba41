"""The activations added for chapter 08: LeakyReLU, GELU (exact and tanh), Identity; values as PyTorch's."""
import math

import numpy as np
import pytest

import bpkit.functional as F
from bpkit import Tensor, nn
from bpkit.errors import BpkitTypeError, BpkitValueError


def test_gelu_values_are_pytorchs():
    x = Tensor([-1.0, 0.0, 1.0, 3.0])
    phi = [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (-1.0, 0.0, 1.0, 3.0)]
    assert np.allclose(F.gelu(x).data, [v * p for v, p in zip((-1.0, 0.0, 1.0, 3.0), phi)], rtol=1e-14)
    assert F.gelu(Tensor([1.0])).item() == pytest.approx(0.8413447460685429, rel=1e-14)
    assert F.gelu(Tensor([1.0]), approximate="tanh").item() == pytest.approx(0.8411919906082768, rel=1e-12)


def test_gelu_gradient_at_zero_is_one_half_and_float32_stays_float32():
    x = Tensor(np.array([0.0, 2.0], dtype=np.float32), requires_grad=True)
    y = nn.GELU()(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert x.grad[0] == pytest.approx(0.5)


def test_leaky_relu_values_and_slope_at_the_kink():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = nn.LeakyReLU(0.1)(x)
    y.sum().backward()
    assert np.allclose(y.data, [-0.2, 0.0, 3.0]) and np.allclose(x.grad, [0.1, 0.1, 1.0])
    assert nn.LeakyReLU().negative_slope == 0.01


def test_identity_takes_any_arguments():
    x = Tensor([1.0])
    assert nn.Identity(54, unused="x")(x) is x


def test_bad_arguments():
    with pytest.raises(BpkitValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.raises(BpkitTypeError, match="negative_slope must be a number"):
        nn.LeakyReLU("0.1")


def test_functional_activations_match_the_methods():
    x = Tensor(np.linspace(-2, 2, 7))
    assert np.array_equal(F.relu(x).data, x.relu().data)
    assert np.array_equal(F.tanh(x).data, x.tanh().data)
    assert np.array_equal(F.sigmoid(x).data, x.sigmoid().data)
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.GELU()) == "GELU(approximate='none')"
