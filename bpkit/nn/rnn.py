"""Recurrent layers with PyTorch's names, shapes, parameter names, gate order and init.

Cells take one time step: ``RNNCell``, ``LSTMCell``, ``GRUCell``. ``RNN``,
``LSTM`` and ``GRU`` run a whole sequence (``num_layers``, ``bidirectional``,
``batch_first``, ``dropout`` between layers) and return ``(output, h_n)``, or
``(output, (h_n, c_n))`` for the LSTM, as PyTorch does. The equations, with
W_i* the input weights and W_h* the recurrent ones (PyTorch's docs):

* RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)   (or relu)
* LSTM: i, f, g, o = sigma, sigma, tanh, sigma of (W_i* x + b_i* + W_h* h + b_h*),
        c' = f * c + i * g,  h' = o * tanh(c')        (rows of W_ih: i, f, g, o)
* GRU:  r, z = sigma(W_i* x + b_i* + W_h* h + b_h*),
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
        h' = (1 - z) * n + z * h                      (rows of W_ih: r, z, n)

Every weight and bias starts uniform in [-1/sqrt(hidden_size), 1/sqrt(hidden_size)],
PyTorch's default, so weights copied from PyTorch give the same outputs and gradients.

Speed: the input projections of all time steps are one ``linear`` node per layer
and direction; a GRU or LSTM step is then one fused primitive
(``bpkit.primitives_rnn``, its backward written out beside it), an RNN step
three nodes, never a node per number. Backpropagation through
time is nothing but ``backward()`` on this unrolled graph: the recurrent weight
appears at every step, so its gradient sums over the steps.
"""
import math

import numpy as np

from bpkit import functional as F
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.nn.linear import _size
from bpkit.nn.module import Module
from bpkit.ops import concatenate, stack
from bpkit import primitives_rnn as PR
from bpkit.tensor import Tensor, _nary

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _param(rng, shape, bound, dtype):
    return Tensor(rng.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)


def _nonlinearity(name, value):
    if value not in ("tanh", "relu"):
        raise BpkitValueError(f"{name}: Unknown nonlinearity {value!r:.40}. Select from 'tanh' or 'relu'.")
    return value


# ---------------------------------------------------------------- one step of each kind


def _rnn_step(gi, h, w_hh, b_hh, nonlinearity):
    """h' from the input projection gi (N, H) and h (N, H)."""
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(gi, state, w_hh, b_hh):
    """(h', c') from gi (N, 4H) and (h, c): one fused primitive (gate rows i, f, g, o)."""
    h, c = state
    n = h.shape[-1]
    both = _nary("lstm_cell", PR.lstm_cell, (gi, h, c, w_hh, b_hh))
    return both[:, :n], both[:, n:]


def _gru_step(gi, h, w_hh, b_hh):
    """h' from gi (N, 3H) and h: one fused primitive (gate rows r, z, n)."""
    return _nary("gru_cell", PR.gru_cell, (gi, h, w_hh, b_hh))


# ---------------------------------------------------------------- cells


