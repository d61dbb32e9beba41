"""bpkit.optim: each update rule against a hand-written reference, parameter groups, state_dict, errors.

The references below are written out from the algorithm boxes of PyTorch's
documentation (torch.optim.SGD, Adagrad, RMSprop, Adam, AdamW), in the
textbook form (m_hat, v_hat), independently of bpkit's in-place code.
"""
import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import errors
from bpkit.nn import Linear, ReLU, Sequential
from bpkit.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from bpkit.tensor import Tensor, is_grad_enabled
from strategies import shapes

CLASSES = {"SGD": SGD, "Adagrad": Adagrad, "RMSprop": RMSprop, "Adam": Adam, "AdamW": AdamW}


# --- the references: one step of each documented rule on plain float64 arrays

def reference_step(name, h, p, g, s):
    """p after one step of optimizer `name` with hyperparameters h; s is this parameter's state (updated)."""
    s["t"] = t = s.get("t", 0) + 1
    lr, wd = h["lr"], h["weight_decay"]
    if name == "SGD":
        g = g + wd * p
        if h["momentum"] != 0:
            mu = h["momentum"]
            s["b"] = g.copy() if t == 1 else mu * s["b"] + (1 - h["dampening"]) * g
            g = g + mu * s["b"] if h["nesterov"] else s["b"]
        return p - lr * g
    if name == "Adagrad":
        g = g + wd * p
        lr_t = lr / (1 + (t - 1) * h["lr_decay"])
        s["sum"] = s.get("sum", np.full_like(p, h["initial_accumulator_value"])) + g * g
        return p - lr_t * g / (np.sqrt(s["sum"]) + h["eps"])
    if name == "RMSprop":
        a, mu = h["alpha"], h["momentum"]
        g = g + wd * p
        s["v"] = a * s.get("v", 0.0) + (1 - a) * g * g
        v = s["v"]
        if h["centered"]:
            s["g_avg"] = a * s.get("g_avg", 0.0) + (1 - a) * g
            v = v - s["g_avg"] ** 2
        if mu > 0:
            s["b"] = mu * s.get("b", 0.0) + g / (np.sqrt(v) + h["eps"])
            return p - lr * s["b"]
        return p - lr * g / (np.sqrt(v) + h["eps"])
    # Adam, AdamW
    b1, b2 = h["betas"]
    if name == "AdamW":
        p = p * (1 - lr * wd)                      # decoupled: the weights decay, g is untouched
    else:
        g = g + wd * p
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    v = s["v"]
    if h["amsgrad"]:
        s["v_max"] = v = np.maximum(s.get("v_max", 0.0), v)
    m_hat, v_hat = s["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + h["eps"])


def reference_run(name, hs, p0, grads):
    """Every parameter after each step: hs[k] the hyperparameters at step k, grads[k][i] None = no gradient."""
    ps, states, out = [np.array(p, dtype=np.float64) for p in p0], [{} for _ in p0], []
    for h, gs in zip(hs, grads):
        ps = [p if g is None else reference_step(name, h, p, g, s) for p, g, s in zip(ps, gs, states)]
        out.append([p.copy() for p in ps])
    return out


def bpkit_run(opt, params, grads, hs=None):
    """The same with a bpkit optimizer; hs[k] (optional) is written into every group before step k."""
    out = []
    for k, gs in enumerate(grads):
        if hs is not None:
            for group in opt.param_groups:
                group.update({key: v for key, v in hs[k].items()})
        for p, g in zip(params, gs):
            p.grad = None if g is None else g.astype(p.data.dtype)
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


def random_grads(seed, shapes_, steps, skip=0.0):
    rng = np.random.default_rng(seed)
    return [[None if rng.random() < skip else rng.standard_normal(s) for s in shapes_] for _ in range(steps)]


def zero_or(x):
    return st.one_of(st.just(0.0), x)


def unit(lo, hi):
    return st.floats(lo, hi, allow_nan=False)


@st.composite
def hyperparameters(draw, name):
    """Valid hyperparameters for `name`, drawn over their ranges (zeros included, to reach every branch)."""
    h = {"lr": draw(unit(0.0, 0.5)), "weight_decay": draw(zero_or(unit(1e-4, 0.5)))}
    if name == "SGD":
        h["momentum"] = draw(zero_or(unit(0.01, 0.99)))
        h["nesterov"] = h["momentum"] > 0 and draw(st.booleans())
        h["dampening"] = 0.0 if h["nesterov"] else draw(zero_or(unit(0.0, 1.0)))
    elif name == "Adagrad":
        h.update(lr_decay=draw(zero_or(unit(1e-4, 0.5))), initial_accumulator_value=draw(zero_or(unit(0.0, 1.0))),
                 eps=draw(unit(1e-10, 1e-3)))
    elif name == "RMSprop":
        h.update(alpha=draw(unit(0.1, 0.999)), eps=draw(unit(1e-8, 1e-3)),
                 momentum=draw(zero_or(unit(0.01, 0.95))), centered=draw(st.booleans()))
    else:
        h.update(betas=(draw(unit(0.0, 0.999)), draw(unit(0.0, 0.999))), eps=draw(unit(1e-8, 1e-3)),
                 amsgrad=draw(st.booleans()))
    return h


@pytest.mark.parametrize("name", list(CLASSES))
@given(data=st.data())
def test_rule_matches_the_documented_algorithm(name, data):
    # random hyperparameters, shapes (0-d too), gradients per step, skipped gradients and an lr changed every step
    h = data.draw(hyperparameters(name), label="hyperparameters")
    shapes_ = data.draw(st.lists(shapes(), min_size=1, max_size=3), label="shapes")
    steps = data.draw(st.integers(1, 25), label="steps")
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    schedule = data.draw(st.booleans(), label="lr changes every step")
    rng = np.random.default_rng(seed)
    p0 = [rng.standard_normal(s) for s in shapes_]
    grads = random_grads(seed + 1, shapes_, steps, skip=0.2)
    lrs = rng.uniform(0, 0.5, steps) if schedule else [h["lr"]] * steps
    hs = [dict(h, lr=float(lr)) for lr in lrs]
    params = [Tensor(p.copy(), requires_grad=True) for p in p0]
    got = bpkit_run(CLASSES[name](params, **h), params, grads, [{"lr": h["lr"]} for h in hs])
    expected = reference_run(name, hs, p0, grads)
    for g_step, e_step in zip(got, expected):
        for g, e in zip(g_step, e_step):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


CONFIGS = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)), ("RMSprop", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)), ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01, weight_decay=0.5)),
]


