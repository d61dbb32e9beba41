"""bpkit.optim: each update rule against a hand-computed reference, dtype, skipping, counted writes, argument errors."""
import math

import numpy as np
import pytest

from bpkit import errors
from bpkit.nn import Linear, ReLU, Sequential
from bpkit.optim import SGD, Adam
from bpkit.tensor import Tensor, is_grad_enabled

P0 = np.array([1.0, -2.0, 0.5])


def run(opt_cls, steps, dtype=np.float64, **kwargs):
    """Minimise sum(p**3 / 3) (gradient p**2, changes every step) and return p after each step."""
    p = Tensor(P0.astype(dtype), requires_grad=True)
    opt = opt_cls([p], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (p * p * p / 3).sum().backward()
        opt.step()
        out.append(p.data.copy())
    return out, p, opt


def test_sgd_hand_computed():
    # the gradient of sum(p) is 1 everywhere: p goes 1.0 -> 0.9 -> 0.8
    p = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1)
    for expected in (0.9, 0.8):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        np.testing.assert_allclose(p.data, [expected], rtol=1e-12)


def test_sgd_momentum_hand_computed():
    # constant gradient 1, lr 0.1, momentum 0.9: buf = 1, 1.9, 2.71 so p = 0.9, 0.71, 0.439
    p = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    for expected in (0.9, 0.71, 0.439):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        np.testing.assert_allclose(p.data, [expected], rtol=1e-12)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [2.71], rtol=1e-12)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.1)])
def test_sgd_matches_reference_loop(momentum, weight_decay):
    got, _, _ = run(SGD, 4, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    p, buf = P0.copy(), None
    for step in range(4):
        g = p ** 2 + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = buf
        p = p - 0.1 * g
        np.testing.assert_allclose(got[step], p, rtol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_reference_loop_with_bias_correction(weight_decay):
    lr, (b1, b2), eps = 0.1, (0.9, 0.999), 1e-8
    got, _, opt = run(Adam, 5, lr=lr, weight_decay=weight_decay)
    p, m, v = P0.copy(), 0.0, 0.0
    for t in range(1, 6):
        g = p ** 2 + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)        # the textbook form of the bias correction
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got[t - 1], p, rtol=1e-12)
    assert opt.state[0]["step"] == 5


def test_adam_first_step_moves_each_parameter_by_lr():
    # bias correction makes the first step lr * g / |g|, whatever the scale of g
    got, _, _ = run(Adam, 1, lr=0.01)
    np.testing.assert_allclose(got[0], P0 - 0.01, rtol=1e-6)


@pytest.mark.parametrize("opt_cls, kwargs", [(SGD, {"lr": 0.1, "momentum": 0.9}), (Adam, {"lr": 0.1})])
def test_float32_is_kept(opt_cls, kwargs):
    got, p, opt = run(opt_cls, 3, dtype=np.float32, **kwargs)
    assert p.data.dtype == np.float32
    buffers = [v for v in opt.state[0].values() if isinstance(v, np.ndarray)]
    assert len(buffers) == (1 if opt_cls is SGD else 2)          # momentum_buffer; exp_avg, exp_avg_sq
    assert all(b.dtype == np.float32 for b in buffers)
    reference, _, _ = run(opt_cls, 3, **kwargs)                  # the same steps in float64
    np.testing.assert_allclose(got, reference, rtol=1e-5)


def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert not np.allclose(a.data, 1) and np.array_equal(b.data, np.ones(2))
    assert opt.state[1] == {}
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_params_may_be_a_generator_and_duplicates_count_once():
    a = Tensor(np.ones(2), requires_grad=True)
    opt = SGD((p for p in [a, a]), lr=0.5)
    assert len(opt.params) == 1
    a.sum().backward()
    opt.step()
    np.testing.assert_allclose(a.data, [0.5, 0.5])


# --- the update is an in-place change the version counters see (as torch.optim's p.add_ under no_grad)

