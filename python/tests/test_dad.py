"""The DAD loss: equals plain KD at γ = 0, its token weights follow the definition of research/method.md on
hand-computable distributions, and the weights are stop-gradient."""
import math

import torch

from dbllm_train.dad import dad_loss, kd_loss, token_weights

NEG = -1e4  # probability ~0 without inf * 0


def logits(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_gamma_zero_is_plain_kd():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 7, 50, generator=g, dtype=torch.float64)
    t = torch.randn(3, 7, 50, generator=g, dtype=torch.float64) * 2
    l0, _ = dad_loss(s, t, gamma=0.0)
    assert abs(float(l0) - float(kd_loss(s, t))) < 1e-12
    # and the gradients agree
    s1 = s.clone().requires_grad_(True)
    s2 = s.clone().requires_grad_(True)
    dad_loss(s1, t, gamma=0.0)[0].backward()
    kd_loss(s2, t).backward()
    assert torch.allclose(s1.grad, s2.grad, atol=1e-14)


def test_token_weights_on_hand_computable_distributions():
    # V = 4. Teacher rows: uniform (H = log 4 -> 1), two-way split (H = log 2 -> 1/2), one-hot (H = 0).
    t = logits([0, 0, 0, 0], [0, 0, NEG, NEG], [0, NEG, NEG, NEG])
    # Student rows: two-way, uniform, uniform
    s = logits([0, 0, NEG, NEG], [0, 0, 0, 0], [0, 0, 0, 0])
    tl, sl = torch.log_softmax(t, -1), torch.log_softmax(s, -1)
    ht = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    hs = torch.tensor([0.5, 1.0, 1.0], dtype=torch.float64)
    for gamma in (0.0, 0.5, 1.0, 2.0):
        w = token_weights(tl, sl, gamma, "both")
        expect = (ht * hs) ** gamma
        assert torch.allclose(w, expect, atol=1e-9), (gamma, w, expect)
        wt = token_weights(tl, sl, gamma, "teacher")
        assert torch.allclose(wt, ht ** gamma, atol=1e-9), (gamma, wt)
    # the loss: CE(p_T, p_S) by hand per row, weighted mean with w = (H_T H_S / log²V)^1 = [0.5, 0.5, 0]
    # row 0: teacher uniform, student log p = [-log 2, -log 2, -1e4 - log 2, -1e4 - log 2] -> CE = log 2 + 5000
    # row 1: teacher half/half, student uniform -> CE = log 4;  row 2: weight 0
    ce = [math.log(2) + 5000.0, math.log(4), math.log(4)]
    loss, stats = dad_loss(s, t, gamma=1.0)
    expect = (0.5 * ce[0] + 0.5 * ce[1] + 0.0 * ce[2]) / (0.5 + 0.5 + 0.0)
    assert abs(float(loss) - float(expect)) < 1e-9
    assert abs(stats["w_mean"] - 1.0 / 3.0) < 1e-9


def test_weights_are_stop_gradient():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(4, 9, 30, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(4, 9, 30, generator=g, dtype=torch.float64)
    loss, _ = dad_loss(s, t, gamma=1.0)
    loss.backward()
    # the same with the weights computed separately as constants
    s2 = s.detach().clone().requires_grad_(True)
    sl, tl = torch.log_softmax(s2, -1), torch.log_softmax(t, -1)
    w = token_weights(tl.detach(), sl.detach(), 1.0)
    ce = -(tl.exp() * sl).sum(-1)
    ((w * ce).sum() / w.sum()).backward()
    assert torch.allclose(s.grad, s2.grad, atol=1e-14)