def full(name, **kwargs):
    """Every hyperparameter of `name`: the constructor's defaults, then kwargs."""
    return dict(CLASSES[name]([param()]).defaults, **kwargs)


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_float32_is_kept_and_close_to_float64(name, kwargs):
    shapes_ = [(), (3,), (2, 4)]
    p0 = [np.random.default_rng(1).standard_normal(s) for s in shapes_]
    grads = random_grads(2, shapes_, 20)
    params = [Tensor(p.astype(np.float32), requires_grad=True) for p in p0]
    opt = CLASSES[name](params, **kwargs)
    got = bpkit_run(opt, params, grads)
    assert all(p.data.dtype == np.float32 for p in params)
    for p in params:
        arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
        assert (arrays or kwargs == {"lr": 0.1}) and all(a.dtype == np.float32 and a.shape == p.shape for a in arrays)
    expected = reference_run(name, [full(name, **kwargs)] * 20, p0, grads)
    for g, e in zip(got[-1], expected[-1]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


# --- a few steps worked out by hand, and the state names PyTorch uses

def test_sgd_momentum_hand_computed():
    # constant gradient 1, lr 0.1, momentum 0.9: buf = 1, 1.9, 2.71 so p = 0.9, 0.71, 0.439
    p = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    for expected in (0.9, 0.71, 0.439):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        np.testing.assert_allclose(p.data, [expected], rtol=1e-12)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [2.71], rtol=1e-12)


