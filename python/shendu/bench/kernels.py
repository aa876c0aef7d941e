"""The kernel suite's workloads as closures to time, one builder per (framework, family): each
returns a closure, or (None, {variant: closure}) when a framework has several ways to run it (the
fastest stands for it). The same random operands for every framework; the conv2d and LSTM
builders take a device too, for the GPU bench."""

from __future__ import annotations

from . import examples, torch_programs


def _rand(np, shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _gemm_operands(np, w):
    a = _rand(np, (w["k"], w["m"]) if w["trans_a"] else (w["m"], w["k"]), 1)
    b = _rand(np, (w["n"], w["k"]) if w["trans_b"] else (w["k"], w["n"]), 2)
    return a, b


def shendu_gemm(shendu, w):
    import numpy as np

    a, b = _gemm_operands(np, w)
    ta, tb = w["trans_a"], w["trans_b"]
    matmul = shendu.ops.matmul
    return lambda: matmul(a, b, ta, tb)


def numpy_gemm(np, w):
    a, b = _gemm_operands(np, w)
    a = a.T if w["trans_a"] else a  # views: OpenBLAS reads them with its transpose flags
    b = b.T if w["trans_b"] else b
    return lambda: np.matmul(a, b)


def torch_gemm(torch, w):
    import numpy as np

    a, b = (torch.from_numpy(t) for t in _gemm_operands(np, w))
    a = a.t() if w["trans_a"] else a
    b = b.t() if w["trans_b"] else b
    return lambda: torch.matmul(a, b)


def shendu_conv(shendu, w, to_device=None):
    """to_device (e.g. cupy.asarray) puts the operands on a GPU for the GPU bench."""
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    x, k, b = _rand(np, (n, h, wd, c)), _rand(np, (3, 3, c, f), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, h - 2, wd - 2, f), 3)
    if to_device is not None:
        x, k, b, dy = map(to_device, (x, k, b, dy))
    ops = shendu.ops

    def step():
        ops.conv2d(x, k, b)
        ops.conv2d_backward(dy, x, k)

    return step


def _torch_variants(torch, device, inputs, dy, run):
    """(None, {layout: step}) for NCHW and channels-last (NHWC) memory: inputs are the
    NCHW-ordered arrays the op differentiates, dy the gradient of its output, run(*inputs) the op;
    the 4-D arrays are laid out in each layout in turn."""
    variants = {}
    for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):

        def on(a, fmt=fmt):
            t = torch.from_numpy(a).to(device)
            return t.contiguous(memory_format=fmt) if a.ndim == 4 else t

        ts, dyt = [on(a).requires_grad_(True) for a in inputs], on(dy)

        def step(ts=ts, dyt=dyt):
            for t in ts:
                t.grad = None
            run(*ts).backward(dyt)

        variants[layout] = step
    return None, variants


def torch_conv(torch, w, device="cpu"):
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    inputs = _rand(np, (n, c, h, wd)), _rand(np, (f, c, 3, 3), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, f, h - 2, wd - 2), 3)
    return _torch_variants(torch, device, inputs, dy, torch.nn.functional.conv2d)


def shendu_conv1d(shendu, w):
    import numpy as np

    n, t, c = w["shape"]
    f, k = w["filters"], w["kernel"]
    x, kern, b = _rand(np, (n, 1, t, c)), _rand(np, (1, k, c, f), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, 1, t, f), 3)
    ops = shendu.ops

    def step():  # as keras.layers.Conv1D runs: a conv2d over one-row images
        ops.conv2d(x, kern, b, 1, "same")
        ops.conv2d_backward(dy, x, kern, 1, "same")

    return step


