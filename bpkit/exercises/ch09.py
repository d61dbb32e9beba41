"""Chapter 09 (Backprop through convolutions): references, cases and typical mistakes.

Shapes follow the notebook, one dimension of space (MNIST-1D is a signal):
x: (N, C_in, L) inputs, w: (C_out, C_in, K) kernels, b: (C_out,) biases,
out and dout: (N, C_out, L_out) with L_out = (L + 2 p - K) // s + 1 for
padding p (zeros on both sides) and stride s. "Convolution" is PyTorch's:
a cross-correlation, out[n, o, i] = b[o] + sum_{c, j} w[o, c, j] xp[n, c, i s + j],
xp the padded input. Pooling takes x: (N, C, L), a window k and a stride s,
no padding. Gradients are named dx, dw, db, dout.

Every check runs its cases in order and, when an answer is wrong, looks for
the typical mistake it matches (each one a function below) to say what went
wrong in words; otherwise it shows the comparison of the outputs.
"""
import copy

import numpy as np

from bpkit.exercises.compare import compare
from bpkit.exercises.core import Exercise, _describe

__all__ = ["EXERCISES", "conv1d_forward", "conv1d_backward", "conv1d_backward_as_convs", "im2col1d",
           "maxpool1d", "avgpool1d", "out_length"]


def out_length(L, K, stride, padding):
    """The output length of a convolution or pooling window sliding over L entries."""
    return (L + 2 * padding - K) // stride + 1


def _pad(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding))) if padding else x


# ----------------------------------------------------------------------------- references

def conv1d_forward(x, w, b, stride=1, padding=0):
    """out[n, o, i] = b[o] + sum over c, j of w[o, c, j] * xp[n, c, i * stride + j]; loops over i and j."""
    n, c_in, L = x.shape
    c_out, _, K = w.shape
    xp = _pad(x, padding)
    L_out = out_length(L, K, stride, padding)
    out = np.zeros((n, c_out, L_out)) + b[None, :, None]
    for i in range(L_out):
        for j in range(K):
            out[:, :, i] += xp[:, :, i * stride + j] @ w[:, :, j].T
    return out


def conv1d_backward(dout, x, w, stride=1, padding=0):
    """(dx, dw, db) of conv1d_forward: each output position hands dout back along the weights it used."""
    n, c_in, L = x.shape
    K = w.shape[2]
    xp = _pad(x, padding)
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    for i in range(dout.shape[2]):
        for j in range(K):
            t = i * stride + j
            dxp[:, :, t] += dout[:, :, i] @ w[:, :, j]
            dw[:, :, j] += dout[:, :, i].T @ xp[:, :, t]
    return dxp[:, :, padding:padding + L], dw, dout.sum(axis=(0, 2))


def conv1d_backward_as_convs(dout, x, w, padding):
    """(dx, dw, db) for stride 1 from two calls of conv1d_forward.

    dx: dout, fully padded less the forward padding, convolved with the kernel flipped in j and with
    its two channel axes swapped. dw: the padded inputs, channels as the batch, convolved with dout as
    the kernel (the examples are the channels summed over).
    """
    conv = conv1d_forward
    K = w.shape[2]
    w_back = np.ascontiguousarray(w.transpose(1, 0, 2)[:, :, ::-1])
    dx = conv(dout, w_back, np.zeros(w.shape[1]), 1, K - 1 - padding)
    dw = conv(x.transpose(1, 0, 2), dout.transpose(1, 0, 2), np.zeros(w.shape[0]), 1, padding)
    return dx, dw.transpose(1, 0, 2), dout.sum(axis=(0, 2))


def im2col1d(x, K, stride=1, padding=0):
    """cols[n, c * K + j, i] = xp[n, c, i * stride + j]: shape (N, C * K, L_out)."""
    n, c, L = x.shape
    xp = _pad(x, padding)
    L_out = out_length(L, K, stride, padding)
    cols = np.zeros((n, c, K, L_out))
    for j in range(K):
        cols[:, :, j, :] = xp[:, :, j:j + stride * (L_out - 1) + 1:stride]
    return cols.reshape(n, c * K, L_out)


