"""The FDB layer: α gradients against finite differences, the straight-through estimator is exactly what it
claims, and the activation quantizer is the runtime's quantize_act_i8 / quantize_act_q7."""
import numpy as np
import torch
import torch.nn.functional as F

from dbllm_train.fdb_fit import fit_matrix
from dbllm_train.fdb_linear import FDBLinear, assign_levels, fake_quant_act


def _layer(seed=0, out_f=6, in_f=128, g=64, dtype=torch.float64, ste="identity", act_quant=True):
    r = np.random.default_rng(seed)
    w = (r.standard_normal((out_f, in_f)) * 0.05).astype(np.float32)
    _, _, a1, a2 = fit_matrix(w, g)
    return FDBLinear(torch.tensor(w), g, torch.tensor(a1), torch.tensor(a2), act_quant=act_quant, ste=ste, dtype=dtype), r


def test_alpha_gradients_match_finite_differences():
    layer, r = _layer()
    x = torch.tensor(r.standard_normal((5, 128)), dtype=torch.float64)
    probe = torch.tensor(r.standard_normal((5, 6)), dtype=torch.float64)
    loss = lambda: (layer(x) * probe).sum()  # noqa: E731
    loss().backward()
    eps = 1e-6
    b0 = layer.binaries()
    worst = 0.0
    for p in (layer.alpha1, layer.alpha2):
        analytic = p.grad.clone()
        for idx in np.ndindex(*p.shape):
            with torch.no_grad():
                p[idx] += eps
                assert all((a == b).all() for a, b in zip(layer.binaries(), b0)), "a binary flipped: pick weights farther from the boundaries"
                up = float(loss())
                p[idx] -= 2 * eps
                down = float(loss())
                p[idx] += eps
            fd = (up - down) / (2 * eps)
            worst = max(worst, abs(fd - float(analytic[idx])))
            assert abs(fd - float(analytic[idx])) <= 1e-6 * max(1.0, abs(fd)), (idx, fd, float(analytic[idx]))
    print(f"max |finite difference - analytic| over {2 * layer.alpha1.numel()} scales: {worst:.2e}")


def test_alpha_gradient_is_the_sum_over_its_binaries():
    layer, r = _layer(1, dtype=torch.float32)
    x = torch.tensor(r.standard_normal((7, 128)), dtype=torch.float32)
    wq = layer.quantized_weight().detach().requires_grad_(True)
    xq = fake_quant_act(x, 64)
    (F.linear(xq, wq) ** 2).sum().backward()
    (layer(x) ** 2).sum().backward()
    b1, b2 = layer.binaries()
    gw = wq.grad.reshape(6, 2, 64)
    assert torch.allclose(layer.alpha1.grad, (gw * b1.reshape(6, 2, 64)).sum(-1), rtol=1e-5, atol=1e-6)
    assert torch.allclose(layer.alpha2.grad, (gw * b2.reshape(6, 2, 64)).sum(-1), rtol=1e-5, atol=1e-6)


def test_straight_through_estimator():
    for ste in ("identity", "clipped"):
        layer, r = _layer(2, dtype=torch.float32, ste=ste)
        with torch.no_grad():  # push some latent weights outside the levels' range
            layer.weight[0, :8] = 1.0
            layer.weight[1, :8] = -1.0
        x = torch.tensor(r.standard_normal((4, 128)), dtype=torch.float32)
        wq = layer.quantized_weight().detach().requires_grad_(True)
        F.linear(fake_quant_act(x, 64), wq).pow(2).sum().backward()
        layer(x).pow(2).sum().backward()
        if ste == "identity":
            assert torch.equal(layer.weight.grad, wq.grad), "identity STE: dL/dw must equal dL/dŵ exactly"
        else:
            w = layer.grouped().detach()
            lv = torch.stack([torch.zeros_like(layer.alpha1), layer.alpha1, layer.alpha2, layer.alpha1 + layer.alpha2]).detach()
            inside = ((w >= lv.amin(0)[..., None]) & (w <= lv.amax(0)[..., None])).reshape(6, 128)
            assert torch.equal(layer.weight.grad, wq.grad * inside), "clipped STE: dL/dŵ inside the levels' range, 0 outside"
            assert (layer.weight.grad[0, :8] == 0).all() and (layer.weight.grad[1, :8] == 0).all()
    # the forward value is exactly α1·b1 + α2·b2
    b1, b2 = layer.binaries()
    a1 = layer.alpha1.detach().repeat_interleave(64, 1)
    a2 = layer.alpha2.detach().repeat_interleave(64, 1)
    assert torch.equal(layer.quantized_weight().detach(), a1 * b1 + a2 * b2)


def test_assignment_is_nearest_level_with_ties_to_zero_first():
    w = torch.tensor([0.0, 0.5, 1.0, -0.5, -1.0, 0.25, 0.75, 2.0, -3.0])
    b1, b2 = assign_levels(w, torch.tensor(1.0), torch.tensor(-1.0))  # levels 0, 1, -1, 0
    assert b1.tolist() == [0, 0, 1, 0, 0, 0, 1, 1, 0]  # 0.5: tie 0 vs 1 -> 0; -0.5: tie 0 vs -1 -> 0
    assert b2.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 1]


def _quantize_act_reference(x: np.ndarray, g: int, qmax: int) -> np.ndarray:
    """assembly/fdb-common.ts quantize_act_i8 (qmax 127) / assembly/q8.ts quantize_act_q7 (qmax 63), in f32, as q·s."""
    x = x.astype(np.float32)
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        for j in range(x.shape[1] // g):
            xs = x[t, j * g:(j + 1) * g]
            m = np.float32(np.abs(xs).max())
            s = np.float32(m / np.float32(qmax))
            inv = np.float32(1) / s if s > 0 else np.float32(0)
            q = np.clip(np.rint((xs * inv).astype(np.float32)), -qmax, qmax)  # rint: ties to even, like f32x4.nearest
            out[t, j * g:(j + 1) * g] = (q * s).astype(np.float32)
    return out


def test_activation_quantization_is_the_runtimes():
    r = np.random.default_rng(3)
    x = (r.standard_normal((6, 128)) * 3).astype(np.float32)
    x[0, :64] = np.arange(64) - 31.5  # many exact halves after scaling
    x[1, :64] = 0.0  # zero group
    x[2, 5] = 1e6  # an outlier group
    x[3, :] = np.round(x[3, :] * 2) / 2
    for g, qmax in ((64, 127), (32, 127), (32, 63)):
        ref = _quantize_act_reference(x, g, qmax)
        got = fake_quant_act(torch.tensor(x), g, qmax).numpy()
        assert np.array_equal(got, ref), (g, qmax)
    # straight-through: the gradient passes unchanged
    xt = torch.tensor(x, requires_grad=True)
    fake_quant_act(xt, 64).sum().backward()
    assert torch.equal(xt.grad, torch.ones_like(xt))