def torch_conv1d(torch, w):
    import numpy as np

    n, t, c = w["shape"]
    f, k = w["filters"], w["kernel"]
    x, kern, b = _rand(np, (n, c, t)), _rand(np, (f, c, k), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, f, t), 3)
    x, kern, b, dy = map(torch.from_numpy, (x, kern, b, dy))
    for a in (x, kern, b):
        a.requires_grad_(True)
    conv = torch.nn.functional.conv1d

    def step():
        x.grad = kern.grad = b.grad = None
        conv(x, kern, b, padding=k // 2).backward(dy)

    return step


def shendu_conv2d_transpose(shendu, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    x, k, b = _rand(np, (n, h, wd, c)), _rand(np, (3, 3, f, c), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, 2 * h, 2 * wd, f), 3)
    ops = shendu.ops

    def step():
        ops.conv2d_transpose(x, k, b, 2, "same")
        ops.conv2d_transpose_backward(dy, x, k, 2, "same")

    return step


def torch_conv2d_transpose(torch, w, device="cpu"):
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    inputs = _rand(np, (n, c, h, wd)), _rand(np, (c, f, 3, 3), 1), _rand(np, (f,), 2)
    dy = _rand(np, (n, f, 2 * h, 2 * wd), 3)
    conv = torch.nn.functional.conv_transpose2d
    # padding 1 and output_padding 1: Keras's 'same' for a 3x3 stride-2 kernel.
    return _torch_variants(
        torch, device, inputs, dy, lambda x, k, b: conv(x, k, b, 2, 1, output_padding=1)
    )


def shendu_depthwise(shendu, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    x, k, b = _rand(np, (n, h, wd, c)), _rand(np, (3, 3, c, 1), 1), _rand(np, (c,), 2)
    dy = _rand(np, (n, h, wd, c), 3)
    ops = shendu.ops

    def step():
        ops.depthwise_conv2d(x, k, b, 1, "same")
        ops.depthwise_conv2d_backward(dy, x, k, 1, "same")

    return step


def torch_depthwise(torch, w, device="cpu"):
    import numpy as np

    n, h, wd, c = w["shape"]
    inputs = _rand(np, (n, c, h, wd)), _rand(np, (c, 1, 3, 3), 1), _rand(np, (c,), 2)
    dy = _rand(np, (n, c, h, wd), 3)
    conv = torch.nn.functional.conv2d
    return _torch_variants(torch, device, inputs, dy, lambda x, k, b: conv(x, k, b, 1, 1, 1, c))


def shendu_pool(shendu, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    x = _rand(np, (n, h, wd, c))
    dy = _rand(np, (n, h // 2, wd // 2, c), 1)
    ops = shendu.ops

    def step():
        _, argmax = ops.max_pool2d(x)
        ops.max_pool2d_backward(dy, argmax, x.shape)

    return step


def torch_pool(torch, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    x, dy = _rand(np, (n, c, h, wd)), _rand(np, (n, c, h // 2, wd // 2), 1)
    pool = torch.nn.functional.max_pool2d
    return _torch_variants(torch, "cpu", [x], dy, lambda x: pool(x, 2))


def shendu_global_avg_pool(shendu, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    x = _rand(np, (n, h * wd, c))
    dy = _rand(np, (n, c), 1)
    ops = shendu.ops

    def step():
        ops.global_avg_pool(x)
        ops.global_avg_pool_backward(dy, x.shape)

    return step


def torch_global_avg_pool(torch, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    x, dy = _rand(np, (n, c, h, wd)), _rand(np, (n, c, 1, 1), 1)
    pool = torch.nn.functional.adaptive_avg_pool2d
    return _torch_variants(torch, "cpu", [x], dy, lambda x: pool(x, 1))


def shendu_batch_norm(shendu, w):
    """Training-mode batch norm over NHWC channels, forward and backward."""
    import numpy as np

    x, dy = _rand(np, w["shape"]), _rand(np, w["shape"], 1)
    c = w["shape"][-1]
    gamma, beta = _rand(np, (c,), 2), _rand(np, (c,), 3)
    ops = shendu.ops

    def step():
        _, mean, var = ops.batch_norm_training(x, gamma, beta)
        ops.batch_norm_backward(dy, x, gamma, mean, var)

    return step


def torch_batch_norm(torch, w):
    import numpy as np

    n, h, wd, c = w["shape"]
    inputs = _rand(np, (n, c, h, wd)), _rand(np, (c,), 2), _rand(np, (c,), 3)
    dy = _rand(np, (n, c, h, wd), 1)
    bn = torch.nn.functional.batch_norm

    def run(x, gamma, beta):
        return bn(x, None, None, gamma, beta, training=True, eps=1e-3)

    return _torch_variants(torch, "cpu", inputs, dy, run)


def shendu_layer_norm(shendu, w):
    import numpy as np

    x, dy = _rand(np, w["shape"]), _rand(np, w["shape"], 1)
    d = w["shape"][-1]
    gamma, beta = _rand(np, (d,), 2), _rand(np, (d,), 3)
    ops = shendu.ops

    def step():
        _, mean, rstd = ops.layer_norm(x, gamma, beta)
        ops.layer_norm_backward(dy, x, gamma, mean, rstd)

    return step


def torch_layer_norm(torch, w):
    import numpy as np

    x = torch.from_numpy(_rand(np, w["shape"])).requires_grad_(True)
    dy = torch.from_numpy(_rand(np, w["shape"], 1))
    d = w["shape"][-1]
    gamma = torch.from_numpy(_rand(np, (d,), 2)).requires_grad_(True)
    beta = torch.from_numpy(_rand(np, (d,), 3)).requires_grad_(True)
    ln = torch.nn.functional.layer_norm

    def step():
        x.grad = gamma.grad = beta.grad = None
        ln(x, (d,), gamma, beta, eps=1e-3).backward(dy)

    return step


def shendu_lstm(shendu, w, to_device=None):
    import numpy as np

    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    x = _rand(np, (n, t, i))
    k, rk = _rand(np, (i, 4 * u), 1) * 0.1, _rand(np, (u, 4 * u), 2) * 0.1
    b = np.zeros(4 * u, np.float32)
    if w["return_sequences"]:
        dhs, dh_t = _rand(np, (n, t, u), 3), None
    else:  # only the last state feeds the next layer
        dhs, dh_t = np.zeros((n, t, u), np.float32), _rand(np, (n, u), 3)
    if to_device is not None:
        x, k, rk, b, dhs = map(to_device, (x, k, rk, b, dhs))
        dh_t = None if dh_t is None else to_device(dh_t)
    ops = shendu.ops

    def step():
        _, _, _, cache = ops.lstm(x, k, rk, b)
        ops.lstm_backward(dhs, dh_t, None, x, k, rk, cache)

    return step


def torch_lstm(torch, w, device="cpu"):
    import numpy as np

    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(i, u, batch_first=True).to(device)
    x = torch.from_numpy(_rand(np, (n, t, i))).to(device).requires_grad_(True)
    params = list(lstm.parameters())
    seq = w["return_sequences"]
    dy = torch.from_numpy(_rand(np, (n, t, u) if seq else (1, n, u), 3)).to(device)

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        out, (h, _) = lstm(x)
        (out if seq else h).backward(dy)

    return step


def shendu_bilstm(shendu, w):
    """keras.layers.Bidirectional(LSTM(u)) forward and backward, through the layer (two fused
    LSTM kernel calls each way, the backward one over the reversed steps)."""
    import numpy as np

    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    layers = shendu.keras.layers
    layer = layers.Bidirectional(layers.LSTM(u, return_sequences=w["return_sequences"]))
    layer.build((None, t, i))
    x = _rand(np, (n, t, i))
    dy = _rand(np, (n, t, 2 * u) if w["return_sequences"] else (n, 2 * u), 3)

    def step():
        _, ctx = layer.forward(x, training=True)
        layer.backward(ctx, dy)

    return step


def torch_bilstm(torch, w):
    import numpy as np

    n, t, i, u = w["n"], w["t"], w["i"], w["u"]
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(i, u, batch_first=True, bidirectional=True)
    x = torch.from_numpy(_rand(np, (n, t, i))).requires_grad_(True)
    params = list(lstm.parameters())
    seq = w["return_sequences"]
    dy = torch.from_numpy(_rand(np, (n, t, 2 * u) if seq else (2, n, u), 3))

    def step():
        x.grad = None
        for p in params:
            p.grad = None
        out, (h, _) = lstm(x)
        (out if seq else h).backward(dy)

    return step


def _xor_batch(np, batch):
    x = np.random.default_rng(0).uniform(size=(batch, 2)).astype(np.float32)
    y = np.round(np.random.default_rng(1).uniform(size=(batch, 1))).astype(np.float32)
    return x, y


def shendu_mlp_step(shendu, w):
    """One train_on_batch of examples/mlp_xor_like.py's model."""
    import numpy as np

    model = examples.load("mlp_xor_like").build_model()
    x, y = _xor_batch(np, w["batch"])
    return lambda: model.train_on_batch(x, y)


def torch_mlp_step(torch, w):
    import numpy as np

    torch.manual_seed(0)
    model = torch_programs.xor_model(torch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x, y = (torch.from_numpy(a) for a in _xor_batch(np, w["batch"]))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    return step


BUILDERS = {
    ("shendu", "gemm"): shendu_gemm,
    ("numpy", "gemm"): numpy_gemm,
    ("torch", "gemm"): torch_gemm,
    ("shendu", "conv2d"): shendu_conv,
    ("torch", "conv2d"): torch_conv,
    ("shendu", "max_pool2d"): shendu_pool,
    ("torch", "max_pool2d"): torch_pool,
    ("shendu", "global_avg_pool"): shendu_global_avg_pool,
    ("torch", "global_avg_pool"): torch_global_avg_pool,
    ("shendu", "lstm"): shendu_lstm,
    ("torch", "lstm"): torch_lstm,
    ("shendu", "batch_norm"): shendu_batch_norm,
    ("torch", "batch_norm"): torch_batch_norm,
    ("shendu", "layer_norm"): shendu_layer_norm,
    ("torch", "layer_norm"): torch_layer_norm,
    ("shendu", "bilstm"): shendu_bilstm,
    ("torch", "bilstm"): torch_bilstm,
    ("shendu", "mlp_step"): shendu_mlp_step,
    ("torch", "mlp_step"): torch_mlp_step,
    ("shendu", "conv1d"): shendu_conv1d,
    ("torch", "conv1d"): torch_conv1d,
    ("shendu", "conv2d_transpose"): shendu_conv2d_transpose,
    ("torch", "conv2d_transpose"): torch_conv2d_transpose,
    ("shendu", "depthwise_conv2d"): shendu_depthwise,
    ("torch", "depthwise_conv2d"): torch_depthwise,
}