def maxpool1d(x, dout, k, stride):
    """(out, dx): the largest entry of each window; each window's gradient to its first maximum."""
    n, c, L = x.shape
    L_out = out_length(L, k, stride, 0)
    out = np.zeros((n, c, L_out))
    dx = np.zeros(x.shape)
    rows, chans = np.indices((n, c))
    for i in range(L_out):
        window = x[:, :, i * stride:i * stride + k]
        first = window.argmax(axis=2)
        out[:, :, i] = window.max(axis=2)
        dx[rows, chans, i * stride + first] += dout[:, :, i]
    return out, dx


def avgpool1d(x, dout, k, stride):
    """(out, dx): the mean of each window; each window's gradient shared equally by its k entries."""
    n, c, L = x.shape
    L_out = out_length(L, k, stride, 0)
    out = np.zeros((n, c, L_out))
    dx = np.zeros(x.shape)
    for i in range(L_out):
        out[:, :, i] = x[:, :, i * stride:i * stride + k].mean(axis=2)
        dx[:, :, i * stride:i * stride + k] += dout[:, :, i:i + 1] / k
    return out, dx


# ----------------------------------------------------------------------------- cases

def _conv_cases():
    rng = np.random.default_rng(90)
    return [
        (rng.normal(size=(2, 3, 7)), rng.normal(size=(4, 3, 3)), rng.normal(size=4), 1, 0),
        (rng.normal(size=(1, 1, 6)), np.array([[[1.0, 2.0, -1.0]]]), np.array([0.5]), 1, 1),
        (rng.normal(size=(3, 2, 11)), rng.normal(size=(3, 2, 4)), rng.normal(size=3), 2, 1),
        (rng.normal(size=(2, 1, 12)), rng.normal(size=(5, 1, 5)), rng.normal(size=5), 2, 2),
    ]


def _conv_backward_cases():
    rng = np.random.default_rng(91)
    cases = []
    for (n, c_in, L, c_out, K, s, p) in ((2, 3, 7, 4, 3, 1, 0), (2, 2, 8, 3, 3, 1, 1), (3, 2, 11, 3, 4, 2, 1),
                                         (2, 1, 12, 5, 5, 2, 2)):
        x, w = rng.normal(size=(n, c_in, L)), rng.normal(size=(c_out, c_in, K))
        dout = rng.normal(size=(n, c_out, out_length(L, K, s, p)))
        cases.append((dout, x, w, s, p))
    return cases


def _as_convs_cases():
    rng = np.random.default_rng(92)
    cases = []
    for (n, c_in, L, c_out, K, p) in ((2, 3, 9, 3, 3, 1), (2, 3, 10, 2, 5, 1), (3, 2, 8, 4, 4, 0),
                                      (1, 2, 6, 2, 3, 2)):
        x, w = rng.normal(size=(n, c_in, L)), rng.normal(size=(c_out, c_in, K))
        cases.append((rng.normal(size=(n, c_out, out_length(L, K, 1, p))), x, w, p))
    return cases


def _im2col_cases():
    rng = np.random.default_rng(93)
    return [
        (np.arange(1.0, 7.0).reshape(1, 1, 6), 3, 1, 0),
        (rng.normal(size=(2, 3, 7)), 3, 1, 1),
        (rng.normal(size=(2, 2, 11)), 4, 2, 1),
        (rng.normal(size=(1, 3, 9)), 2, 3, 0),
    ]


def _pool_cases():
    rng = np.random.default_rng(94)
    cases = []
    for (n, c, L, k, s) in ((2, 3, 8, 2, 2), (1, 2, 9, 3, 2), (2, 2, 10, 3, 1), (1, 1, 7, 2, 3)):
        x = rng.normal(size=(n, c, L))
        cases.append((x, rng.normal(size=(n, c, out_length(L, k, s, 0))), k, s))
    # a tie: the window's gradient goes to its first maximum, as in PyTorch and bpkit
    cases.append((np.array([[[1.0, 3.0, 3.0, 0.0, 2.0, 2.0]]]), np.array([[[1.0, -2.0]]]), 3, 3))
    return cases


# ----------------------------------------------------------------------------- typical mistakes

def _conv_flipped(x, w, b, stride=1, padding=0):
    """A textbook convolution: the kernel flipped (what deep-learning layers do not do)."""
    return conv1d_forward(x, w[:, :, ::-1], b, stride, padding)


def _conv_no_padding(x, w, b, stride=1, padding=0):
    return conv1d_forward(x, w, b, stride, 0)


def _conv_no_stride(x, w, b, stride=1, padding=0):
    return conv1d_forward(x, w, b, 1, padding)