def test_sgd_dampening_starts_at_the_second_step_and_nesterov_looks_ahead():
    # gradient 1: dampening 0.5 gives buf = 1 (not 0.5), then 0.9 + 0.5 = 1.4
    p = Tensor(np.array([0.0]), requires_grad=True)
    opt = SGD([p], lr=1.0, momentum=0.9, dampening=0.5)
    for buf in (1.0, 1.4):
        p.grad = np.ones(1)
        opt.step()
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [buf], rtol=1e-12)
    np.testing.assert_allclose(p.data, [-2.4], rtol=1e-12)
    # Nesterov: the step is g + momentum * buf = 1 + 0.9 * 1 on the first step
    q = Tensor(np.array([0.0]), requires_grad=True)
    opt = SGD([q], lr=1.0, momentum=0.9, nesterov=True)
    q.grad = np.ones(1)
    opt.step()
    np.testing.assert_allclose(q.data, [-1.9], rtol=1e-12)


def test_adam_first_step_moves_each_parameter_by_lr():
    # bias correction makes the first step lr * g / |g|, whatever the scale of g
    p = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    opt = Adam([p], lr=0.01)
    p.grad = np.array([3.0, -1e-3, 50.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.99, -1.99, 0.49], rtol=1e-6)


def test_adagrad_lr_decay_and_rmsprop_eps_outside_the_root():
    p = Tensor(np.array([0.0]), requires_grad=True)
    opt = Adagrad([p], lr=1.0, lr_decay=1.0, eps=0.0)
    for _ in range(2):                             # steps lr * g / sqrt(sum): 1 / 1, then 0.5 / sqrt(2)
        p.grad = np.ones(1)
        opt.step()
    np.testing.assert_allclose(p.data, [-1 - 0.5 / math.sqrt(2)], rtol=1e-12)
    q = Tensor(np.array([0.0]), requires_grad=True)
    opt = RMSprop([q], lr=1.0, alpha=0.0, eps=1.0)  # v = g**2 = 4: the step is 2 / (sqrt(4) + 1)
    q.grad = np.array([2.0])
    opt.step()
    np.testing.assert_allclose(q.data, [-2 / 3], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs, names", [
    ("SGD", dict(momentum=0.9), {"momentum_buffer"}), ("SGD", {}, set()),
    ("Adagrad", {}, {"step", "sum"}),
    ("RMSprop", {}, {"step", "square_avg"}),
    ("RMSprop", dict(momentum=0.5, centered=True), {"step", "square_avg", "momentum_buffer", "grad_avg"}),
    ("Adam", {}, {"step", "exp_avg", "exp_avg_sq"}),
    ("AdamW", dict(amsgrad=True), {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
])
def test_state_names_are_pytorchs(name, kwargs, names):
    p = param()
    opt = CLASSES[name]([p], **kwargs)
    for _ in range(3):
        p.grad = np.ones(2)
        opt.step()
    assert set(opt.state[p]) == names
    if "step" in names:
        assert opt.state[p]["step"] == 3


def test_defaults_are_pytorchs():
    assert SGD([param()]).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)
    assert Adagrad([param()]).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                                               eps=1e-10)
    assert RMSprop([param()]).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                               centered=False)
    assert Adam([param()]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)
    assert AdamW([param()]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                                             amsgrad=False)
    assert issubclass(AdamW, Optimizer)


# --- parameter groups

def test_param_groups_take_the_defaults_for_keys_they_leave_out():
    decay, no_decay = [param(), param()], [param()]
    opt = SGD([{"params": decay}, {"params": no_decay, "weight_decay": 0, "lr": 0.5}],
              lr=0.1, momentum=0.9, weight_decay=0.01)
    assert len(opt.param_groups) == 2
    g0, g1 = opt.param_groups
    assert g0["params"] == decay and g1["params"] == no_decay
    assert (g0["lr"], g0["weight_decay"], g0["momentum"]) == (0.1, 0.01, 0.9)
    assert (g1["lr"], g1["weight_decay"], g1["momentum"]) == (0.5, 0.0, 0.9)
    assert set(g0) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov"}
    assert opt.defaults["lr"] == 0.1
    extra = param()
    opt.add_param_group({"params": extra, "lr": 0.2})          # a single Tensor is a group of one
    assert opt.param_groups[2]["params"] == [extra] and opt.param_groups[2]["momentum"] == 0.9
    assert opt.params == decay + no_decay + [extra]


