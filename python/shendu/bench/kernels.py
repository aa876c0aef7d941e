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


def torch_conv(torch, w, device="cpu"):
    import numpy as np

    n, h, wd, c = w["shape"]
    f = w["filters"]
    conv = torch.nn.functional.conv2d
    variants = {}
    for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):

        def on(a, fmt=fmt):
            return torch.from_numpy(a).to(device).contiguous(memory_format=fmt)

        x = on(_rand(np, (n, c, h, wd)))
        k = on(_rand(np, (f, c, 3, 3), 1))
        b = torch.from_numpy(_rand(np, (f,), 2)).to(device)
        dy = on(_rand(np, (n, f, h - 2, wd - 2), 3))
        for t in (x, k, b):
            t.requires_grad_(True)

        def step(x=x, k=k, b=b, dy=dy):
            x.grad = k.grad = b.grad = None
            conv(x, k, b).backward(dy)

        variants[layout] = step
    return None, variants


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
    pool = torch.nn.functional.max_pool2d
    variants = {}
    for layout, fmt in (("NCHW", torch.contiguous_format), ("NHWC", torch.channels_last)):
        x = torch.from_numpy(_rand(np, (n, c, h, wd))).contiguous(memory_format=fmt)
        x.requires_grad_(True)
        dy = torch.from_numpy(_rand(np, (n, c, h // 2, wd // 2), 1)).contiguous(memory_format=fmt)

        def step(x=x, dy=dy):
            x.grad = None
            pool(x, 2).backward(dy)

        variants[layout] = step
    return None, variants


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
    ("shendu", "lstm"): shendu_lstm,
    ("torch", "lstm"): torch_lstm,
    ("shendu", "bilstm"): shendu_bilstm,
    ("torch", "bilstm"): torch_bilstm,
    ("shendu", "mlp_step"): shendu_mlp_step,
    ("torch", "mlp_step"): torch_mlp_step,
}
