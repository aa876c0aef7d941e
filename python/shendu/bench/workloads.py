"""What the bench times: the frameworks, the example programs, and the kernel suite with the
target of each workload (a speed-up of shendu over the named framework, or an absolute time)."""

from __future__ import annotations

FRAMEWORKS = ("shendu", "numpy", "torch", "tensorflow")
LABELS = {"shendu": "shendu", "numpy": "NumPy", "torch": "PyTorch", "tensorflow": "TF-Keras"}
# The example programs the bench trains (examples/<name>.py); each runs its own EPOCHS, or these
# with --quick.
PROGRAMS = (
    "mlp_xor_like",
    "mnist_mlp_dropout",
    "mnist_mlp_flatten",
    "mnist_cnn",
    "lstm_text",
    "conv1d_text",
    "imdb_bidirectional_lstm",
    "cifar_cnn_bn",
    "custom_training_loop",
)
QUICK_EPOCHS = {
    "mlp_xor_like": 10,
    "mnist_mlp_dropout": 2,
    "mnist_mlp_flatten": 2,
    "mnist_cnn": 1,
    "lstm_text": 2,
    "conv1d_text": 2,
    "imdb_bidirectional_lstm": 1,
    "cifar_cnn_bn": 1,
    "custom_training_loop": 1,
}
# Programs whose fit is a GradientTape loop: timed also against Model.fit of the same model on
# shendu (the loop's target: within LOOP_VS_FIT of fit's time) and with TF's steps run eagerly.
CUSTOM_LOOPS = ("custom_training_loop",)
LOOP_VS_FIT = 1.10


def kernel_workloads(tiny: bool = False) -> list[dict]:
    """The kernel suite: the layers of the example programs and a few reference shapes."""
    if tiny:  # smoke test: every family once, on shapes that take microseconds
        return [
            _gemm(64, 64, 64, False, False, "square", 1.0),
            _conv(2, 8, 8, 3, 4, 1.0),
            {
                "id": "max_pool2d N2 C4 8x8",
                "family": "max_pool2d",
                "shape": [2, 8, 8, 4],
                "target": {"vs": "torch", "speedup": 1.0},
            },
            _global_avg_pool(2, 3, 3, 4),
            _lstm(2, 5, 4, 3, False, 1.0),
            _norm("batch_norm", [2, 4, 4, 8]),
            _norm("layer_norm", [8, 16]),
            *_conv_variants(2, 6, 4),
            _lstm(2, 5, 4, 3, False, 1.0, "bilstm"),
            {
                "id": "mlp_step 2-5-1 b32",
                "family": "mlp_step",
                "batch": 32,
                "target": {"max_us": 10.0},
            },
        ]
    work = [_gemm(n, n, n, False, False, "square", 1.0) for n in (512, 1024, 2048)]
    # Dense layers of the MNIST MLP and CNN (forward M x K x N, then the two backward products:
    # dX = dY W^T and dW = X^T dY), and the CNN's second conv as an im2col product.
    for m, k, n in ((32, 784, 128), (64, 784, 128), (32, 128, 10), (1568, 288, 64)):
        work.append(_gemm(m, k, n, False, False, "layer", 1.3))
        work.append(_gemm(m, n, k, False, True, "layer", 1.3))
        work.append(_gemm(k, m, n, True, False, "layer", 1.3))
    work += [
        _conv(32, 28, 28, 1, 32, 2.0),
        _conv(32, 13, 13, 32, 64, 2.0),
        _conv(32, 5, 5, 64, 64, 2.0),
    ]
    work.append(
        {
            "id": "max_pool2d 2x2 N32 C32 26x26",
            "family": "max_pool2d",
            "shape": [32, 26, 26, 32],
            "target": {"vs": "torch", "speedup": 5.0},
        }
    )
    # A CNN head (GlobalAveragePooling2D) and a Conv1D text model's pooling (100 steps as 100x1).
    work += [_global_avg_pool(32, 8, 8, 256), _global_avg_pool(32, 100, 1, 128)]
    work += [_lstm(32, 40, 64, 64, True, 2.0), _lstm(32, 40, 64, 32, False, 2.0)]
    # BatchNormalization after the example CNN's first conv; LayerNormalization over a
    # transformer-sized feature axis.
    work += [_norm("batch_norm", [32, 26, 26, 32]), _norm("layer_norm", [2048, 256])]
    # examples/imdb_bidirectional_lstm.py's first Bidirectional layer.
    work.append(_lstm(32, 80, 64, 32, True, 2.0, "bilstm"))
    work.append(
        {"id": "mlp_step 2-5-1 b32", "family": "mlp_step", "batch": 32, "target": {"max_us": 10.0}}
    )
    work += _conv_variants(32, 100, 64)
    return work