@pytest.mark.parametrize("name", list(CLASSES))
@given(data=st.data())
def test_each_group_follows_its_own_hyperparameters(name, data):
    h1 = data.draw(hyperparameters(name), label="group 1")
    h2 = data.draw(hyperparameters(name), label="group 2")
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    shapes_ = [(3,), (), (2, 2)]
    p0 = [rng.standard_normal(s) for s in shapes_]
    grads = random_grads(int(rng.integers(2 ** 31)), shapes_, 10)
    params = [Tensor(p.copy(), requires_grad=True) for p in p0]
    opt = CLASSES[name]([{"params": params[:2], **h1}, {"params": params[2:], **h2}])
    got = bpkit_run(opt, params, grads)
    first = reference_run(name, [h1] * 10, p0[:2], [gs[:2] for gs in grads])
    second = reference_run(name, [h2] * 10, p0[2:], [gs[2:] for gs in grads])
    for g, e in zip(got[-1], first[-1] + second[-1]):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, key, values", [
    ("SGD", "momentum", [0.9, 0.5, 0.8, 0.0, 0.7]),
    ("RMSprop", "momentum", [0.9, 0.5, 0.8, 0.1, 0.7]),
    ("Adam", "betas", [(0.9, 0.99), (0.5, 0.999), (0.95, 0.9), (0.0, 0.5), (0.8, 0.8)]),
    ("AdamW", "betas", [(0.9, 0.99), (0.5, 0.999), (0.95, 0.9), (0.0, 0.5), (0.8, 0.8)]),
])
def test_a_scheduler_may_cycle_momentum_between_steps(name, key, values):
    # what a scheduler does: write group["lr"] and group["momentum"] / group["betas"], and keep "initial_lr"
    shapes_ = [(4,), ()]
    p0 = [np.linspace(-1, 1, 4), np.array(0.5)]
    grads = random_grads(3, shapes_, len(values))
    kwargs = {key: values[0]} if name != "SGD" else {"momentum": 0.9, "weight_decay": 0.1}
    params = [Tensor(p.copy(), requires_grad=True) for p in p0]
    opt = CLASSES[name](params, lr=0.05, **kwargs)
    opt.param_groups[0]["initial_lr"] = 0.05
    changes = [{"lr": 0.05 * (k + 1), key: v} for k, v in enumerate(values)]
    got = bpkit_run(opt, params, grads, changes)
    hs = [full(name, **dict(kwargs, **c)) for c in changes]
    expected = reference_run(name, hs, p0, grads)
    for g, e in zip(got[-1], expected[-1]):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
    assert opt.param_groups[0]["initial_lr"] == 0.05


def test_opt_lr_reads_and_writes_the_only_group():
    p = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1)
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5 and opt.lr == 0.5
    p.sum().backward()
    opt.step()
    assert math.isclose(p.data[0], 0.5)
    adam = Adam([param()], lr=0.1, betas=[0.8, 0.9])
    assert adam.betas == (0.8, 0.9)                # any pair, kept as a tuple
    with pytest.raises(errors.BpkitTypeError) as info:
        adam.lr = "0.01"
    one_line(info, "Adam", "learning rate", "'0.01'")
    with pytest.raises(errors.BpkitValueError) as info:
        adam.betas = (0.9,)
    one_line(info, "betas", "pair")
    assert (adam.lr, adam.betas) == (0.1, (0.8, 0.9))         # the bad values were not stored
    two = SGD([{"params": [param()]}, {"params": [param()], "lr": 0.2}], lr=0.1)
    with pytest.raises(errors.BpkitValueError) as info:
        two.lr
    one_line(info, "ambiguous", "2 parameter groups", "param_groups[i]['lr']")
    with pytest.raises(AttributeError):
        two.betas