OPTIMIZERS = [(SGD, {"lr": 0.1}), (SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
              (Adam, {"lr": 0.1}), (Adam, {"lr": 0.1, "weight_decay": 0.1})]


@pytest.mark.parametrize("opt_cls, kwargs", OPTIMIZERS)
def test_step_between_forward_and_backward_is_caught(opt_cls, kwargs):
    # the hidden layer's gradient is dout @ W2, so backward reads the second weight: after a step it is gone
    model = Sequential(Linear(2, 4, rng=0), ReLU(), Linear(4, 1, rng=1))
    opt = opt_cls(model.parameters(), **kwargs)
    x = Tensor(np.ones((3, 2), dtype=np.float32))
    model(x).sum().backward()                      # gradients for the step
    loss = model(x).sum()
    opt.step()
    with pytest.raises(errors.BackwardError) as info:
        loss.backward()
    one_line(info, "modified by an inplace operation", "(1, 4)", "linear")
    opt.zero_grad()                                # the right order still works
    model(x).sum().backward()
    opt.step()
    assert is_grad_enabled()                       # step's no_grad() is left behind


@pytest.mark.parametrize("opt_cls, kwargs", OPTIMIZERS)
def test_step_counts_one_version_per_updated_parameter(opt_cls, kwargs):
    a, b = param(), param()
    opt = opt_cls([a, b], **kwargs)
    a.sum().backward()                             # b has no gradient: skipped, not written
    for k in (1, 2, 3):
        before = a.data
        opt.step()
        assert (a._version, b._version) == (k, 0)
        assert a.data is before                    # updated in place, no new array


def one_line(info, *words):
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def param():
    return Tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize("make, error, words", [
    (lambda: SGD([], lr=0.1), ValueError, ["empty parameter list"]),
    (lambda: Adam(iter([])), ValueError, ["empty parameter list"]),
    (lambda: SGD([np.ones(2)], lr=0.1), TypeError, ["only optimize Tensors", "ndarray"]),
    (lambda: SGD([Tensor(np.ones(2))], lr=0.1), ValueError, ["requires_grad=True"]),
    (lambda: SGD([param() * 2], lr=0.1), ValueError, ["non-leaf", "parameter 0"]),
    (lambda: SGD([param()], lr=-0.1), ValueError, ["SGD", "learning rate", "-0.1"]),
    (lambda: Adam([param()], lr=-1.0), ValueError, ["Adam", "learning rate", "-1.0"]),
    (lambda: SGD([param()], lr=0.1, momentum=-0.5), ValueError, ["momentum", "-0.5"]),
    (lambda: Adam([param()], betas=(1.0, 0.999)), ValueError, ["beta parameter at index 0", "1.0"]),
    (lambda: Adam([param()], betas=(0.9, -0.1)), ValueError, ["beta parameter at index 1", "-0.1"]),
    (lambda: Adam([param()], eps=-1e-8), ValueError, ["epsilon", "-1e-08"]),
    (lambda: SGD(param(), lr=0.1), TypeError, ["iterable of Tensors", "[x]"]),
])
def test_argument_errors(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert isinstance(info.value, (errors.BpkitValueError, errors.BpkitTypeError))
    one_line(info, *words)


NAN = float("nan")
TYPE, VALUE = errors.BpkitTypeError, errors.BpkitValueError


@pytest.mark.parametrize("opt_cls, kwargs, error, words", [
    # wrong type: a one-line TypeError naming the argument, not numpy's or Python's from inside bpkit
    (SGD, dict(lr=None), TYPE, ["SGD", "learning rate", "lr must be a number", "NoneType"]),
    (SGD, dict(lr="0.1"), TYPE, ["learning rate", "'0.1'", "got str"]),
    (SGD, dict(lr=True), TYPE, ["learning rate", "got bool"]),
    (SGD, dict(momentum=[0.9]), TYPE, ["momentum value", "momentum must be a number", "list"]),
    (SGD, dict(weight_decay=None), TYPE, ["weight_decay value", "weight_decay must be a number"]),
    (Adam, dict(lr=None), TYPE, ["Adam", "learning rate", "lr must be a number"]),
    (Adam, dict(eps="1e-8"), TYPE, ["epsilon value", "eps must be a number", "str"]),
    (Adam, dict(weight_decay=None), TYPE, ["weight_decay value", "NoneType"]),
    (Adam, dict(betas=0.9), TYPE, ["Adam", "invalid betas: 0.9", "pair (beta1, beta2)", "float"]),
    (Adam, dict(betas="ab"), TYPE, ["invalid betas: 'ab'", "pair", "str"]),
    (Adam, dict(betas=(0.9, None)), TYPE, ["beta parameter at index 1", "betas[1] must be a number"]),
    # wrong length
    (Adam, dict(betas=(0.9,)), VALUE, ["invalid betas: (0.9,)", "pair (beta1, beta2)", "got 1 value"]),
    (Adam, dict(betas=[0.9, 0.99, 0.999]), VALUE, ["betas", "pair", "got 3 values"]),
    # NaN: every comparison with it is False, so it would slip past a plain `lr < 0` check
    (SGD, dict(lr=NAN), VALUE, ["learning rate: nan", "lr must be >= 0, not NaN"]),
    (SGD, dict(momentum=np.float64(NAN)), VALUE, ["momentum value: nan", "not NaN"]),
    (SGD, dict(weight_decay=NAN), VALUE, ["weight_decay value: nan", "not NaN"]),
    (Adam, dict(lr=NAN), VALUE, ["Adam", "learning rate: nan", "not NaN"]),
    (Adam, dict(eps=NAN), VALUE, ["epsilon value: nan", "not NaN"]),
    (Adam, dict(weight_decay=NAN), VALUE, ["weight_decay value: nan", "not NaN"]),
    (Adam, dict(betas=(0.9, NAN)), VALUE, ["beta parameter at index 1: nan", "in [0, 1)"]),
    # out of range
    (SGD, dict(weight_decay=-1), VALUE, ["weight_decay value: -1", "weight_decay must be >= 0"]),
    (Adam, dict(weight_decay=-0.5), VALUE, ["weight_decay value: -0.5"]),
    (Adam, dict(betas=[0.9, 1]), VALUE, ["beta parameter at index 1: 1", "betas[1] must be in [0, 1)"]),
    (SGD, dict(lr=-10 ** 400), VALUE, ["learning rate: -inf"]),
])
def test_hyperparameter_errors_name_the_argument(opt_cls, kwargs, error, words):
    with pytest.raises(error) as info:
        opt_cls([param()], **kwargs)
    one_line(info, *words)


def test_hyperparameters_are_checked_when_set_later_too():
    opt = Adam([param()], lr=0.1, betas=[0.8, 0.9])
    assert opt.betas == (0.8, 0.9)                 # any pair, kept as a tuple
    opt.lr = 0.01                                  # allowed: changes the next step
    assert opt.lr == 0.01
    with pytest.raises(errors.BpkitTypeError) as info:
        opt.lr = "0.01"
    one_line(info, "Adam", "learning rate", "'0.01'")
    with pytest.raises(errors.BpkitValueError) as info:
        opt.betas = (0.9,)
    one_line(info, "betas", "pair")
    assert (opt.lr, opt.betas) == (0.01, (0.8, 0.9))          # the bad values were not stored
    sgd = SGD([param()], lr=np.float32(0.5), momentum=1)      # numpy numbers and ints are numbers
    assert (sgd.lr, sgd.momentum) == (0.5, 1.0)
    assert repr(sgd) == "SGD(1 parameters, lr=0.5, momentum=1.0, weight_decay=0.0)"


def test_defaults_are_pytorchs():
    sgd, adam = SGD([param()]), Adam([param()])
    assert (sgd.lr, sgd.momentum, sgd.weight_decay) == (1e-3, 0.0, 0.0)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)


def test_lr_can_be_changed_between_steps():
    p = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1)
    opt.lr = 0.5
    p.sum().backward()
    opt.step()
    assert math.isclose(p.data[0], 0.5)
