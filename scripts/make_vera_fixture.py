#!/usr/bin/python3
"""Reference fixture for tests/test_ebm_vera.c: VERA's EBM loss (exact gradient penalty by double backprop)
and one generator step with the entropy estimator and the posterior-sigma update, written the way the
released code computes them (selflein/EBM-OOD-Detection uncertainty_est/models/ebm/vera.py and
models/ebm/utils/vera_utils.py "VERAGenerator", from wgrathwohl/VERA), in float64 PyTorch.

Run with Debian's python (torch 1.13):  /usr/bin/python3 scripts/make_vera_fixture.py [out.json]
Writes tests/fixtures/vera/vera.json (atomically: temp file + rename).

Case "ebm_loss" (kind 0): an EBM MLP 3 -> 8 -> 8 -> 3 with tanh (weights x2 so f curves), x[5, 3], x~[4, 3],
labels y[5]:
    L = -(mean f(x) - mean f(x~)) + pg * mean_i(|grad_i|^2 / 2) + ce * CE(g(x), y),   f = logsumexp(g)
with grad = autograd.grad(f.sum(), x) ("per_sample", VERA's train.py) or autograd.grad(f.mean(), x)
("batch_mean", the EBM-OOD code); dL/dtheta exact (create_graph=True). Parameters in ebood's MLP layout
(layers.<i>.weight [out, in], layers.<i>.bias), flattened in that order.

Case "generator_step" (kind 1): generator 3 -> 5 -> 5 -> 2 (Linear without bias, BatchNorm1d in training
mode, LeakyReLU(0.01)), logsigma = log 0.2, post_logsigma = log 0.3 (per latent dim), K = 4 importance
samples, lambda = 0.5, post_lr = 0.01; EBM 2 -> 6 -> 1 LeakyReLU(0.2). Given h[6, 3], eps[6, 2] and the
standard-normal draws zk[K, 6, 3] (h_k = h + sigma_post * zk, the code's inf_dist.sample) and zp[6, 3]
(the ELBO's rsample), it stores x~, the score c, the code's post_loss gradient w.r.t. post_logsigma and
post_logsigma after one Adam step, the entropy surrogate, mean f(x~) and the generator loss
-(mean f(x~) + lambda * H) with its gradient w.r.t. the generator's parameters (ebood order: per hidden
layer weight, BN weight, BN bias; then the last weight; then logsigma).
"""
import json
import math
import os
import sys

import torch

OUT_PATH = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                                        "vera", "vera.json"))
SEED = 20261122


def flat(ts):
    return [float(v) for t in ts for v in t.detach().reshape(-1).tolist()]


def mlp(dims, act):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def linears(seq):
    return [m for m in seq if isinstance(m, torch.nn.Linear)]


def ebm_case(penalty):
    torch.manual_seed(SEED)
    net = mlp([3, 8, 8, 3], torch.nn.Tanh).double()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)
    x = torch.randn(5, 3, dtype=torch.float64).requires_grad_()
    xg = 1.5 * torch.randn(4, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2, 0])
    pg, ce_w = 1.0, 1.0
    logits = net(x)
    ld = logits.logsumexp(1)
    lg = net(xg).logsumexp(1)
    red = ld.sum() if penalty == "per_sample" else ld.mean()
    grad = torch.autograd.grad(red, x, create_graph=True)[0]
    pen = (grad.flatten(start_dim=1).norm(2, 1) ** 2 / 2.0).mean()
    ce = torch.nn.functional.cross_entropy(logits, y)
    loss = -(ld.mean() - lg.mean()) + pg * pen + ce_w * ce
    params = []
    for lin in linears(net):
        params += [lin.weight, lin.bias]
    grads = torch.autograd.grad(loss, params)
    return {
        "name": "ebm_loss_" + penalty, "kind": 0, "penalty": penalty, "pg_weight": pg, "ce_weight": ce_w,
        "dims": [3, 8, 8, 3], "params": flat(params), "x": flat([x]), "x_gen": flat([xg]),
        "labels": y.tolist(), "loss": float(loss), "penalty_value": float(pen), "grad": flat(grads),
    }


