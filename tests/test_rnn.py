"""Recurrent layers: PyTorch's equations (written out from its docs), names, shapes, init, BPTT, bad input."""
import numpy as np
import pytest

from bpkit import Tensor, nn
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.gradcheck import numerical_grad

sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731


def ref_step(kind, x, state, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step of PyTorch's documented equations, in numpy."""
    gi, gh = x @ w_ih.T + b_ih, state[0] @ w_hh.T + b_hh
    if kind == "RNN":
        pre = gi + gh
        return (np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0),)
    if kind == "GRU":
        (ir, iz, i_n), (hr, hz, hn) = np.split(gi, 3, -1), np.split(gh, 3, -1)
        r, z = sig(ir + hr), sig(iz + hz)
        n = np.tanh(i_n + r * hn)
        return ((1 - z) * n + z * state[0],)
    i, f, g, o = np.split(gi + gh, 4, -1)
    c = sig(f) * state[1] + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def ref_sequence(layer, x, states):
    """output, finals for a (L, N, I) input through every layer and direction, in numpy."""
    dirs = 2 if layer.bidirectional else 1
    finals = [[] for _ in states]
    for k in range(layer.num_layers):
        outs = []
        for d, suffix in enumerate(("", "_reverse")[:dirs]):
            w = [getattr(layer, f"{n}_l{k}{suffix}").data for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            state = tuple(s[k * dirs + d] for s in states)
            hs = [None] * len(x)
            for t in (range(len(x)) if d == 0 else reversed(range(len(x)))):
                state = ref_step(layer._kind, x[t], state, *w, layer.nonlinearity)
                hs[t] = state[0]
            outs.append(np.stack(hs))
            for f, s in zip(finals, state):
                f.append(s)
        x = np.concatenate(outs, -1)
    return x, [np.stack(f) for f in finals]


LAYERS = [(nn.RNN, {}), (nn.RNN, dict(nonlinearity="relu")), (nn.GRU, {}), (nn.LSTM, {}),
          (nn.GRU, dict(num_layers=2, bidirectional=True)), (nn.LSTM, dict(num_layers=2, bidirectional=True)),
          (nn.RNN, dict(num_layers=3))]


@pytest.mark.parametrize("cls, kwargs", LAYERS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_sequence_layers_follow_pytorchs_equations(cls, kwargs, batch_first):
    layer = cls(3, 4, batch_first=batch_first, dtype=np.float64, rng=0, **kwargs)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 2, 3))
    dirs = 2 if layer.bidirectional else 1
    states = [rng.normal(size=(layer.num_layers * dirs, 2, 4)) for _ in range(2 if cls is nn.LSTM else 1)]
    want_out, want_finals = ref_sequence(layer, x, states)
    inp = x.transpose(1, 0, 2) if batch_first else x
    out, h = layer(inp, tuple(states) if cls is nn.LSTM else states[0])
    got_finals = list(h) if cls is nn.LSTM else [h]
    got_out = out.data.transpose(1, 0, 2) if batch_first else out.data
    assert np.allclose(got_out, want_out, atol=1e-12)
    for g, w in zip(got_finals, want_finals):
        assert np.allclose(g.data, w, atol=1e-12)


@pytest.mark.parametrize("cls, kind", [(nn.RNNCell, "RNN"), (nn.GRUCell, "GRU"), (nn.LSTMCell, "LSTM")])
def test_cells_follow_pytorchs_equations_and_accept_unbatched_input(cls, kind):
    cell = cls(3, 4, dtype=np.float64, rng=2)
    rng = np.random.default_rng(3)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    w = [cell.weight_ih.data, cell.weight_hh.data, cell.bias_ih.data, cell.bias_hh.data]
    if kind == "LSTM":
        got = cell(x, (h, c))
        want = ref_step(kind, x, (h, c), *w)
        assert all(np.allclose(a.data, b) for a, b in zip(got, want))
        h1, c1 = cell(x[0], (h[0], c[0]))
        assert h1.shape == (4,) and np.allclose(h1.data, want[0][0])
    else:
        want = ref_step(kind, x, (h,), *w)[0]
        assert np.allclose(cell(x, h).data, want)
        assert np.allclose(cell(x[0], h[0]).data, want[0])
        assert np.allclose(cell(x).data, ref_step(kind, x, (np.zeros((2, 4)),), *w)[0])


