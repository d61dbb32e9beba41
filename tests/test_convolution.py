"""Convolution and pooling: closed-form cases, PyTorch's output shapes, layers' init, every bad input.

Gradients of all of them against central differences (random shapes, strides,
paddings, dilations) are in test_tensor.py's table of primitives.
"""
import math

import numpy as np
import pytest

import bpkit
import bpkit.functional as F
from bpkit import Tensor, nn
from bpkit.errors import AxisError, BpkitTypeError, BpkitValueError, ShapeError


def test_conv1d_by_hand():
    x = Tensor([[[1.0, 2.0, 3.0, 4.0]]])
    w = Tensor([[[1.0, 0.0, -1.0]]])                       # a cross-correlation: x[i] - x[i + 2]
    assert np.array_equal(F.conv1d(x, w).data, [[[-2.0, -2.0]]])
    assert np.array_equal(F.conv1d(x, w, padding=1).data, [[[-2.0, -2.0, -2.0, 3.0]]])
    assert np.array_equal(F.conv1d(x, w, padding=1, stride=2).data, [[[-2.0, -2.0]]])
    assert np.array_equal(F.conv1d(x, w, Tensor([10.0]), dilation=1).data, [[[8.0, 8.0]]])


def test_conv_dx_is_a_full_convolution_with_the_flipped_kernel():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(1, 1, 7)), requires_grad=True)
    w = rng.normal(size=(1, 1, 3))
    out = F.conv1d(x, Tensor(w))
    g = rng.normal(size=out.shape)
    out.backward(g)
    full = np.convolve(g[0, 0], w[0, 0], mode="full")     # np.convolve flips its second argument
    assert np.allclose(x.grad[0, 0], full)


def test_a_shared_weights_gradient_sums_over_every_position():
    x = Tensor(np.arange(10.0).reshape(1, 1, 10))
    w = Tensor(np.ones((1, 1, 1)), requires_grad=True)
    F.conv1d(x, w).sum().backward()
    assert w.grad[0, 0, 0] == 45.0


@pytest.mark.parametrize("size, k, s, p, d, expected", [(28, 3, 1, 1, 1, 28), (28, 3, 2, 1, 1, 14), (40, 5, 2, 1, 1, 19),
                                                       (10, 3, 1, 0, 2, 6), (7, 7, 1, 0, 1, 1)])
def test_output_sizes_follow_pytorchs_formula(size, k, s, p, d, expected):
    out = F.conv2d(np.zeros((1, 1, size, size)), np.zeros((2, 1, k, k)), stride=s, padding=p, dilation=d)
    assert out.shape == (1, 2, expected, expected)
    assert expected == math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1


def test_same_padding_keeps_the_size_and_unbatched_input_works():
    out = F.conv2d(np.zeros((3, 9, 8)), np.zeros((4, 3, 4, 3)), padding="same")
    assert out.shape == (4, 9, 8)
    assert F.conv1d(np.zeros((2, 11)), np.zeros((5, 2, 3))).shape == (5, 9)