def test_hyperparameters_in_groups_are_checked_when_set():
    opt = SGD([param()], lr=0.1, momentum=0.9, nesterov=True)
    group = opt.param_groups[0]
    group["lr"] = np.float32(0.5)                  # numpy numbers and ints are numbers
    group["momentum"] = 1
    assert (group["lr"], group["momentum"]) == (0.5, 1.0)
    for key, value, error, words in [("lr", -1.0, errors.BpkitValueError, ["learning rate", "-1.0"]),
                                     ("lr", None, errors.BpkitTypeError, ["learning rate", "NoneType"]),
                                     ("momentum", 0.0, errors.BpkitValueError, ["Nesterov momentum requires"]),
                                     ("nesterov", "yes", errors.BpkitTypeError, ["nesterov", "True or False"])]:
        with pytest.raises(error) as info:
            group[key] = value
        one_line(info, "SGD", *words)
    assert (group["lr"], group["momentum"], group["nesterov"]) == (0.5, 1.0, True)
    with pytest.raises(errors.BpkitValueError):
        group.update(lr=-2)
    with pytest.raises(errors.BpkitValueError):
        copy.deepcopy(opt).param_groups[0]["lr"] = -2      # a copied optimizer checks too
    group.setdefault("initial_lr", 0.5)           # keys of its own (a scheduler's) are kept as they are
    assert group["initial_lr"] == 0.5
    assert "SGD (" in repr(opt) and "lr: 0.5" in repr(opt)


# --- state_dict

@pytest.mark.parametrize("name, kwargs", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_state_dict_round_trip_continues_as_if_never_stopped(name, kwargs, dtype):
    shapes_ = [(3,), (), (2, 2)]
    p0 = [np.random.default_rng(4).standard_normal(s).astype(dtype) for s in shapes_]
    grads = random_grads(5, shapes_, 12, skip=0.1)

    def make(ps):
        return CLASSES[name]([{"params": ps[:2]}, {"params": ps[2:], "lr": kwargs["lr"] / 2}], **kwargs)

    straight = [Tensor(p.copy(), requires_grad=True) for p in p0]
    expected = bpkit_run(make(straight), straight, grads)[-1]
    first = [Tensor(p.copy(), requires_grad=True) for p in p0]
    opt = make(first)
    bpkit_run(opt, first, grads[:5])
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    bpkit_run(opt, first, grads[5:6])              # later steps do not change what was saved
    assert_same(saved, snapshot)
    resumed = [Tensor(p.copy(), requires_grad=True) for p in p0]
    bpkit_run(make(resumed), resumed, grads[:5])   # the weights after 5 steps, reached the same way
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    saved["param_groups"][0]["lr"] = 123.0         # the loaded optimizer holds copies
    for arrays in saved["state"].values():
        for v in arrays.values():
            if isinstance(v, np.ndarray):
                v += 1
    got = bpkit_run(fresh, resumed, grads[5:])[-1]
    for g, e in zip(got, expected):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, e)
    for p in resumed:
        assert all(v.dtype == dtype for v in fresh.state[p].values() if isinstance(v, np.ndarray))


def test_state_dict_layout_is_pytorchs():
    a, b, c = param(), param(), Tensor(np.ones(3), requires_grad=True)
    opt = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    for p in (a, c):                               # b never gets a gradient: no state
        p.grad = np.ones(p.shape)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 2]
    assert set(sd["state"][2]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][2]["step"] == 1
    assert sd["state"][2]["exp_avg"] is not opt.state[c]["exp_avg"]
    assert sd["param_groups"] == [
        dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, params=[0, 1]),
        dict(lr=0.5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, params=[2])]


def sgd_state():
    opt = SGD([param(), param()], lr=0.1, momentum=0.9)
    for p in opt.params:
        p.grad = np.ones(2)
    opt.step()
    return opt.state_dict()