def test_parameter_names_shapes_and_gate_sizes_are_pytorchs():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    names = [(n, p.shape) for n, p in lstm.named_parameters()]
    assert names[:4] == [("weight_ih_l0", (16, 3)), ("weight_hh_l0", (16, 4)), ("bias_ih_l0", (16,)),
                         ("bias_hh_l0", (16,))]
    assert names[4][0] == "weight_ih_l0_reverse" and dict(names)["weight_ih_l1"] == (16, 8)
    assert len(names) == 16
    assert [n for n, _ in nn.GRU(2, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert nn.GRU(2, 5).weight_hh_l0.shape == (15, 5) and nn.RNN(2, 5).weight_ih_l0.shape == (5, 2)
    assert [n for n, _ in nn.GRUCell(2, 3).named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def test_default_init_is_uniform_within_one_over_sqrt_hidden():
    for layer in (nn.LSTM(10, 64, rng=0), nn.GRUCell(10, 64, rng=0)):
        for p in layer.parameters():
            assert np.abs(p.data).max() <= 1 / 8 and np.abs(p.data).max() > 0.12 and p.dtype == np.float32


def test_shapes_unbatched_batch_first_and_outputs_meet_the_final_states():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, rng=0)
    out, h = gru(np.ones((2, 7, 3)))
    assert out.shape == (2, 7, 8) and h.shape == (4, 2, 4)
    assert np.allclose(out.data[:, -1, :4], h.data[2]) and np.allclose(out.data[:, 0, 4:], h.data[3])
    out, h = gru(np.ones((7, 3)))
    assert out.shape == (7, 8) and h.shape == (4, 4)
    out, (h, c) = nn.LSTM(3, 4, dtype=np.float64)(np.ones((7, 3)), (np.zeros((1, 4)), np.zeros((1, 4))))
    assert out.shape == (7, 4) and c.shape == (1, 4)


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_bptt_gradients_match_central_differences(cls):
    layer = cls(2, 3, num_layers=2, bidirectional=True, dtype=np.float64, rng=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 2, 2))
    w_out = rng.normal(size=(4, 2, 6))

    def loss():
        out, _ = layer(Tensor(x))
        return (out * Tensor(w_out)).sum()

    loss().backward()
    for name, p in layer.named_parameters():
        numeric = numerical_grad(lambda _: loss().item(), p.data)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_recurrent_weights_gradient_sums_over_time_steps():
    rnn = nn.RNN(1, 2, dtype=np.float64, rng=0)
    cell = nn.RNNCell(1, 2, dtype=np.float64, rng=0)
    for a, b in zip(rnn.parameters(), cell.parameters()):
        b.data[...] = a.data
    x = np.random.default_rng(0).normal(size=(6, 1, 1))
    out, _ = rnn(x)
    out.sum().backward()
    h, total = None, 0
    for t in range(6):
        h = cell(x[t], h)
        total = total + h.sum()
    total.backward()
    assert np.allclose(rnn.weight_hh_l0.grad, cell.weight_hh.grad)


def test_one_graph_node_per_op_not_per_number():
    gru = nn.GRU(1, 32, rng=0)
    out, _ = gru(np.zeros((40, 8, 1), np.float32))
    seen, stack = set(), [out]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.extend(p for p in t._parents if p is not None)
    assert len(seen) < 25 * 40


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=np.float64, rng=0)
    x = np.ones((5, 2, 3))
    a, b = lstm(x)[0].data, lstm(x)[0].data
    lstm.eval()
    c, d = lstm(x)[0].data, lstm(x)[0].data
    assert not np.allclose(a, b) and np.array_equal(c, d)


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 3, 1), np.float32)), ShapeError,
     r"GRU: expected input of 3 dimensions \(L, N, H_in\) \(batch_first=False\) or 2 dimensions"),
    (lambda: nn.GRU(3, 4, batch_first=True)(np.zeros((2, 5, 7), np.float32)), ShapeError,
     r"input has 7 features in its last dimension but input_size is 3 \(batch_first=True expects \(N, L, H_in\)\)"),
    (lambda: nn.RNN(3, 4)(np.zeros((5, 2, 3), np.float32), np.zeros((2, 4), np.float32)), ShapeError,
     r"RNN: h0 must have shape \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 3), np.float32), np.zeros((1, 2, 4))), BpkitTypeError,
     r"LSTM: the state must be a pair \(h, c\)"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), BpkitValueError,
     "RNN: Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), BpkitValueError, "RNNCell: Unknown nonlinearity 'gelu'"),
    (lambda: nn.GRU(3, 4)(Tensor(np.zeros((5, 2, 3)))), BpkitTypeError, "GRU: input is float64 but the weights are float32"),
    (lambda: nn.GRU(3, 4, dropout=1.5), BpkitValueError, "dropout should be a number in range"),
    (lambda: nn.LSTM(3, 4, proj_size=2), BpkitValueError, "proj_size is not supported"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 5), np.float32)), ShapeError, r"GRUCell: expected input of shape \(N, 3\)"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32)), ShapeError,
     r"GRUCell: the hidden state must have shape \(2, 4\)"),
])
def test_bad_input_one_clear_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)