def _conv_no_bias(x, w, b, stride=1, padding=0):
    return conv1d_forward(x, w, np.zeros_like(b), stride, padding)


def _conv_first_channel(x, w, b, stride=1, padding=0):
    """Uses input channel 0 only, as if there were one channel."""
    return conv1d_forward(x[:, :1], w[:, :1], b, stride, padding)


def _convb_unflipped(dout, x, w, stride=1, padding=0):
    """dx with the kernel's taps met in the forward order by dout (no flip); dw and db right."""
    L, K = x.shape[2], w.shape[2]
    dxp = np.zeros(_pad(x, padding).shape)
    for i in range(dout.shape[2]):
        for j in range(K):
            dxp[:, :, i * stride + j] += dout[:, :, i] @ w[:, :, K - 1 - j]
    _, dw, db = conv1d_backward(dout, x, w, stride, padding)
    return dxp[:, :, padding:padding + L], dw, db


def _convb_crop_left(dout, x, w, stride=1, padding=0):
    """Forgets that the padded input starts p entries to the left: keeps dxp[:L] instead of dxp[p:p+L]."""
    L = x.shape[2]
    xp = _pad(x, padding)
    dxp = np.zeros(xp.shape)
    for i in range(dout.shape[2]):
        for j in range(w.shape[2]):
            dxp[:, :, i * stride + j] += dout[:, :, i] @ w[:, :, j]
    _, dw, db = conv1d_backward(dout, x, w, stride, padding)
    return dxp[:, :, :L], dw, db


def _convb_no_crop(dout, x, w, stride=1, padding=0):
    """Returns the gradient of the padded input, padding entries included."""
    xp = _pad(x, padding)
    dxp = np.zeros(xp.shape)
    for i in range(dout.shape[2]):
        for j in range(w.shape[2]):
            dxp[:, :, i * stride + j] += dout[:, :, i] @ w[:, :, j]
    return (dxp,) + conv1d_backward(dout, x, w, stride, padding)[1:]


def _convb_dw_first_example(dout, x, w, stride=1, padding=0):
    """dw from the first example only: a shared weight's gradient sums over the batch too."""
    dx, _, db = conv1d_backward(dout, x, w, stride, padding)
    _, dw, _ = conv1d_backward(dout[:1], x[:1], w, stride, padding)
    return dx, dw, db


def _convb_batch_mean(dout, x, w, stride=1, padding=0):
    """Divides dw by the batch size."""
    dx, dw, db = conv1d_backward(dout, x, w, stride, padding)
    return dx, dw / x.shape[0], db


def _convb_mean(dout, x, w, stride=1, padding=0):
    """Averages dw and db over the positions instead of summing."""
    dx, dw, db = conv1d_backward(dout, x, w, stride, padding)
    return dx, dw / dout.shape[2], db / dout.shape[2]


def _convb_no_stride(dout, x, w, stride=1, padding=0):
    """Places output i's gradient at i + j, as if the stride were 1."""
    L = x.shape[2]
    xp = _pad(x, padding)
    dxp = np.zeros((x.shape[0], x.shape[1], xp.shape[2] + dout.shape[2] * stride))
    dw = np.zeros(w.shape)
    for i in range(dout.shape[2]):
        for j in range(w.shape[2]):
            dxp[:, :, i + j] += dout[:, :, i] @ w[:, :, j]
            dw[:, :, j] += dout[:, :, i].T @ xp[:, :, i * stride + j]
    return dxp[:, :, padding:padding + L], dw, dout.sum(axis=(0, 2))


def _convb_db_all(dout, x, w, stride=1, padding=0):
    """db summed over the channels too: one number, not one per output channel."""
    dx, dw, db = conv1d_backward(dout, x, w, stride, padding)
    return dx, dw, np.full_like(db, dout.sum())


def _asconv_unflipped(dout, x, w, padding):
    K = w.shape[2]
    dx = conv1d_forward(dout, np.ascontiguousarray(w.transpose(1, 0, 2)), np.zeros(w.shape[1]), 1, K - 1 - padding)
    return (dx,) + conv1d_backward_as_convs(dout, x, w, padding)[1:]


def _asconv_same_padding(dout, x, w, padding):
    """Pads dout by the forward padding p instead of K - 1 - p."""
    w_back = np.ascontiguousarray(w.transpose(1, 0, 2)[:, :, ::-1])
    dx = conv1d_forward(dout, w_back, np.zeros(w.shape[1]), 1, padding)
    return (dx,) + conv1d_backward_as_convs(dout, x, w, padding)[1:]