def with_(sd, path, value):
    sd = copy.deepcopy(sd)
    target = sd
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return sd


@pytest.mark.parametrize("make_opt, make_sd, error, words", [
    (lambda: SGD([param(), param()]), lambda: {"state": {}}, errors.BpkitValueError,
     ["load_state_dict", "'state' and 'param_groups'"]),
    (lambda: SGD([param(), param()]), lambda: [1, 2], errors.BpkitValueError, ["'state' and 'param_groups'", "list"]),
    (lambda: SGD([{"params": [param()]}, {"params": [param()]}]), sgd_state, errors.BpkitValueError,
     ["different number of parameter groups", "1 != 2"]),
    (lambda: SGD([param(), param(), param()]), sgd_state, errors.BpkitValueError,
     ["doesn't match the size of optimizer's group", "2 parameters != 3"]),
    (lambda: SGD([param(), Tensor(np.ones(3), requires_grad=True)], momentum=0.9), sgd_state,
     errors.BpkitValueError, ["'momentum_buffer' of parameter 1", "(2,)", "(3,)"]),
    (lambda: SGD([param(), param()]), lambda: with_(sgd_state(), ("state", 7), {}), errors.BpkitValueError,
     ["state for parameter 7", "0 to 1"]),
    (lambda: SGD([param(), param()]), lambda: with_(sgd_state(), ("param_groups", 0, "lr"), -1),
     errors.BpkitValueError, ["SGD", "learning rate", "-1"]),
    (lambda: Adam([param(), param()]), sgd_state, errors.BpkitValueError, ["without", "'betas'", "another optimizer"]),
])
def test_load_state_dict_refuses_a_mismatched_dict(make_opt, make_sd, error, words):
    opt = make_opt()
    before = (copy.deepcopy(opt.param_groups[0]["lr"]), dict(opt.state))
    with pytest.raises(error) as info:
        opt.load_state_dict(make_sd())
    one_line(info, *words)
    assert (opt.param_groups[0]["lr"], dict(opt.state)) == before          # nothing changed


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# --- what every step does: skip parameters without gradient, count one in-place write

def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a, b = param(), param()
    opt = Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert not np.allclose(a.data, 1) and np.array_equal(b.data, np.ones(2))
    assert b not in opt.state or opt.state[b] == {}
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_params_may_be_a_generator_and_duplicates_count_once():
    a = param()
    opt = SGD((p for p in [a, a]), lr=0.5)
    assert opt.param_groups[0]["params"] == [a]
    a.sum().backward()
    opt.step()
    np.testing.assert_allclose(a.data, [0.5, 0.5])


