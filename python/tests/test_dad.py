"""The DAD loss: equals plain KD at γ = 0, its token weights (every weighting of dad.py) follow their definitions on
hand-computable distributions, the weights are stop-gradient, and the chunked loss the trainer uses equals the
full-logit reference."""
import math

import torch

from dbllm_train.dad import WEIGHTINGS, dad_loss, distill_chunks, kd_loss, token_weights

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


def test_other_weightings_on_hand_computable_distributions():
    # the rows of the test above: H_T = [1, 1/2, 0], H_S = [1/2, 1, 1] (normalised by log 4)
    t = logits([0, 0, 0, 0], [0, 0, NEG, NEG], [0, NEG, NEG, NEG])
    s = logits([0, 0, NEG, NEG], [0, 0, 0, 0], [0, 0, 0, 0])
    tl, sl = torch.log_softmax(t, -1), torch.log_softmax(s, -1)
    for gamma in (0.5, 1.0, 2.0):
        gap = token_weights(tl, sl, gamma, "gap")
        assert torch.allclose(gap, torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64) ** gamma, atol=1e-9), gap
        kl = -(tl.exp() * sl).sum(-1) + (tl.exp() * tl).sum(-1)  # per-token KL(p_T || p_S) in nats
        exc = token_weights(tl, sl, gamma, "excess")
        assert torch.allclose(exc, (kl / math.log(4)).clamp_min(0) ** gamma, atol=1e-9), exc
    # row 2: teacher one-hot on token 0, student uniform -> KL = log 4, normalised 1
    assert abs(float(token_weights(tl, sl, 1.0, "excess")[2]) - 1.0) < 1e-9


def test_chunked_loss_equals_the_reference_and_holds_one_chunk_at_a_time():
    """distill_chunks (the trainer's loss, from hidden states through the heads, chunk by chunk) gives the loss and the
    gradient of dad_loss on full logits, for every weighting and chunk size, and never asks a head for more than one
    chunk of positions."""
    g = torch.Generator().manual_seed(3)
    N, D, V = 23, 8, 40
    hs = torch.randn(N, D, generator=g, dtype=torch.float64)
    ht = torch.randn(N, D, generator=g, dtype=torch.float64)
    Ws = torch.randn(V, D, generator=g, dtype=torch.float64)
    Wt = torch.randn(V, D, generator=g, dtype=torch.float64) * 2
    worst = 0.0
    for weighting in WEIGHTINGS:
        for gamma in (0.0, 1.0, 2.0):
            ref_h = hs.clone().requires_grad_(True)
            ref, _ = dad_loss(ref_h @ Ws.T, ht @ Wt.T, gamma, weighting)
            ref.backward()
            for chunk in (1, 5, 23, 100):
                seen = []

                def head_s(x):
                    seen.append(x.shape[0])
                    return x @ Ws.T

                def head_t(x):
                    seen.append(x.shape[0])
                    return x @ Wt.T

                h = hs.clone().requires_grad_(True)
                sums = distill_chunks(h, ht, head_s, head_t, gamma, weighting, chunk, grad_scale=1.0)
                loss = float(sums["wce"] / sums["w"])
                grad = h.grad / sums["w"]
                d = max(abs(loss - float(ref)), float((grad - ref_h.grad).abs().max()))
                worst = max(worst, d)
                assert d < 1e-12, (weighting, gamma, chunk, d)
                assert max(seen) <= chunk and sum(seen) == 2 * N
                assert int(sums["n"]) == N
    print(f"chunked vs full-logit DAD loss and gradient, all weightings: max |difference| {worst:.2e} (bound 1e-12, float64)")
