"""bpkit.diagnostics.layer_stats and Module.register_forward_hook, checked against a hand computation."""
import numpy as np
import pytest

import bpkit.functional as F
from bpkit import Tensor, nn
from bpkit.diagnostics import layer_stats, robust_norm
from bpkit.errors import BpkitTypeError, BpkitValueError


def mlp():
    return nn.Sequential(nn.Linear(4, 6, dtype=np.float64, rng=0), nn.Tanh(),
                         nn.Linear(6, 3, dtype=np.float64, rng=1))


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 4)), np.array([0, 1, 2, 0, 1, 2, 0, 1])


def test_records_match_a_hand_computation():
    model, (x, y) = mlp(), data()
    stats = layer_stats(model, Tensor(x), y)
    W1, b1, W2, b2 = (p.data for p in model.parameters())
    z = x @ W1.T + b1
    h = np.tanh(z)
    logits = h @ W2.T + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dlogits = (p - np.eye(3)[y]) / len(y)
    dh = dlogits @ W2
    dz = dh * (1 - h ** 2)
    assert [r.name for r in stats.layers] == ["0", "1", "2"]
    assert [r.kind for r in stats.layers] == ["Linear", "Tanh", "Linear"]
    for rec, out, grad in zip(stats.layers, (z, h, logits), (dz, dh, dlogits)):
        assert rec.mean == pytest.approx(out.mean()) and rec.std == pytest.approx(out.std())
        assert rec.grad_norm == pytest.approx(np.linalg.norm(grad))
    assert [q.name for q in stats.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert stats.params[0].grad_norm == pytest.approx(np.linalg.norm(dz.T @ x))
    assert stats.params[2].grad_norm == pytest.approx(np.linalg.norm(dlogits.T @ h))
    assert stats.loss == pytest.approx(-np.log(p[np.arange(8), y]).mean())
    assert np.allclose(stats.column("std"), [z.std(), h.std(), logits.std()])
    assert "0.weight" in stats.table() and "Tanh" in repr(stats)


def test_model_is_left_as_it_was():
    model, (x, y) = mlp(), data()
    marker = np.full((6, 4), 7.0)
    model[0].weight.grad = marker
    layer_stats(model, Tensor(x), y)
    assert model[0].weight.grad is marker and model[2].weight.grad is None
    assert all(not m.__dict__.get("_forward_hooks") for m in model.modules())


def test_layer_choice_by_class_and_name_and_dead_units():
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64, rng=0), nn.ReLU(),
                          nn.Linear(6, 3, dtype=np.float64, rng=1))
    x, y = data()
    stats = layer_stats(model, Tensor(x), y, layers=[nn.Linear])
    assert [r.name for r in stats.layers] == ["0", "2"]
    relu = layer_stats(model, Tensor(x), y, layers=["1"]).layers[0]
    expected = np.mean(np.maximum(x @ model[0].weight.data.T + model[0].bias.data, 0) == 0)
    assert relu.zero_fraction == pytest.approx(expected) and 0 < expected < 1
    with pytest.raises(BpkitValueError, match="no module named 'fc9'"):
        layer_stats(model, Tensor(x), y, layers=["fc9"])


def test_a_shared_layer_gives_one_record_per_call_and_other_losses_work():
    shared = nn.Linear(3, 3, dtype=np.float64, rng=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    x = np.ones((2, 3))
    stats = layer_stats(model, Tensor(x), np.zeros((2, 3)), loss_fn=F.mse_loss)
    assert [r.name for r in stats.layers] == ["0", "1", "0 (call 2)"]


def test_limit_stops_an_exploding_forward_pass_without_overflow():
    layers = []
    for i in range(200):
        lin = nn.Linear(8, 8, dtype=np.float64, rng=i)
        nn.init.normal_(lin.weight, 0, 3.0, generator=i)
        layers += [lin, nn.ReLU()]
    model = nn.Sequential(*layers)
    with np.errstate(all="raise"):
        stats = layer_stats(model, Tensor(np.ones((4, 8))), np.zeros((4, 8)), loss_fn=F.mse_loss, limit=1e50)
    assert stats.stopped is not None and stats.loss is None
    assert np.all(np.isnan(stats.column("grad_norm")))
    assert "stopped after" in stats.table()


def test_bad_input():
    with pytest.raises(BpkitTypeError, match="model must be a Module"):
        layer_stats(lambda x: x, np.ones(2), 0)
    with pytest.raises(BpkitValueError, match="loss_fn must return a scalar Tensor"):
        layer_stats(mlp(), Tensor(np.ones((2, 4))), None, loss_fn=lambda out, t: out)


def test_robust_norm_does_not_overflow():
    assert robust_norm(np.array([3e200, 4e200])) == pytest.approx(5e200)
    assert robust_norm(np.zeros(3)) == 0.0 and robust_norm([]) == 0.0


def test_forward_hook_sees_inputs_can_replace_output_and_is_removable():
    layer = nn.Linear(2, 2, dtype=np.float64, rng=0)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape)) or out * 0)
    out = layer(np.ones((3, 2)))
    assert seen == [(layer, (3, 2))] and np.all(out.data == 0)
    handle.remove()
    assert np.any(layer(np.ones((3, 2))).data != 0) and len(seen) == 1
    with layer.register_forward_hook(lambda *a: None):
        pass
    assert not layer._forward_hooks
    assert list(layer.state_dict()) == ["weight", "bias"]
    with pytest.raises(BpkitTypeError, match="hook must be callable"):
        layer.register_forward_hook(3)


def test_a_residual_block_in_a_few_lines_passes_the_gradient_through():
    class Residual(nn.Module):
        def __init__(self, f):
            self.f = f

        def forward(self, x):
            return x + self.f(x)

    block = Residual(nn.Sequential(nn.Linear(3, 3, dtype=np.float64, rng=0), nn.Tanh()))
    assert [n for n, _ in block.named_parameters()] == ["f.0.weight", "f.0.bias"]
    x = Tensor(np.zeros((1, 3)), requires_grad=True)
    block(x).sum().backward()
    W = block.f[0].weight.data
    b = block.f[0].bias.data
    assert np.allclose(x.grad, 1 + ((1 - np.tanh(b) ** 2) @ W))   # I + dF/dx, summed over outputs
