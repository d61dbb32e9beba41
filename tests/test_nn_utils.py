"""bpkit.nn.utils: gradient clipping by norm and by value, as PyTorch's (formula written out from its docs)."""
import math

import numpy as np
import pytest

from bpkit import Tensor, nn
from bpkit.errors import BpkitTypeError, NonFiniteError
from bpkit.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm


def params_with_grads(*grads):
    ps = []
    for g in grads:
        p = Tensor(np.zeros(np.shape(g)), requires_grad=True)
        p.grad = None if g is None else np.array(g, dtype=np.float64)
        ps.append(p)
    return ps


def test_returns_the_total_norm_before_clipping_and_scales_in_place():
    ps = params_with_grads([3.0, 0.0], [[4.0]])
    g0 = ps[0].grad
    total = clip_grad_norm_(ps, max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)   # PyTorch's formula: max_norm / (total + 1e-6)
    assert ps[0].grad is g0                      # the same array, changed in place
    assert np.allclose(ps[0].grad, [3 * coef, 0]) and np.allclose(ps[1].grad, [[4 * coef]])
    joint = math.hypot(ps[0].grad[0], ps[1].grad[0, 0])
    assert joint < 1.0 and joint == pytest.approx(1.0, rel=1e-5)


def test_no_change_under_the_limit():
    ps = params_with_grads([0.3, -0.4])
    total = clip_grad_norm_(ps, max_norm=10.0)
    assert float(total) == pytest.approx(0.5)
    assert np.array_equal(ps[0].grad, [0.3, -0.4])


@pytest.mark.parametrize("norm_type, expected", [(1.0, 7.0), (float("inf"), 4.0), ("inf", 4.0), (2, 5.0)])
def test_norm_types(norm_type, expected):
    ps = params_with_grads([3.0], [-4.0])
    assert float(clip_grad_norm_(ps, 100.0, norm_type=norm_type)) == pytest.approx(expected)


def test_parameters_without_grad_are_skipped_and_a_single_tensor_is_accepted():
    ps = params_with_grads([6.0, 8.0], None)
    assert float(clip_grad_norm_(ps, 5.0)) == pytest.approx(10.0) and ps[1].grad is None
    p = params_with_grads([2.0])[0]
    assert float(clip_grad_norm_(p, 1.0)) == pytest.approx(2.0) and p.grad[0] == pytest.approx(1.0, rel=1e-5)
    assert float(clip_grad_norm_(params_with_grads(None), 1.0)) == 0.0


def test_nonfinite_norm_raises_only_when_asked():
    ps = params_with_grads([np.inf, 1.0])
    with pytest.raises(NonFiniteError, match="non-finite, so it cannot be clipped"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert isinstance(NonFiniteError("x"), RuntimeError)
    total = clip_grad_norm_(params_with_grads([np.nan]), 1.0)
    assert math.isnan(float(total))


def test_max_norm_zero_or_negative_is_accepted_as_in_pytorch():
    ps = params_with_grads([3.0, 4.0])
    clip_grad_norm_(ps, 0.0)
    assert np.allclose(ps[0].grad, 0.0)


def test_clip_grad_value_cuts_each_entry():
    ps = params_with_grads([3.0, -0.2, -7.0])
    assert clip_grad_value_(ps, 1.0) is None
    assert np.array_equal(ps[0].grad, [1.0, -0.2, -1.0])


def test_bad_input_is_named():
    with pytest.raises(BpkitTypeError, match="item 0 is a list, not a Tensor"):
        clip_grad_norm_([[1.0]], 1.0)
    with pytest.raises(BpkitTypeError, match="max_norm must be a number"):
        clip_grad_norm_(params_with_grads([1.0]), "1")
    with pytest.raises(BpkitTypeError, match="clip_value must be a number"):
        clip_grad_value_(params_with_grads([1.0]), None)
    with pytest.raises(BpkitTypeError, match="norm_type must be a number or 'inf'"):
        clip_grad_norm_(params_with_grads([1.0]), 1.0, norm_type="two")


def test_on_a_model_after_backward_with_a_generator_of_parameters():
    model = nn.Sequential(nn.Linear(3, 5, rng=0), nn.Tanh(), nn.Linear(5, 1, rng=1))
    (model(np.ones((4, 3), dtype=np.float32)) * 100).sum().backward()
    total = clip_grad_norm_((p for p in model.parameters()), 1.0)
    assert float(total) > 1.0
    assert get_total_norm([p.grad for p in model.parameters()]).item() == pytest.approx(1.0, rel=1e-4)
    assert total.dtype == np.float32
