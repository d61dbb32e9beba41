"""bpkit.nn.init: PyTorch's formulas (gains, fans, bounds), statistics of large draws, errors."""
import math
import warnings

import numpy as np
import pytest

from bpkit import Tensor, nn
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.nn import init


def weight(*shape, dtype=np.float64):
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1), ("conv2d", None, 1), ("sigmoid", None, 1), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)), ("selu", None, 0.75)])
def test_calculate_gain_is_pytorchs(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


@pytest.mark.parametrize("bad, match", [("relu6", "Unsupported nonlinearity 'relu6'"),
                                        ("Tanh", "Unsupported nonlinearity")])
def test_unknown_nonlinearity_is_named(bad, match):
    with pytest.raises(BpkitValueError, match=match):
        init.calculate_gain(bad)
    with pytest.raises(BpkitValueError, match=match):
        init.kaiming_normal_(weight(3, 4), nonlinearity=bad)


def test_leaky_relu_param_must_be_a_number():
    with pytest.raises(BpkitValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape, fans", [((5, 3), (3, 5)), ((8, 4, 3), (12, 24)), ((16, 8, 3, 3), (72, 144)),
                                         ((2, 7, 1, 1), (7, 2))])
def test_fans_as_pytorch_for_linear_and_conv_weights(shape, fans):
    assert init._calculate_fan_in_and_fan_out(weight(*shape)) == fans


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_])
def test_fans_need_two_dimensions(fn):
    with pytest.raises(ShapeError, match="Fan in and fan out can not be computed for tensor with fewer than 2"):
        fn(weight(5))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
                                init.orthogonal_, init.zeros_, init.ones_])
def test_not_a_tensor_is_refused_in_one_line(fn):
    with pytest.raises(BpkitTypeError, match=r"expected a Tensor .*got ndarray; wrap it"):
        fn(np.zeros((3, 3)))


def _check_moments(t, mean, var):
    """Sample mean and variance of a large draw within 6 standard errors of the target."""
    a = t.data.astype(np.float64).ravel()
    n = a.size
    assert abs(a.mean() - mean) < 6 * math.sqrt(var / n)
    # the sample variance's standard error is at most var * sqrt(2 / n) for these (light-tailed) laws
    assert abs(a.var() - var) < 6 * var * math.sqrt(2 / n)


FAN_IN, FAN_OUT = 400, 250


@pytest.mark.parametrize("fn, kwargs, var", [
    (init.uniform_, dict(a=-1.0, b=3.0), 16 / 12),
    (init.normal_, dict(mean=0.5, std=2.0), 4.0),
    (init.xavier_uniform_, dict(), 2 / (FAN_IN + FAN_OUT)),
    (init.xavier_normal_, dict(gain=5 / 3), (5 / 3) ** 2 * 2 / (FAN_IN + FAN_OUT)),
    (init.kaiming_uniform_, dict(nonlinearity="relu"), 2 / FAN_IN),
    (init.kaiming_normal_, dict(nonlinearity="relu"), 2 / FAN_IN),
    (init.kaiming_normal_, dict(nonlinearity="relu", mode="fan_out"), 2 / FAN_OUT),
    (init.kaiming_uniform_, dict(a=math.sqrt(5)), 1 / (3 * FAN_IN)),  # nn.Linear's default: bound 1/sqrt(fan_in)
    (init.kaiming_normal_, dict(), 2 / (1 + 0.01 ** 2) / FAN_IN),     # default nonlinearity leaky_relu
])
def test_large_draws_have_the_documented_mean_and_variance(fn, kwargs, var):
    t = weight(FAN_OUT, FAN_IN)
    fn(t, **kwargs, generator=0)
    mean = kwargs.get("mean", 0.0) if fn is not init.uniform_ else 1.0
    _check_moments(t, mean, var)


def test_uniform_bounds_are_pytorchs():
    t = weight(FAN_OUT, FAN_IN)
    init.xavier_uniform_(t, generator=1)
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.99 * bound
    init.kaiming_uniform_(t, a=math.sqrt(5), generator=1)
    assert np.abs(t.data).max() <= 1 / math.sqrt(FAN_IN)


def test_conv_weight_uses_the_receptive_field():
    t = weight(64, 16, 3, 3)   # fan_in = 144
    init.kaiming_normal_(t, nonlinearity="relu", generator=0)
    _check_moments(t, 0.0, 2 / 144)


def test_in_place_same_object_dtype_kept_version_moves_and_no_graph():
    t = weight(30, 20, dtype=np.float32)
    before = t._version
    out = init.kaiming_uniform_(t, generator=0)
    assert out is t and t.dtype == np.float32 and t._version > before
    assert t.requires_grad and t.grad is None and t._parents == ()


def test_generator_gives_reproducible_draws_and_accepts_a_numpy_generator():
    a, b, c = weight(4, 5), weight(4, 5), weight(4, 5)
    init.normal_(a, generator=7)
    init.normal_(b, generator=np.random.default_rng(7))
    init.normal_(c, generator=8)
    assert np.array_equal(a.data, b.data) and not np.array_equal(a.data, c.data)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3), (6, 6)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    t = weight(*shape)
    init.orthogonal_(t, gain=2.0, generator=0)
    q = t.data.reshape(shape[0], -1) / 2.0
    small = min(q.shape)
    gram = q @ q.T if q.shape[0] == small else q.T @ q
    assert np.allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_needs_two_dimensions():
    with pytest.raises(ShapeError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(weight(4))


def test_constant_ones_zeros_eye():
    t = weight(2, 3)
    assert np.all(init.constant_(t, 0.25).data == 0.25)
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    assert np.array_equal(init.eye_(t).data, np.eye(2, 3))


def test_kaiming_mode_is_checked_and_zero_element_warns():
    with pytest.raises(BpkitValueError, match="Mode 'fan_avg' not supported, please use one of fan_in, fan_out"):
        init.kaiming_uniform_(weight(3, 3), mode="fan_avg")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        init.kaiming_uniform_(weight(0, 3))
    assert "zero-element" in str(w[0].message)


def test_random_init_needs_a_float_tensor():
    with pytest.raises(BpkitTypeError, match="need a float tensor"):
        init.normal_(Tensor(np.zeros((2, 2), dtype=np.int64)))


def test_a_linear_layer_reinitialized_trains_as_before():
    layer = nn.Linear(6, 4)
    init.xavier_uniform_(layer.weight, generator=0)
    init.zeros_(layer.bias)
    out = layer(np.ones((2, 6), dtype=np.float32)).sum()
    out.backward()
    assert layer.weight.grad.shape == (4, 6) and np.all(layer.bias.grad == 2)
