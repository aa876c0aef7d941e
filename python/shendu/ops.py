"""The ops layer: one function per kernel, dispatched on the array type.

NumPy arrays (and anything array-like) go to the C++ kernels in ``shendu._cpu``; CuPy arrays go to the
CUDA kernels in ``shendu._cuda``; ``shendu.set_backend("reference")`` sends everything to the NumPy
twins in ``shendu.reference``, which define what is correct. Arguments are validated once, at the
native binding boundary. Layouts are Keras's: NHWC images, conv kernels (kh, kw, in, out), dense
kernels (in, out), LSTM gates i, f, c, o; GRU (reset_after=True) gates z, r, h.

Forward functions return what their backward needs; the backward of an op takes the upstream
gradient first.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import _config, _cpu, reference

try:  # the CUDA module exists only in GPU builds
    from . import _cuda  # type: ignore[attr-defined]
except ImportError:
    _cuda = None


def _is_cupy(x) -> bool:
    return type(x).__module__.split(".", 1)[0] == "cupy"


_ndarray = np.ndarray


def _backend(x) -> ModuleType:
    # Reads the setting itself rather than calling _config.get_backend(): each Python call on this
    # path costs ~0.1 us, 5% of a 32x128x10 matmul.
    if _config._backend == "reference":
        return reference
    if type(x) is not _ndarray and _is_cupy(x):  # the common case first: a tiny op costs ~1 us
        if _cuda is None:
            raise RuntimeError("got a CuPy array, but shendu was built without its CUDA module")
        return _cuda
    return _cpu


# --- matrix products, dense layers, activations ------------------------------------------------


def matmul(a, b, trans_a=False, trans_b=False):
    """op(a) @ op(b) for 2-D float32 arrays; op transposes when trans_* is set."""
    return _backend(a).matmul(a, b, trans_a, trans_b)


def dense(x, w, b=None, activation="linear"):
    """activation(x @ w + b) for x (N, in), w (in, out), b (out,) or None.

    activation: "linear", "relu", "sigmoid", "tanh" or "softmax" (over the last axis).
    Returns y (N, out), the activated output.
    """
    return _backend(x).dense(x, w, b, activation)


def dense_backward(dy, x, w, y, activation="linear", need_dx=True):
    """Gradients of dense given dy = dL/dy and the forward's x, w and activated output y.

    Returns (dx (N, in), dw (in, out), db (out,)). need_dx=False (a bool) skips the dx product
    and returns None in its place (a network's first layer needs no gradient for its data).
    """
    return _backend(dy).dense_backward(dy, x, w, y, activation, need_dx)


def relu(x):
    return _backend(x).relu(x)


def relu_backward(dy, y):
    """dL/dx from dL/dy and the forward output y = relu(x)."""
    return _backend(dy).relu_backward(dy, y)


def sigmoid(x):
    return _backend(x).sigmoid(x)


def sigmoid_backward(dy, y):
    """dL/dx from dL/dy and y = sigmoid(x)."""
    return _backend(dy).sigmoid_backward(dy, y)


def tanh(x):
    return _backend(x).tanh(x)


def tanh_backward(dy, y):
    """dL/dx from dL/dy and y = tanh(x)."""
    return _backend(dy).tanh_backward(dy, y)


def softmax(x):
    """Softmax over the last axis (max-subtracted, so large logits do not overflow)."""
    return _backend(x).softmax(x)


def softmax_backward(dy, y):
    """dL/dx from dL/dy and y = softmax(x), over the last axis."""
    return _backend(dy).softmax_backward(dy, y)


# --- convolution and pooling (NHWC) --------------------------------------------------------------


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """2-D cross-correlation like keras.layers.Conv2D: x (N, H, W, C), w (kh, kw, C, F), b (F,).

    strides: int or (sh, sw); padding: "valid" or "same" (TF's rule: output ceil(H / s), the
    extra padding row/column at the bottom/right); dilation_rate: int or (dh, dw), the step
    between the kernel's taps ((k - 1) * d + 1 cells wide), > 1 only with strides 1 as in Keras.
    Returns y (N, Ho, Wo, F).
    """
    return _backend(x).conv2d(x, w, b, strides, padding, dilation_rate)


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)):
    """Returns (dx, dw, db) of conv2d given dy (N, Ho, Wo, F); db is dy summed over N, Ho, Wo.

    need_dx=False (a bool) skips the whole input-gradient pass and returns None for dx (a
    network's first layer needs no gradient for its images).
    """
    return _backend(dy).conv2d_backward(dy, x, w, strides, padding, need_dx, dilation_rate)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max pooling over (N, H, W, C); strides default to pool_size.

    Returns (y, argmax): argmax (shape of y) holds, for each output, the place of its maximum in
    its pool window, i * pool_w + j for window row i and column j (padded rows/columns count, so
    the values depend only on the window, not on the image). Its dtype is uint8 for windows of
    up to 256 cells and uint16 for larger ones (more than 65536 cells: ValueError). Ties pick
    the first in row-major window order, a NaN in the window wins (propagates), and "same"
    padding never picks padded cells.
    """
    return _backend(x).max_pool2d(x, pool_size, strides, padding)


def max_pool2d_backward(dy, argmax, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    """dx of shape x_shape: each dy routed to the cell its argmax names (overlapping windows
    accumulate). pool_size, strides, padding: as given to max_pool2d. argmax must be the array
    max_pool2d returned (its dtype, the shape of dy); a value naming no real cell of its window
    raises ValueError."""
    return _backend(dy).max_pool2d_backward(dy, argmax, x_shape, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Average pooling; with "same" padding each window averages only its real cells (as TF)."""
    return _backend(x).avg_pool2d(x, pool_size, strides, padding)


def avg_pool2d_backward(dy, x_shape, pool_size=(2, 2), strides=None, padding="valid"):
    return _backend(dy).avg_pool2d_backward(dy, x_shape, pool_size, strides, padding)


# --- recurrent layers over whole sequences (N, T, I) ---------------------------------------------


# The cells' activations (activation, recurrent_activation): Keras's "tanh", "sigmoid", "relu",
# "hard_sigmoid" (relu6(x + 3) / 6) and "linear". A backward takes the forward's.


def lstm(
    x,
    kernel,
    recurrent_kernel,
    bias,
    h0=None,
    c0=None,
    mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """Keras LSTM (gates i, f, c, o) over x (N, T, I): i, f, o = recurrent_activation(...),
    c = f * c_prev + i * activation(...), h = o * activation(c).

    kernel (I, 4U), recurrent_kernel (U, 4U), bias (4U,) or None; h0, c0 (N, U) or None (zeros).
    mask (N, T) or None: a step whose entry is 0 is skipped, as Keras skips masked steps: h and
    c keep their previous values (so hs repeats the step before, h0 at the start).
    Returns (hs (N, T, U), h_T (N, U), c_T (N, U), cache); cache is opaque, for lstm_backward.
    """
    return _backend(x).lstm(
        x, kernel, recurrent_kernel, bias, h0, c0, mask, activation, recurrent_activation
    )


def lstm_backward(
    dhs,
    dh_T,
    dc_T,
    x,
    kernel,
    recurrent_kernel,
    cache,
    h0=None,
    c0=None,
    mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """dhs (N, T, U): gradient w.r.t. every hidden state (zeros where unused); dh_T, dc_T (N, U)
    or None: extra gradient w.r.t. the final state; mask and activations: the forward's. Returns
    (dx, dkernel, drecurrent_kernel, dbias, dh0, dc0)."""
    return _backend(dhs).lstm_backward(
        dhs,
        dh_T,
        dc_T,
        x,
        kernel,
        recurrent_kernel,
        cache,
        h0,
        c0,
        mask,
        activation,
        recurrent_activation,
    )


def gru(
    x,
    kernel,
    recurrent_kernel,
    bias,
    h0=None,
    mask=None,
    reset_after=True,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """Keras GRU (gates z, r, h): kernel (I, 3U), recurrent_kernel (U, 3U);
    z, r = recurrent_activation(...), h = z * h_prev + (1 - z) * hh.

    reset_after=True (Keras 2+'s default): hh = activation(x_h + r * (h_prev @ U_h + b_rec_h)),
    bias (2, 3U) or None (row 0 input bias, row 1 recurrent bias). reset_after=False (the classic
    GRU): hh = activation(x_h + (r * h_prev) @ U_h), bias (3U,) or None (the input bias only).
    mask: as in lstm. Returns (hs (N, T, U), h_T (N, U), cache)."""
    return _backend(x).gru(
        x, kernel, recurrent_kernel, bias, h0, mask, reset_after, activation, recurrent_activation
    )


def gru_backward(
    dhs,
    dh_T,
    x,
    kernel,
    recurrent_kernel,
    cache,
    h0=None,
    mask=None,
    reset_after=True,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """Returns (dx, dkernel, drecurrent_kernel, dbias (the forward's bias shape), dh0)."""
    return _backend(dhs).gru_backward(
        dhs,
        dh_T,
        x,
        kernel,
        recurrent_kernel,
        cache,
        h0,
        mask,
        reset_after,
        activation,
        recurrent_activation,
    )


def simple_rnn(x, kernel, recurrent_kernel, bias, h0=None, mask=None, activation="tanh"):
    """h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias); mask: as in lstm.
    Returns (hs, h_T, cache)."""
    return _backend(x).simple_rnn(x, kernel, recurrent_kernel, bias, h0, mask, activation)


def simple_rnn_backward(
    dhs, dh_T, x, kernel, recurrent_kernel, cache, h0=None, mask=None, activation="tanh"
):
    """Returns (dx, dkernel, drecurrent_kernel, dbias, dh0)."""
    return _backend(dhs).simple_rnn_backward(
        dhs, dh_T, x, kernel, recurrent_kernel, cache, h0, mask, activation
    )


# --- embedding, dropout ---------------------------------------------------------------------------


def embedding(ids, table):
    """table[ids]: ids any shape of integers in [0, V), table (V, D). Returns ids.shape + (D,)."""
    return _backend(table).embedding(ids, table)


def embedding_backward(dy, ids, vocab_size):
    """dtable (vocab_size, D): dy rows scatter-added at their ids (repeated ids accumulate)."""
    return _backend(dy).embedding_backward(dy, ids, vocab_size)


def dropout(x, rate, seed):
    """Inverted dropout: returns (x * mask, mask) with mask 0 or 1 / (1 - rate), rate in [0, 1).

    The mask is a pure function of (seed, flat index), the same on every backend: element i is
    dropped when the top 24 bits of splitmix64(seed * 2**32 + i) / 2**24 < rate. seed: an int in
    [0, 2**63).
    """
    return _backend(x).dropout(x, rate, seed)


# --- losses: each returns (mean loss as a Python float, gradient w.r.t. the first argument) --------
# The loss is accumulated in float64; the gradient (float32 natively) is that of the mean and has
# the first argument's shape.


def sparse_softmax_cross_entropy(logits, labels):
    """logits (N, C), labels (N,) ints in [0, C). Mean over N of -log softmax(logits)[label].
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(logits).sparse_softmax_cross_entropy(logits, labels)


def softmax_cross_entropy(logits, onehot):
    """logits, onehot (N, C) (any target distribution). Mean over N.
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(logits).softmax_cross_entropy(logits, onehot)


def binary_cross_entropy(probs, targets):
    """Keras binary_crossentropy on probabilities clipped to [1e-7, 1 - 1e-7] (zero gradient where
    clipped), averaged over all elements.
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(probs).binary_cross_entropy(probs, targets)


def sigmoid_binary_cross_entropy(logits, targets):
    """Binary cross-entropy of sigmoid(logits), computed stably; mean over all elements.
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(logits).sigmoid_binary_cross_entropy(logits, targets)


def mean_squared_error(pred, targets):
    """Mean over all elements of (pred - targets) ** 2.
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(pred).mean_squared_error(pred, targets)


# --- fused in-place optimizer updates (Keras 3 formulas) -----------------------------------------


def sgd_update(param, grad, velocity=None, learning_rate=0.01, momentum=0.0, nesterov=False):
    """velocity = momentum * velocity - lr * grad; param += velocity (nesterov: param +=
    momentum * velocity - lr * grad). velocity may be None when momentum == 0. In place.

    For every update: param, grad and the state arrays must not share memory (ValueError)."""
    return _backend(param).sgd_update(param, grad, velocity, learning_rate, momentum, nesterov)


def adam_update(
    param,
    grad,
    m,
    v,
    step,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_sq=None,
):
    """Keras Adam: step counts from 1; lr_t = lr * sqrt(1 - beta_2**step) / (1 - beta_1**step);
    m += (grad - m) * (1 - beta_1); v += (grad_sq - v) * (1 - beta_2);
    param -= lr_t * m / (sqrt(v) + epsilon). In place.

    grad_sq: the squared gradient, None for grad**2. A table row's gradient summed over several
    lookups (an Embedding's repeated ids) passes the sum of each lookup's squared gradient, as
    TensorFlow's sparse (IndexedSlices) gradients do in Keras."""
    return _backend(param).adam_update(
        param, grad, m, v, step, learning_rate, beta_1, beta_2, epsilon, grad_sq
    )


def rmsprop_update(param, grad, avg_sq, learning_rate=0.001, rho=0.9, epsilon=1e-7, grad_sq=None):
    """Keras RMSprop (no momentum, not centered): avg_sq = rho * avg_sq + (1 - rho) * grad_sq;
    param -= lr * grad / sqrt(avg_sq + epsilon). In place. grad_sq: as in adam_update."""
    return _backend(param).rmsprop_update(param, grad, avg_sq, learning_rate, rho, epsilon, grad_sq)


# --- elementwise activations, global pooling -----------------------------------------------------


def activation(x, name, alpha=None):
    """Elementwise activations by name, Keras 3's definitions: "gelu" (erf), "gelu_approximate"
    (tanh form), "silu", "elu", "selu", "softplus", "softsign", "hard_sigmoid" (relu6(x + 3) / 6),
    "hard_silu", "leaky_relu", "exponential", "relu6", "mish". alpha: elu's alpha or leaky_relu's
    negative slope (None: Keras's defaults 1.0 and 0.2; the others ignore it). Returns y."""
    return _backend(x).activation(x, name, alpha)


def activation_backward(dy, x, y, name, alpha=None):
    """dL/dx of activation from dL/dy, its input x and output y (at a kink, the slope of the open
    side, as TF's gradients)."""
    return _backend(dy).activation_backward(dy, x, y, name, alpha)


def global_avg_pool(x):
    """The mean over axis 1 of x (N, L, C) (images: (N, H * W, C)). Returns y (N, C)."""
    return _backend(x).global_avg_pool(x)


def global_avg_pool_backward(dy, x_shape):
    """dx of shape x_shape (N, L, C): dy (N, C) / L at every step."""
    return _backend(dy).global_avg_pool_backward(dy, x_shape)


def global_max_pool(x):
    """The maximum over axis 1 of x (N, L, C) (-inf for L = 0; NaN propagates). Returns y (N, C)."""
    return _backend(x).global_max_pool(x)


def global_max_pool_backward(dy, x, y):
    """dx (N, L, C): dy split evenly among the steps where x equals y (TF's reduce_max gradient,
    so tied maxima share it)."""
    return _backend(dy).global_max_pool_backward(dy, x, y)


# --- normalization -------------------------------------------------------------------------------
# Batch norm normalizes each channel (index along `axis`; -1 for NHWC images) over every other
# axis; layer norm normalizes each row over the last axis. Variances are biased (divided by the
# count), as Keras's moments.


def batch_norm(x, mean, variance, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    """Inference: (x - mean) / sqrt(variance + epsilon) * gamma + beta with given per-channel
    mean, variance, gamma, beta (C,) (gamma, beta None for 1 and 0). Returns y."""
    return _backend(x).batch_norm(x, mean, variance, gamma, beta, epsilon, axis)


def batch_norm_training(x, gamma=None, beta=None, epsilon=1e-3, axis=-1):
    """Training: normalizes by the batch's own statistics. Returns (y, mean (C,), variance (C,));
    a channel with no values has NaN statistics."""
    return _backend(x).batch_norm_training(x, gamma, beta, epsilon, axis)


def batch_norm_backward(dy, x, gamma, mean, variance, epsilon=1e-3, axis=-1):
    """Gradients of batch_norm_training given its x and the mean, variance it returned.
    Returns (dx, dgamma (C,), dbeta (C,)); dgamma and dbeta are computed even when gamma is None."""
    return _backend(dy).batch_norm_backward(dy, x, gamma, mean, variance, epsilon, axis)


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis of x; gamma, beta
    (width,) or None. Returns (y, mean, rstd), the per-row statistics of shape x.shape[:-1]
    (rstd = 1 / sqrt(var + epsilon))."""
    return _backend(x).layer_norm(x, gamma, beta, epsilon)


def layer_norm_backward(dy, x, gamma, mean, rstd):
    """Gradients of layer_norm given its x and the mean, rstd it returned: (dx, dgamma, dbeta)."""
    return _backend(dy).layer_norm_backward(dy, x, gamma, mean, rstd)


# --- regression losses on the hot path (same contract as the losses above) -----------------------


def mean_absolute_error(pred, targets):
    """Mean over all elements of |pred - targets|; gradient sign(pred - targets) / n (0 where
    equal). An empty batch gives (0.0, an empty gradient).
    """
    return _backend(pred).mean_absolute_error(pred, targets)


def huber(pred, targets, delta=1.0):
    """Keras Huber loss, mean over all elements: 0.5 d**2 where |d| <= delta, else
    delta * |d| - 0.5 * delta**2, for d = pred - targets (delta > 0).
    An empty batch gives (0.0, an empty gradient).
    """
    return _backend(pred).huber(pred, targets, delta)


# --- the other Keras 3 optimizers, weight decay and weight averages (in place) -------------------
# grad_sq / grad_abs: the squared / absolute gradient, None for grad**2 / |grad|; an Embedding's
# gradient passes its lookups' squares / absolute values summed per row, as TensorFlow's sparse
# gradients reach Keras's updates (see adam_update).


def weight_decay_update(param, learning_rate, weight_decay):
    """Keras's decoupled weight decay: param -= param * weight_decay * learning_rate. In place."""
    return _backend(param).weight_decay_update(param, learning_rate, weight_decay)


def ema_update(average, param, momentum):
    """Keras's weight average (use_ema): average = momentum * average + (1 - momentum) * param.
    In place on average."""
    return _backend(average).ema_update(average, param, momentum)


def nadam_update(
    param,
    grad,
    m,
    v,
    step,
    u_product,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_sq=None,
):
    """Keras Nadam, step >= 1, u_t = beta_1 (1 - 0.5 * 0.96**t), u_product the product of u_1 ..
    u_step: m += (grad - m)(1 - beta_1); v += (grad_sq - v)(1 - beta_2);
    m_hat = u_{step+1} m / (1 - u_product u_{step+1}) + (1 - u_step) grad / (1 - u_product);
    param -= m_hat lr / (sqrt(v / (1 - beta_2**step)) + epsilon). In place."""
    return _backend(param).nadam_update(
        param, grad, m, v, step, u_product, learning_rate, beta_1, beta_2, epsilon, grad_sq
    )


def adamax_update(
    param,
    grad,
    m,
    u,
    step,
    learning_rate=0.001,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    grad_abs=None,
):
    """Keras Adamax: m += (grad - m)(1 - beta_1); u = max(beta_2 u, grad_abs);
    param -= lr m / ((1 - beta_1**step)(u + epsilon)). In place."""
    return _backend(param).adamax_update(
        param, grad, m, u, step, learning_rate, beta_1, beta_2, epsilon, grad_abs
    )


def adagrad_update(param, grad, accumulator, learning_rate=0.001, epsilon=1e-7, grad_sq=None):
    """Keras Adagrad: accumulator += grad_sq; param -= lr grad / sqrt(accumulator + epsilon).
    In place."""
    return _backend(param).adagrad_update(param, grad, accumulator, learning_rate, epsilon, grad_sq)


def adadelta_update(
    param, grad, acc_grad, acc_delta, learning_rate=0.001, rho=0.95, epsilon=1e-7, grad_sq=None
):
    """Keras Adadelta: acc_grad = rho acc_grad + (1 - rho) grad_sq;
    delta = -sqrt(acc_delta + eps) grad / sqrt(acc_grad + eps);
    acc_delta = rho acc_delta + (1 - rho) delta**2; param += lr delta. In place."""
    return _backend(param).adadelta_update(
        param, grad, acc_grad, acc_delta, learning_rate, rho, epsilon, grad_sq
    )


def lion_update(param, grad, m, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    """Keras Lion: param -= lr sign(beta_1 m + (1 - beta_1) grad);
    m = beta_2 m + (1 - beta_2) grad. In place."""
    return _backend(param).lion_update(param, grad, m, learning_rate, beta_1, beta_2)


def ftrl_update(
    param,
    grad,
    accumulator,
    linear,
    learning_rate=0.001,
    learning_rate_power=-0.5,
    l1_regularization_strength=0.0,
    l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0,
    beta=0.0,
    grad_sq=None,
):
    """Keras Ftrl: with p = -learning_rate_power, new_acc = accumulator + grad_sq,
    linear += grad + 2 l2_shrinkage param - (new_acc**p - accumulator**p) / lr * param,
    param = (clip(linear, -l1, l1) - linear) / (new_acc**p / lr + 2 (l2 + beta / (2 lr))),
    accumulator = new_acc. In place."""
    return _backend(param).ftrl_update(
        param,
        grad,
        accumulator,
        linear,
        learning_rate,
        learning_rate_power,
        l1_regularization_strength,
        l2_regularization_strength,
        l2_shrinkage_regularization_strength,
        beta,
        grad_sq,
    )


# --- transposed and depthwise convolution (NHWC) -------------------------------------------------


def conv2d_transpose(x, w, b=None, strides=(1, 1), padding="valid", output_padding=None):
    """Transposed convolution like keras.layers.Conv2DTranspose: x (N, H, W, C), w (kh, kw, F, C),
    b (F,). It is conv2d_backward's dx for the conv2d (same w, strides, padding) whose input has
    the output's shape, sized by Keras's rule: 'valid' (H - 1) * s + kh + output_padding (default
    max(kh - s, 0)), 'same' H * s (or (H - 1) * s + kh % 2 + output_padding); output_padding: None,
    an int or a pair, each < its stride. Returns y (N, Ho, Wo, F).
    """
    return _backend(x).conv2d_transpose(x, w, b, strides, padding, output_padding)


def conv2d_transpose_backward(
    dy, x, w, strides=(1, 1), padding="valid", output_padding=None, need_dx=True
):
    """Returns (dx, dw, db) of conv2d_transpose given dy (N, Ho, Wo, F): dx = conv2d(dy, w), dw
    as conv2d's with dy and x exchanged, db = dy summed over N, Ho, Wo. need_dx=False skips dx.
    """
    return _backend(dy).conv2d_transpose_backward(
        dy, x, w, strides, padding, output_padding, need_dx
    )


def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """Depthwise convolution like keras.layers.DepthwiseConv2D: x (N, H, W, C), w (kh, kw, C, M),
    b (C * M,); output channel c * M + m is input channel c convolved with w[:, :, c, m].
    dilation_rate as conv2d's (> 1 only with strides 1). Returns y (N, Ho, Wo, C * M).
    """
    return _backend(x).depthwise_conv2d(x, w, b, strides, padding, dilation_rate)


def depthwise_conv2d_backward(
    dy, x, w, strides=(1, 1), padding="valid", need_dx=True, dilation_rate=(1, 1)
):
    """Returns (dx, dw, db) of depthwise_conv2d given dy (N, Ho, Wo, C * M); need_dx=False skips
    dx and returns None in its place."""
    return _backend(dy).depthwise_conv2d_backward(
        dy, x, w, strides, padding, need_dx, dilation_rate
    )