def _asconv_full_no_crop(dout, x, w, padding):
    """The full convolution (padding K - 1) without removing the forward padding."""
    w_back = np.ascontiguousarray(w.transpose(1, 0, 2)[:, :, ::-1])
    dx = conv1d_forward(dout, w_back, np.zeros(w.shape[1]), 1, w.shape[2] - 1)
    return (dx,) + conv1d_backward_as_convs(dout, x, w, padding)[1:]


def _asconv_no_swap(dout, x, w, padding):
    """Flips the kernel but keeps (C_out, C_in) as they were: the channels of dout are not the input's."""
    K = w.shape[2]
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"conv1d_forward: dout has {w.shape[0]} channels but the kernel expects {w.shape[1]}")
    dx = conv1d_forward(dout, np.ascontiguousarray(w[:, :, ::-1]), np.zeros(w.shape[1]), 1, K - 1 - padding)
    return (dx,) + conv1d_backward_as_convs(dout, x, w, padding)[1:]


def _asconv_dw_flipped(dout, x, w, padding):
    """dw with its taps reversed (the flip belongs to dx only)."""
    dx, dw, db = conv1d_backward_as_convs(dout, x, w, padding)
    return dx, dw[:, :, ::-1], db


def _im2col_row_order(x, K, stride=1, padding=0):
    """Rows ordered offset-major (j * C + c): not the order of w.reshape(C_out, C_in * K)."""
    n, c, _ = x.shape
    cols = im2col1d(x, K, stride, padding)
    return cols.reshape(n, c, K, -1).transpose(0, 2, 1, 3).reshape(n, c * K, -1)


def _im2col_no_padding(x, K, stride=1, padding=0):
    return im2col1d(x, K, stride, 0)


def _im2col_no_stride(x, K, stride=1, padding=0):
    return im2col1d(x, K, 1, padding)


def _im2col_positions_first(x, K, stride=1, padding=0):
    """Laid out (N, L_out, C * K): one row per output position."""
    return im2col1d(x, K, stride, padding).transpose(0, 2, 1)


def _im2col_flipped(x, K, stride=1, padding=0):
    n, c, _ = x.shape
    return im2col1d(x, K, stride, padding).reshape(n, c, K, -1)[:, :, ::-1].reshape(n, c * K, -1)


def _max_to_all(x, dout, k, stride):
    """Sends each window's gradient to every entry of the window."""
    out, _ = maxpool1d(x, dout, k, stride)
    _, dx = avgpool1d(x, dout, k, stride)
    return out, dx * k


def _max_as_avg(x, dout, k, stride):
    """Shares each window's gradient equally (average pooling's rule)."""
    return maxpool1d(x, dout, k, stride)[0], avgpool1d(x, dout, k, stride)[1]


def _max_overwrites(x, dout, k, stride):
    """dx[...] = instead of +=: where windows overlap, the later window's gradient replaces the earlier."""
    out = maxpool1d(x, dout, k, stride)[0]
    dx = np.zeros(x.shape)
    rows, chans = np.indices(x.shape[:2])
    for i in range(out.shape[2]):
        first = x[:, :, i * stride:i * stride + k].argmax(axis=2)
        dx[rows, chans, i * stride + first] = dout[:, :, i]
    return out, dx


def _max_no_offset(x, dout, k, stride):
    """Uses the argmax inside the window as a position in the whole signal (forgets i * stride)."""
    out = maxpool1d(x, dout, k, stride)[0]
    dx = np.zeros(x.shape)
    rows, chans = np.indices(x.shape[:2])
    for i in range(out.shape[2]):
        first = x[:, :, i * stride:i * stride + k].argmax(axis=2)
        dx[rows, chans, first] += dout[:, :, i]
    return out, dx


def _max_every_tie(x, dout, k, stride):
    """Gives the whole gradient to every entry equal to the maximum."""
    out = maxpool1d(x, dout, k, stride)[0]
    dx = np.zeros(x.shape)
    for i in range(out.shape[2]):
        window = x[:, :, i * stride:i * stride + k]
        dx[:, :, i * stride:i * stride + k] += (window == out[:, :, i:i + 1]) * dout[:, :, i:i + 1]
    return out, dx