def generator_case():
    torch.manual_seed(SEED + 1)
    n, kz, d, K, lam, post_lr = 6, 3, 2, 4, 0.5, 0.01
    dims = [kz, 5, 5, d]
    seq = []
    for i in range(len(dims) - 1):
        seq.append(torch.nn.Linear(dims[i], dims[i + 1], bias=False))
        if i < len(dims) - 2:
            bn = torch.nn.BatchNorm1d(dims[i + 1])
            with torch.no_grad():  # non-trivial affine parameters
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.5, 0.5)
            seq += [bn, torch.nn.LeakyReLU(0.01)]
    g = torch.nn.Sequential(*seq).double().train()
    logsigma = torch.nn.Parameter(torch.tensor([math.log(0.2)], dtype=torch.float64))
    post_logsigma = torch.nn.Parameter(torch.full((kz,), math.log(0.3), dtype=torch.float64))
    ebm = mlp([d, 6, 1], lambda: torch.nn.LeakyReLU(0.2)).double()
    h = torch.randn(n, kz, dtype=torch.float64)
    eps = torch.randn(n, d, dtype=torch.float64)
    zk = torch.randn(K, n, kz, dtype=torch.float64)
    zp = torch.randn(n, kz, dtype=torch.float64)
    # snapshot of the initial values (the fixture's inputs)
    gen_params = []
    for m in seq:
        if isinstance(m, torch.nn.Linear):
            gen_params.append(m.weight)
        elif isinstance(m, torch.nn.BatchNorm1d):
            gen_params += [m.weight, m.bias]
    init_gen = flat(gen_params) + [float(logsigma)]
    init_post = flat([post_logsigma])
    ebm_params = []
    for lin in linears(ebm):
        ebm_params += [lin.weight, lin.bias]

    def logq_joint(x, hh):  # VERAHMCGenerator.logq_joint
        logph = torch.distributions.Normal(0, 1).log_prob(hh).sum(1)
        gmu = g(hh)
        return torch.distributions.Normal(gmu, logsigma.exp()).log_prob(x).flatten(start_dim=1).sum(1) + logph, gmu

    # sample (VERAHMCGenerator.sample) and the generator step (vera.py generator_step)
    x = g(h) + eps * logsigma.exp()
    lg = ebm(x).squeeze(1)
    # VERAGenerator.entropy_obj with the given draws
    inf_dist = torch.distributions.Normal(h, post_logsigma.detach().exp())
    h_given_x = h + post_logsigma.detach().exp() * zk
    inf_logprob = inf_dist.log_prob(h_given_x).sum(2)
    xr = x[None].repeat(K, 1, 1).view(K * n, d)
    logq, mean_output = logq_joint(xr, h_given_x.view(-1, kz))
    mean_output = mean_output.view(K, n, d)
    logq = logq.view(K, n)
    w = (logq - inf_logprob).softmax(dim=0)
    fvals = (x[None] - mean_output) / (logsigma.exp() ** 2)
    c = (fvals * w[:, :, None]).sum(0).detach()
    ent = torch.mul(c, x).mean(0).sum()
    post_ls = post_logsigma
    h_post = h.detach() + post_ls.exp() * zp  # Normal(h, post_logsigma.exp()).rsample()
    joint, _ = logq_joint(x.detach(), h_post)
    post_ent = torch.distributions.Normal(h.detach(), post_ls.exp()).entropy().sum(1)
    post_loss = -(joint + post_ent).mean()
    post_grad = torch.autograd.grad(post_loss, [post_logsigma])[0]
    opt = torch.optim.Adam([post_logsigma], lr=post_lr)
    post_logsigma.grad = post_grad.clone()
    opt.step()
    gen_loss = -(lg.mean() + lam * ent)
    ggrads = torch.autograd.grad(gen_loss, gen_params + [logsigma])
    return {
        "name": "generator_step", "kind": 1, "n": n, "noise_dim": kz, "dim": d, "hidden": [5, 5], "K": K,
        "entropy_weight": lam, "post_lr": post_lr, "gen_params": init_gen, "post_log_sigma": init_post,
        "ebm_params": flat(ebm_params), "h": flat([h]), "eps": flat([eps]), "zk": flat([zk]), "zp": flat([zp]),
        "x_gen": flat([x]), "c": flat([c]), "post_grad": flat([post_grad]),
        "post_log_sigma_after": flat([post_logsigma]), "entropy": float(ent), "f_mean": float(lg.mean()),
        "gen_loss": float(gen_loss), "gen_grad": flat(ggrads),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT_PATH
    doc = {"generator": "scripts/make_vera_fixture.py", "torch": torch.__version__,
           "cases": [ebm_case("per_sample"), ebm_case("batch_mean"), generator_case()]}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    for c in doc["cases"]:
        print(c["name"], "loss" if c["kind"] == 0 else "gen_loss", c.get("loss", c.get("gen_loss")))


if __name__ == "__main__":
    main()