class _CellBase(Module):
    _kind = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32, rng=None):
        name = type(self).__name__
        self.input_size = _size("input_size", input_size, name)
        self.hidden_size = _size("hidden_size", hidden_size, name)
        gates = _GATES[self._kind] * self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        rng = np.random.default_rng(rng)
        self.weight_ih = _param(rng, (gates, self.input_size), bound, dtype)
        self.weight_hh = _param(rng, (gates, self.hidden_size), bound, dtype)
        self.bias_ih = _param(rng, (gates,), bound, dtype) if bias else None
        self.bias_hh = _param(rng, (gates,), bound, dtype) if bias else None

    def _prepare(self, input, hx):
        """input as a (N, input_size) Tensor, whether it was unbatched, and hx (or zeros) as (N, H)."""
        name = type(self).__name__
        x = input if isinstance(input, Tensor) else Tensor(input, dtype=self.weight_ih.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input of shape (N, {self.input_size}) or ({self.input_size},), "
                             f"got {x.shape}")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, self.input_size)
        states = hx if isinstance(hx, tuple) else (hx,)
        out = []
        for s in states:
            if s is None:
                s = Tensor(np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
            else:
                s = s if isinstance(s, Tensor) else Tensor(s, dtype=x.dtype)
                want = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
                if s.shape != want:
                    raise ShapeError(f"{name}: the hidden state must have shape {want}, got {s.shape}")
                if unbatched:
                    s = s.reshape(1, self.hidden_size)
            out.append(s)
        return x, unbatched, out

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + (", bias=False" if self.bias_ih is None else "")


class RNNCell(_CellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.nn.RNNCell.

    forward(input (N, input_size) or (input_size,), hx (N, hidden_size) or None
    for zeros) -> h' of hx's shape. nonlinearity: "tanh" or "relu".
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float32, rng=None):
        self.nonlinearity = _nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype, rng)

    def forward(self, input, hx=None):
        x, unbatched, (h,) = self._prepare(input, hx)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _rnn_step(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h.reshape(self.hidden_size) if unbatched else h


class LSTMCell(_CellBase):
    """One step of an LSTM, as torch.nn.LSTMCell: forward(input, (h, c) or None) -> (h', c').

    Gate rows of weight_ih / weight_hh (4 * hidden_size of them): input i, forget f,
    cell candidate g, output o. c' = f * c + i * g; h' = o * tanh(c').
    """

    _kind = "LSTM"

    def forward(self, input, hx=None):
        x, unbatched, states = self._prepare(input, (None, None) if hx is None else _pair("LSTMCell", hx))
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(gi, tuple(states), self.weight_hh, self.bias_hh)
        if unbatched:
            return h.reshape(self.hidden_size), c.reshape(self.hidden_size)
        return h, c


class GRUCell(_CellBase):
    """One step of a GRU, as torch.nn.GRUCell: forward(input, h or None) -> h'.

    Gate rows (3 * hidden_size): reset r, update z, new n;
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.
    """

    _kind = "GRU"

    def forward(self, input, hx=None):
        x, unbatched, (h,) = self._prepare(input, hx)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _gru_step(gi, h, self.weight_hh, self.bias_hh)
        return h.reshape(self.hidden_size) if unbatched else h


def _pair(name, hx):
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise BpkitTypeError(f"{name}: the state must be a pair (h, c), got {type(hx).__name__}")
    return tuple(hx)


# ---------------------------------------------------------------- whole sequences


class _RNNBase(Module):
    _kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=np.float32, rng=None, nonlinearity="tanh"):
        name = self._kind
        self.input_size = _size("input_size", input_size, name)
        self.hidden_size = _size("hidden_size", hidden_size, name)
        self.num_layers = _size("num_layers", num_layers, name)
        if self.num_layers < 1:
            raise BpkitValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        if proj_size:
            raise BpkitValueError(f"{name}: proj_size is not supported by bpkit (0 only)")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise BpkitValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                                  f"probability of an element being zeroed, got {dropout!r:.20}")
        self.nonlinearity = _nonlinearity(name, nonlinearity)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        directions = 2 if self.bidirectional else 1
        gates = _GATES[self._kind] * self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        rng = np.random.default_rng(rng)
        self._rng = rng   # also draws the dropout masks between layers
        for layer in range(self.num_layers):
            size_in = self.input_size if layer == 0 else self.hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}", _param(rng, (gates, size_in), bound, dtype))
                setattr(self, f"weight_hh_l{layer}{suffix}", _param(rng, (gates, self.hidden_size), bound, dtype))
                if self.bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", _param(rng, (gates,), bound, dtype))
                    setattr(self, f"bias_hh_l{layer}{suffix}", _param(rng, (gates,), bound, dtype))

    def _weights(self, layer, suffix):
        get = lambda n: getattr(self, f"{n}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _layout(self):
        return "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"

    def _check_input(self, input):
        name = self._kind
        x = input if isinstance(input, Tensor) else Tensor(input, dtype=self.weight_ih_l0.dtype)
        if x.ndim not in (2, 3):
            raise ShapeError(f"{name}: expected input of 3 dimensions {self._layout()} (batch_first="
                             f"{self.batch_first}) or 2 dimensions (L, H_in) unbatched, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has {x.shape[-1]} features in its last dimension but input_size "
                             f"is {self.input_size} (batch_first={self.batch_first} expects {self._layout()})")
        if x.dtype != self.weight_ih_l0.dtype:
            raise BpkitTypeError(f"{name}: input is {x.dtype} but the weights are {self.weight_ih_l0.dtype}; "
                                 f"use one dtype for both")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, unbatched

    def _check_state(self, h, what, n, unbatched, dtype):
        directions = 2 if self.bidirectional else 1
        want = (self.num_layers * directions, self.hidden_size) if unbatched else \
            (self.num_layers * directions, n, self.hidden_size)
        if h is None:
            return Tensor(np.zeros((want[0], n, self.hidden_size), dtype=dtype))
        h = h if isinstance(h, Tensor) else Tensor(h, dtype=dtype)
        if h.shape != want:
            raise ShapeError(f"{self._kind}: {what} must have shape {want} (num_layers * num_directions, "
                             f"{'' if unbatched else 'N, '}hidden_size), got {h.shape}")
        return h.reshape(want[0], 1, self.hidden_size) if unbatched else h

    def _run(self, x, states):
        """Run every layer and direction over x (L, N, H_in); states: per kind, (layers*dirs, N, H) tensors."""
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        steps = x.shape[0]
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
                gi = F.linear(x, w_ih, b_ih)                  # all time steps' input projections: one node
                k = layer * directions + d
                state = tuple(s[k] for s in states)
                hs = [None] * steps
                for t in (range(steps) if d == 0 else range(steps - 1, -1, -1)):
                    state = self._step(gi[t], state, w_hh, b_hh)
                    hs[t] = state[0]
                outs.append(stack(hs, axis=0))
                for f, s in zip(finals, state):
                    f.append(s)
            x = outs[0] if directions == 1 else concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, rng=self._rng)
        return x, [stack(f, axis=0) for f in finals]

    def _finish(self, out, finals, unbatched):
        if unbatched:
            out = out.reshape(out.shape[0], out.shape[2])
            finals = [f.reshape(f.shape[0], f.shape[2]) for f in finals]
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, finals

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RNNBase):
    """An Elman RNN over a whole sequence, as torch.nn.RNN: forward(input, h0=None) -> (output, h_n).

    input: (L, N, input_size), or (N, L, input_size) with batch_first=True, or
    (L, input_size) unbatched. output: every step's top-layer h, (L, N, D * hidden_size)
    (D = 2 if bidirectional); h_n: each layer's and direction's last h,
    (num_layers * D, N, hidden_size). Parameters weight_ih_l{k}, weight_hh_l{k},
    bias_ih_l{k}, bias_hh_l{k} (and ..._reverse), PyTorch's names and shapes.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         dtype, rng, nonlinearity)

    def _step(self, gi, state, w_hh, b_hh):
        return (_rnn_step(gi, state[0], w_hh, b_hh, self.nonlinearity),)

    def forward(self, input, hx=None):
        x, unbatched = self._check_input(input)
        h0 = self._check_state(hx, "h0", x.shape[1], unbatched, x.dtype)
        out, (h_n,) = self._finish(*self._run(x, [h0]), unbatched)
        return out, h_n


class GRU(_RNNBase):
    """A GRU over a whole sequence, as torch.nn.GRU: forward(input, h0=None) -> (output, h_n).

    Shapes and parameter names as ``RNN``; gate rows r, z, n (3 * hidden_size).
    """

    _kind = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         dtype, rng)

    def _step(self, gi, state, w_hh, b_hh):
        return (_gru_step(gi, state[0], w_hh, b_hh),)

    def forward(self, input, hx=None):
        x, unbatched = self._check_input(input)
        h0 = self._check_state(hx, "h0", x.shape[1], unbatched, x.dtype)
        out, (h_n,) = self._finish(*self._run(x, [h0]), unbatched)
        return out, h_n


class LSTM(_RNNBase):
    """An LSTM over a whole sequence, as torch.nn.LSTM: forward(input, (h0, c0) or None) -> (output, (h_n, c_n)).

    Shapes and parameter names as ``RNN``; gate rows i, f, g, o (4 * hidden_size).
    """

    _kind = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype, rng)

    def _step(self, gi, state, w_hh, b_hh):
        return _lstm_step(gi, state, w_hh, b_hh)

    def forward(self, input, hx=None):
        x, unbatched = self._check_input(input)
        h0, c0 = (None, None) if hx is None else _pair("LSTM", hx)
        states = [self._check_state(h0, "h0", x.shape[1], unbatched, x.dtype),
                  self._check_state(c0, "c0", x.shape[1], unbatched, x.dtype)]
        out, (h_n, c_n) = self._finish(*self._run(x, states), unbatched)
        return out, (h_n, c_n)