def _max_last_tie(x, dout, k, stride):
    """On a tie, the last maximum of the window."""
    out = maxpool1d(x, dout, k, stride)[0]
    dx = np.zeros(x.shape)
    rows, chans = np.indices(x.shape[:2])
    for i in range(out.shape[2]):
        window = x[:, :, i * stride:i * stride + k][:, :, ::-1]
        last = k - 1 - window.argmax(axis=2)
        dx[rows, chans, i * stride + last] += dout[:, :, i]
    return out, dx


def _avg_undivided(x, dout, k, stride):
    """Every entry of the window gets the window's whole gradient (forgets the 1/k of the mean)."""
    out, dx = avgpool1d(x, dout, k, stride)
    return out, dx * k


def _avg_overwrites(x, dout, k, stride):
    out = avgpool1d(x, dout, k, stride)[0]
    dx = np.zeros(x.shape)
    for i in range(out.shape[2]):
        dx[:, :, i * stride:i * stride + k] = dout[:, :, i:i + 1] / k
    return out, dx


def _avg_to_max(x, dout, k, stride):
    """Routes the gradient as max pooling does."""
    return avgpool1d(x, dout, k, stride)[0], maxpool1d(x, dout, k, stride)[1]


def _avg_sum(x, dout, k, stride):
    """Sums each window (sum pooling), with the matching gradient."""
    out, dx = avgpool1d(x, dout, k, stride)
    return out * k, dx * k


# ----------------------------------------------------------------------------- the checks

def _verifier(reference, cases, names, diagnoses, rtol=1e-7, atol=1e-9):
    """verify(fn): run every case; on a wrong answer, name the typical mistake it matches, if any.

    diagnoses: (wrong_fn, what it means) pairs, tried in order; the learner's
    output is matched against each wrong_fn's output on the same case.
    """
    def verify(fn):
        for args in cases():
            expected = reference(*copy.deepcopy(args))
            given = copy.deepcopy(args)
            got = fn(*given)
            where = f"for {_describe(names, args)}"
            for name, before, after in zip(names, args, given):
                if compare(before, after, rtol=0.0, atol=0.0):
                    return (f"your function changed its input {name} in place; work on a copy or build a new "
                            f"array")
            message = compare(expected, got, rtol=rtol, atol=atol)
            if message is None:
                continue
            for wrong, meaning in diagnoses:
                try:
                    with np.errstate(all="ignore"):
                        wrong_out = wrong(*copy.deepcopy(args))
                except Exception:
                    continue
                if compare(wrong_out, got, rtol=rtol, atol=atol) is None:
                    return f"{where}: {meaning}"
            return f"{where}, {message}"
        return None
    return verify