OPTIMIZERS = [(SGD, {"lr": 0.1}), (SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
              (Adagrad, {"lr": 0.1, "weight_decay": 0.1}), (RMSprop, {"momentum": 0.5, "centered": True}),
              (Adam, {"lr": 0.1}), (Adam, {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True}),
              (AdamW, {"lr": 0.1, "weight_decay": 0.0})]


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


@pytest.mark.parametrize("opt_cls, kwargs, writes", [(c, k, 1) for c, k in OPTIMIZERS]
                         + [(AdamW, {"lr": 0.1}, 2)])   # AdamW's decay is a write of its own, as in PyTorch
def test_step_counts_its_in_place_writes(opt_cls, kwargs, writes):
    a, b = param(), param()
    opt = opt_cls([a, b], **kwargs)
    a.sum().backward()                             # b has no gradient: skipped, not written
    for k in (1, 2, 3):
        before = a.data
        opt.step()
        assert (a._version, b._version) == (writes * k, 0)
        assert a.data is before                    # updated in place, no new array


def one_line(info, *words):
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def param():
    return Tensor(np.ones(2), requires_grad=True)


# --- bad input: one line each, from bpkit.errors, in PyTorch's words where it has them

@pytest.mark.parametrize("make, error, words", [
    (lambda: SGD([], lr=0.1), ValueError, ["empty parameter list"]),
    (lambda: Adam(iter([])), ValueError, ["empty parameter list"]),
    (lambda: Adam([{"params": []}]), ValueError, ["empty parameter list", "parameter group 0"]),
    (lambda: SGD([np.ones(2)], lr=0.1), TypeError, ["only optimize Tensors", "ndarray"]),
    (lambda: RMSprop([{"params": [param(), 3.0]}]), TypeError, ["only optimize Tensors", "parameter 1", "float"]),
    (lambda: SGD([Tensor(np.ones(2))], lr=0.1), ValueError, ["requires_grad=True"]),
    (lambda: SGD([param() * 2], lr=0.1), ValueError, ["non-leaf", "parameter 0"]),
    (lambda: SGD(param(), lr=0.1), TypeError, ["iterable of Tensors", "[x]"]),
    (lambda: SGD({"params": [param()]}), TypeError, ["single dict"]),
    (lambda: SGD(3), TypeError, ["iterable of Tensors", "int"]),
    (lambda: SGD([{"lr": 0.1}]), ValueError, ["parameter group 0", "no 'params'"]),
    (lambda: SGD([{"params": [param()]}, param()]), TypeError, ["mixes parameter groups"]),
    (lambda: SGD([{"params": {param()}}]), TypeError, ["ordered collections", "set"]),
    (lambda: (lambda p: SGD([{"params": [p]}, {"params": [param(), p]}]))(param()),
     ValueError, ["more than one parameter group"]),
    (lambda: SGD([param()], lr=-0.1), ValueError, ["SGD", "learning rate", "-0.1"]),
    (lambda: Adam([param()], lr=-1.0), ValueError, ["Adam", "learning rate", "-1.0"]),
    (lambda: SGD([param()], lr=0.1, momentum=-0.5), ValueError, ["momentum", "-0.5"]),
    (lambda: RMSprop([param()], momentum=-0.5), ValueError, ["RMSprop", "momentum value", "-0.5"]),
    (lambda: RMSprop([param()], alpha=-0.5), ValueError, ["RMSprop", "alpha value", "-0.5"]),
    (lambda: Adagrad([param()], lr_decay=-1), ValueError, ["Adagrad", "lr_decay value", "-1"]),
    (lambda: Adagrad([param()], initial_accumulator_value=-1), ValueError, ["initial_accumulator_value value"]),
    (lambda: Adagrad([param()], eps=-1), ValueError, ["Adagrad", "epsilon value"]),
    (lambda: Adam([param()], betas=(1.0, 0.999)), ValueError, ["beta parameter at index 0", "1.0"]),
    (lambda: AdamW([param()], betas=(0.9, -0.1)), ValueError, ["AdamW", "beta parameter at index 1", "-0.1"]),
    (lambda: Adam([param()], eps=-1e-8), ValueError, ["epsilon", "-1e-08"]),
    (lambda: AdamW([param()], weight_decay=-0.1), ValueError, ["AdamW", "weight_decay value"]),
    (lambda: SGD([param()], nesterov=True), ValueError, ["Nesterov momentum requires a momentum and zero dampening"]),
    (lambda: SGD([param()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     ["Nesterov momentum requires a momentum and zero dampening", "dampening=0.1"]),
    (lambda: SGD([{"params": [param()], "momentum": 0.0}], momentum=0.9, nesterov=True), ValueError,
     ["Nesterov momentum requires"]),
    (lambda: SGD([param()], nesterov=1), TypeError, ["nesterov", "True or False"]),
    (lambda: Adam([param()], amsgrad="no"), TypeError, ["amsgrad", "True or False"]),
    (lambda: RMSprop([param()], centered=None), TypeError, ["centered", "True or False"]),
    (lambda: SGD([param()], dampening=NAN), ValueError, ["dampening value: nan"]),
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
    (RMSprop, dict(alpha="0.9"), TYPE, ["RMSprop", "alpha value", "alpha must be a number"]),
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
    (Adagrad, dict(lr_decay=NAN), VALUE, ["lr_decay value: nan"]),
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