def test_max_pool_routes_to_the_first_maximum_on_a_tie():
    x = Tensor(np.array([[[[1.0, 5.0], [5.0, 2.0]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2)
    out.backward(np.ones(out.shape))
    assert out.item() == 5.0 and np.array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_overlapping_max_windows_add_up_and_padding_never_wins():
    x = Tensor(np.array([[[-1.0, -3.0, -2.0]]]), requires_grad=True)
    out = F.max_pool1d(x, 3, stride=1, padding=1)          # windows [pad,-1,-3], [-1,-3,-2], [-3,-2,pad]
    out.sum().backward()
    assert np.array_equal(out.data, [[[-1.0, -1.0, -2.0]]]) and np.array_equal(x.grad, [[[2.0, 0.0, 1.0]]])


def test_avg_pool_count_include_pad():
    x = Tensor(np.ones((1, 1, 4)))
    assert np.allclose(F.avg_pool1d(x, 3, 1, 1).data, [[[2 / 3, 1, 1, 2 / 3]]])
    assert np.allclose(F.avg_pool1d(x, 3, 1, 1, count_include_pad=False).data, 1.0)


def test_flatten_as_torch():
    t = Tensor(np.zeros((2, 3, 4, 5)))
    assert t.flatten().shape == (120,) and t.flatten(1).shape == (2, 60)
    assert bpkit.flatten(t, 1, 2).shape == (2, 12, 5) and nn.Flatten()(t).shape == (2, 60)
    assert Tensor(3.0).flatten().shape == (1,)
    with pytest.raises(AxisError, match="start_dim .* cannot come after end_dim"):
        t.flatten(2, 1)
    with pytest.raises(AxisError, match="out of range"):
        t.flatten(4)


def test_layers_shapes_init_bounds_and_dtype():
    conv = nn.Conv2d(8, 16, 3, padding=1, rng=0)
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias.shape == (16,) and conv.weight.dtype == np.float32
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.9 * bound
    assert np.abs(conv.bias.data).max() <= bound
    assert conv(np.zeros((2, 8, 28, 28), np.float32)).shape == (2, 16, 28, 28)
    c1 = nn.Conv1d(1, 25, 5, stride=2, padding=1, bias=False, dtype=np.float64, rng=0)
    assert c1.bias is None and c1(np.zeros((3, 1, 40))).shape == (3, 25, 19)
    assert [n for n, _ in c1.named_parameters()] == ["weight"]
    assert nn.MaxPool2d(2)(np.zeros((1, 2, 6, 6))).shape == (1, 2, 3, 3)
    assert nn.AvgPool1d(4, 2)(np.zeros((1, 2, 10))).shape == (1, 2, 4)
    assert nn.MaxPool1d(3, 1, 1)(np.zeros((2, 5))).shape == (2, 5)
    assert nn.AvgPool2d(2)(np.zeros((3, 4, 4))).shape == (3, 2, 2)


def test_a_cnn_trains_end_to_end():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                          nn.Linear(4 * 8, 2, rng=1))
    x = rng.normal(size=(32, 1, 16)).astype(np.float32)
    y = (x[:, 0, :8].sum(1) > x[:, 0, 8:].sum(1)).astype(int)
    opt = bpkit.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.conv2d(np.zeros((1, 3, 8, 8)), np.zeros((4, 2, 3, 3))), ShapeError,
     r"conv2d: input has 3 channels but the weight expects 2 \(weight shape \(4, 2, 3, 3\)"),
    (lambda: F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), ShapeError,
     r"conv2d: the kernel \(spanning 3x3 with its dilation\) is larger than the padded input \(2x2\)"),
    (lambda: F.conv1d(np.zeros((1, 1, 4)), np.zeros((1, 1, 3)), dilation=2), ShapeError, "spanning 5"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 3, 3)), stride=0), BpkitValueError,
     "conv2d: stride must be positive, got 0"),
    (lambda: F.conv2d(np.zeros((28, 28)), np.zeros((1, 1, 3, 3))), ShapeError,
     r"conv2d: expected 3-D \(unbatched\) or 4-D input \(N, C, H, W\), got 2-D input of shape \(28, 28\)"),
    (lambda: F.conv2d(np.zeros((1, 1, 1, 8, 8)), np.zeros((1, 1, 3, 3))), ShapeError, "got 5-D input"),
    (lambda: F.conv2d(Tensor(np.zeros((1, 1, 8, 8), np.float32)), np.zeros((1, 1, 3, 3))), BpkitTypeError,
     "conv2d: input is float32 but weight is float64; use one dtype for both"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((1, 3, 3))), ShapeError, "weight must be 4-D"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 3, 3)), np.zeros(3)), ShapeError,
     r"bias must have shape \(2,\)"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 3, 3)), padding=-1), BpkitValueError,
     "padding must be non-negative"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 3, 3)), stride=2, padding="same"), BpkitValueError,
     "padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(np.zeros((1, 2, 8, 8)), np.zeros((2, 1, 3, 3)), groups=2), BpkitValueError,
     "groups=2 is not supported"),
    (lambda: F.conv2d(np.zeros((1, 1, 8, 8)), np.zeros((2, 1, 3, 3)), stride=1.5), BpkitTypeError,
     "stride must be an int or a tuple of 2 ints"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 8, 8)), 3, padding=2), BpkitValueError,
     "pad should be smaller than or equal to half of kernel size"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 8, 8)), 0), BpkitValueError, "kernel_size must be positive"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3), ShapeError, "larger than the padded input"),
    (lambda: F.avg_pool2d(np.zeros((8, 8)), 2), ShapeError, "avg_pool2d: expected 3-D"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 8, 8)), 2, ceil_mode=True), BpkitValueError, "ceil_mode=True"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), BpkitValueError, "padding_mode='reflect'"),
    (lambda: nn.Conv2d(3, 4, 0), BpkitValueError, "Conv2d: kernel_size must be positive"),
    (lambda: nn.Conv1d(3.0, 4, 3), BpkitTypeError, "Conv1d: in_channels must be an integer"),
])
def test_bad_input_one_clear_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)