def _gemm(m, k, n, trans_a, trans_b, kind, speedup):
    op = ("A^T" if trans_a else "A") + ("B^T" if trans_b else "B")
    return {
        "id": f"sgemm {m}x{k}x{n} {op}",
        "family": "gemm",
        "m": m,
        "k": k,
        "n": n,
        "trans_a": trans_a,
        "trans_b": trans_b,
        "kind": kind,
        "flop": 2.0 * m * n * k,
        "target": {"vs": "numpy", "speedup": speedup},
    }


def _conv(n, h, w, c, f, speedup):
    ho, wo = h - 2, w - 2  # 3x3, stride 1, "valid" as in the example CNN
    fwd = 2.0 * n * ho * wo * f * c * 9
    return {
        "id": f"conv2d 3x3 N{n} {h}x{w} C{c}->{f} fwd+bwd",
        "family": "conv2d",
        "shape": [n, h, w, c],
        "filters": f,
        "flop": 3 * fwd,
        "target": {"vs": "torch", "speedup": speedup},
    }


def _lstm(n, t, i, u, return_sequences, speedup, family="lstm"):
    tail = " seq" if return_sequences else " last"
    return {
        "id": f"{family} N{n} T{t} {i}->{u}{tail} fwd+bwd",
        "family": family,
        "n": n,
        "t": t,
        "i": i,
        "u": u,
        "return_sequences": return_sequences,
        "target": {"vs": "torch", "speedup": speedup},
    }


def _global_avg_pool(n, h, w, c):
    """Forward and backward of global average pooling over (n, h, w, c)."""
    return {
        "id": f"global_avg_pool N{n} C{c} {h}x{w}",
        "family": "global_avg_pool",
        "shape": [n, h, w, c],
        "target": {"vs": "torch", "speedup": 1.0},
    }


def _norm(family, shape):
    dims = "x".join(map(str, shape))
    return {
        "id": f"{family} {dims} train fwd+bwd",
        "family": family,
        "shape": shape,
        "target": {"vs": "torch", "speedup": 1.0},
    }


def _conv_variants(n, steps, c):
    """Conv1D (a text model's k5 layer), Conv2DTranspose (a decoder's 3x3 stride-2 layer doubling
    an image) and DepthwiseConv2D (a 3x3 MobileNet-style layer), each fwd+bwd against PyTorch's
    conv1d, conv_transpose2d and grouped conv2d."""
    side = max(2, steps // 12)  # 8x8 images for the transposed layer of the full suite
    return [
        {
            "id": f"conv1d k5 same N{n} T{steps} C{c}->{c} fwd+bwd",
            "family": "conv1d",
            "shape": [n, steps, c],
            "filters": c,
            "kernel": 5,
            "target": {"vs": "torch", "speedup": 1.0},
        },
        {
            "id": f"conv2d_transpose 3x3 s2 same N{n} {side}x{side} C{c}->{c // 2} fwd+bwd",
            "family": "conv2d_transpose",
            "shape": [n, side, side, c],
            "filters": c // 2,
            "target": {"vs": "torch", "speedup": 1.0},
        },
        {
            "id": f"depthwise_conv2d 3x3 same N{n} {side * 4}x{side * 4} C{c} fwd+bwd",
            "family": "depthwise_conv2d",
            "shape": [n, side * 4, side * 4, c],
            "target": {"vs": "torch", "speedup": 1.0},
        },
    ]