EXERCISES = [
    Exercise(
        id="9.1",
        title="a 1-D convolution layer's forward pass, with loops",
        reference=conv1d_forward,
        verify=_verifier(conv1d_forward, _conv_cases, ("x", "w", "b", "stride", "padding"), [
            (_conv_flipped, "your output is the convolution with the kernel flipped; a deep-learning "
                            "'convolution' slides the kernel as it is (a cross-correlation), so w[o, c, 0] "
                            "meets the leftmost input of each window"),
            (_conv_no_padding, "your output is what you get without padding: pad both ends of every "
                               "signal with `padding` zeros before sliding the kernel"),
            (_conv_no_stride, "your output is what you get with stride 1: output i starts at input "
                              "i * stride"),
            (_conv_no_bias, "your output is right but for the bias: add b[o] to every position of "
                            "channel o"),
            (_conv_first_channel, "your output uses the first input channel only: every output sums "
                                  "over all C_in input channels"),
        ]),
        hints=(
            "output position i of channel o looks at a window of K consecutive entries of every input "
            "channel, starting at i * stride in the padded signal; it multiplies them with the kernel of o and "
            "adds everything up, then the bias",
            "pad first (np.pad on the last axis only), make out of shape (N, C_out, L_out) with L_out = "
            "(L + 2 padding - K) // stride + 1, then loop over i and over the kernel offset j: position "
            "i * stride + j of the padded input meets w[:, :, j] (a (C_out, C_in) matrix) for all examples at once",
        ),
        mistakes=[
            (_conv_flipped, "flipped"),
            (_conv_no_padding, "without padding"),
            (_conv_no_stride, "stride 1"),
            (_conv_no_bias, "bias"),
            (_conv_first_channel, "first input channel"),
            (lambda x, w, b, stride=1, padding=0: conv1d_forward(x, w, b, stride, padding)[:, :, :-1], "shape"),
        ],
    ),
    Exercise(
        id="9.2",
        title="its backward pass, dx, dw and db, with loops",
        reference=conv1d_backward,
        verify=_verifier(conv1d_backward, _conv_backward_cases, ("dout", "x", "w", "stride", "padding"), [
            (_convb_crop_left, "your dx keeps the first L entries of the padded input's gradient; the real "
                               "input starts `padding` entries in, so keep dxp[:, :, padding:padding + L]"),
            (_convb_no_crop, "your dx has the padded length L + 2 padding; the padding zeros are not inputs: "
                             "cut their gradients off"),
            (_convb_unflipped, "your dx slides the kernel over dout the forward way; the derivation above "
                               "shows the kernel arrives flipped (input t meets output i through w[t - i])"),
            (_convb_dw_first_example, "your dw uses the first example only: a shared weight's gradient sums "
                                      "over every position *and every example* of the batch"),
            (_convb_batch_mean, "your dw is divided by the batch size; dout already carries whatever averaging "
                                "the loss does, so dw is a plain sum over examples and positions"),
            (_convb_mean, "your dw and db are averages over positions; a weight used at every position gets "
                          "the sum of the gradients from all of them"),
            (_convb_no_stride, "your dx places output i's gradient at input i + j, as if the stride were 1; "
                               "output i read input i * stride + j"),
            (_convb_db_all, "your db adds up every channel; each output channel o has its own bias, whose "
                            "gradient sums dout[:, o, :] only"),
        ]),
        hints=(
            "walk through the forward pass's loops again: wherever the forward pass multiplied w[o, c, j] by an "
            "input entry, the backward pass sends dout of that output to both factors, each times the other",
            "accumulate into a zero gradient for the padded input, of the padded shape: for every output i and "
            "offset j, input i * stride + j gets dout[:, :, i] times w[:, :, j] and w[:, :, j] gets dout[:, :, i] "
            "times that input (matrix products over the channels, summed over examples); db sums dout over "
            "examples and positions; finally cut the padding off dx",
        ),
        mistakes=[
            (_convb_crop_left, "padding"),
            (_convb_no_crop, "cut their gradients off"),
            (_convb_unflipped, "flipped"),
            (_convb_dw_first_example, "every example"),
            (_convb_batch_mean, "plain sum"),
            (_convb_mean, "sum of the gradients"),
            (_convb_no_stride, "stride"),
            (_convb_db_all, "own bias"),
        ],
    ),
    Exercise(
        id="9.3",
        title="the backward pass as two more convolutions",
        reference=conv1d_backward_as_convs,
        verify=_verifier(conv1d_backward_as_convs, _as_convs_cases, ("dout", "x", "w", "padding"), [
            (_asconv_unflipped, "your dx uses the kernel unflipped; dx is a *full* convolution of dout with "
                                "the kernel reversed along its taps"),
            (_asconv_same_padding, "your dx pads dout with the forward padding p; a full convolution pads by "
                                   "K - 1, and the forward padding is then cut away, so pad by K - 1 - p"),
            (_asconv_full_no_crop, "your dx is the full convolution of length L + 2p: it still includes the "
                                   "padding's entries; pad dout by K - 1 - p instead of K - 1"),
            (_asconv_no_swap, "your dx flips the kernel but keeps its channel axes: the backward convolution "
                              "maps the C_out channels of dout to the C_in channels of x, so swap the first two "
                              "axes of w"),
            (_asconv_dw_flipped, "your dw has its taps in reverse order: only dx's kernel is flipped; dw[:, :, j] "
                                 "pairs dout with the inputs shifted by j"),
        ], rtol=1e-7, atol=1e-9),
        hints=(
            "look at the sparse matrix picture again: dx is the transposed matrix times dout, and that matrix "
            "is again a convolution matrix; which kernel, which padding, which channels go in and come out?",
            "for dx: the kernel reversed along its last axis with its two channel axes swapped, applied to dout "
            "padded by K - 1 - padding, stride 1; for dw: treat the channels of x as the batch and the examples "
            "as channels (transpose the first two axes), and use dout, transposed the same way, as the kernel",
        ),
        mistakes=[
            (_asconv_unflipped, "unflipped"),
            (_asconv_same_padding, "K - 1 - p"),
            (_asconv_full_no_crop, "K - 1 - p"),
            (_asconv_no_swap, "swap"),
            (_asconv_dw_flipped, "reverse"),
        ],
    ),
    Exercise(
        id="9.4",
        title="im2col: every window as a column",
        reference=im2col1d,
        verify=_verifier(im2col1d, _im2col_cases, ("x", "K", "stride", "padding"), [
            (_im2col_positions_first, "your array holds the right numbers laid out (N, L_out, C * K); the "
                                      "contract is (N, C * K, L_out), one column per output position"),
            (_im2col_row_order, "your rows go offset by offset (j * C + c); they must follow "
                                "w.reshape(C_out, C_in * K), which runs through the K taps of channel 0 first "
                                "(row c * K + j)"),
            (_im2col_no_padding, "your columns come from the unpadded input: pad first"),
            (_im2col_no_stride, "your columns start at every input position; column i starts at i * stride"),
            (_im2col_flipped, "your windows are reversed; row c * K + j holds the entry at offset j"),
        ]),
        hints=(
            "column i is the window that output position i sees, all channels stacked: for each channel, "
            "its K entries in order",
            "pad, then fill an array of shape (N, C, K, L_out) one offset j at a time with the strided slice "
            "of the padded input that starts at j and steps by stride (L_out entries); reshape to (N, C * K, L_out)",
        ),
        mistakes=[
            (_im2col_positions_first, "(N, C * K, L_out)"),
            (_im2col_row_order, "row c * K + j"),
            (_im2col_no_padding, "pad first"),
            (_im2col_no_stride, "i * stride"),
            (_im2col_flipped, "reversed"),
        ],
    ),
    Exercise(
        id="9.5",
        title="max pooling, forward and backward",
        reference=maxpool1d,
        verify=_verifier(maxpool1d, _pool_cases, ("x", "dout", "k", "stride"), [
            (_max_to_all, "your dx sends each window's gradient to every entry of the window; only the entry "
                          "that was the maximum influenced the output"),
            (_max_as_avg, "your dx shares each window's gradient equally, which is average pooling's rule; "
                          "max pooling sends it to the maximum only"),
            (_max_overwrites, "your dx replaces instead of adding where windows overlap: an entry that is the "
                              "maximum of two windows gets both gradients"),
            (_max_no_offset, "your dx puts the gradient at the argmax's position inside the window; add the "
                             "window's start, i * stride"),
            (_max_every_tie, "on a tie your dx gives the whole gradient to each tied entry, so the gradient "
                             "grows; give it to the first maximum only, as PyTorch and bpkit do"),
            (_max_last_tie, "on a tie your dx picks the last maximum; the contract (and PyTorch) picks the "
                            "first"),
        ]),
        hints=(
            "the output of a window depends on one entry only, the largest: a small nudge of any other entry "
            "changes nothing",
            "for each window i, find the position of its first maximum with argmax (inside the window), add the "
            "window's start i * stride, and add dout[:, :, i] there with +=, since overlapping windows can pick "
            "the same entry",
        ),
        mistakes=[
            (_max_to_all, "every entry"),
            (_max_as_avg, "average pooling"),
            (_max_overwrites, "overlap"),
            (_max_no_offset, "window's start"),
            (_max_every_tie, "tie"),
            (_max_last_tie, "first"),
        ],
    ),
    Exercise(
        id="9.6",
        title="average pooling, forward and backward",
        reference=avgpool1d,
        verify=_verifier(avgpool1d, _pool_cases, ("x", "dout", "k", "stride"), [
            (_avg_undivided, "your dx gives every entry the window's whole gradient; the mean weighs each "
                             "entry by 1/k, and so does its gradient"),
            (_avg_overwrites, "your dx replaces instead of adding where windows overlap: an entry in two "
                              "windows gets a share of both"),
            (_avg_to_max, "your dx routes the gradient to the maximum, which is max pooling's rule"),
            (_avg_sum, "your pooling adds the window up; average pooling takes the mean"),
        ]),
        hints=(
            "every entry of a window counts equally in its mean: how much does the mean move when one of "
            "its k entries moves by a little?",
            "for each window i, out is the mean over its k entries; dx of each of those entries gets "
            "dout[:, :, i] / k, added (+=) since windows may overlap",
        ),
        mistakes=[
            (_avg_undivided, "1/k"),
            (_avg_overwrites, "overlap"),
            (_avg_to_max, "max pooling"),
            (_avg_sum, "mean"),
        ],
    ),
]
