#!/usr/bin/python3
"""Reference fixture for tests/test_optim.c: PyTorch optimizers and learning-rate schedules.

Runs torch.optim.SGD / Adam / AdamW for a few steps on a fixed float32 parameter vector with a
fixed, seeded sequence of gradients (p.grad is set by hand before each step), and records the
parameters after every step. Also records the learning rate that torch.optim.lr_scheduler
(StepLR, CosineAnnealingLR, MultiStepLR) gives at each step, and the linear warm-up of the EBM-OOD code
(selflein/EBM-OOD-Detection, OODDetectionModel.optimizer_step; shared/specs/seed-code-specs.md §4).

Every hyperparameter is rounded to float32 before torch sees it, so torch and the C code start
from the same numbers (the C structs hold floats).

Usage: /usr/bin/python3 scripts/make_optim_fixture.py [out.json]
(default: tests/fixtures/optim/torch_optim.json)
"""
import json
import os
import sys

import numpy as np
import torch

N_PARAMS = 20
N_STEPS = 5
SEED = 20240611


def f32(x):
    """A Python float holding exactly the float32 nearest to x (hyperparameters: torch computes
    with exactly the value the C struct holds)."""
    return float(np.float32(x))


def f32_list(a):
    """float32 array → shortest decimal strings that round-trip to the same float32 (compact)."""
    return [float(str(v)) for v in np.asarray(a, dtype=np.float32).ravel()]


def run_optimizer(kind, hp, lrs, params0, grads):
    """Runs `len(lrs)` steps; step k uses lr lrs[k] and gradient grads[k]. Returns params after each."""
    p = torch.nn.Parameter(torch.tensor(params0, dtype=torch.float32))
    if kind == "sgd":
        opt = torch.optim.SGD([p], lr=lrs[0], momentum=hp["momentum"], dampening=hp["dampening"],
                              nesterov=hp["nesterov"], weight_decay=hp["weight_decay"])
    elif kind == "adam":
        opt = torch.optim.Adam([p], lr=lrs[0], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                               weight_decay=hp["weight_decay"])
    elif kind == "adamw":
        opt = torch.optim.AdamW([p], lr=lrs[0], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                                weight_decay=hp["weight_decay"])
    else:
        raise ValueError(kind)
    out = []
    for k, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        p.grad = torch.tensor(grads[k], dtype=torch.float32)
        opt.step()
        out.append(f32_list(p.detach().numpy()))
    return out


def optimizer_cases(params0, grads):
    sgd = dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0)
    adam = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
    const = lambda lr: [f32(lr)] * N_STEPS
    varying = [f32(x) for x in (0.01, 0.02, 0.005, 0.0125, 0.03)]
    specs = [
        ("sgd_plain", "sgd", dict(sgd), const(0.1)),
        ("sgd_momentum", "sgd", dict(sgd, momentum=0.9), const(0.1)),
        ("sgd_dampening", "sgd", dict(sgd, momentum=0.9, dampening=0.3), const(0.05)),
        ("sgd_nesterov", "sgd", dict(sgd, momentum=0.9, nesterov=True), const(0.1)),
        ("sgd_weight_decay", "sgd", dict(sgd, weight_decay=0.05), const(0.1)),
        ("sgd_momentum_wd", "sgd", dict(sgd, momentum=0.9, dampening=0.1, weight_decay=0.05), const(0.1)),
        ("sgd_nesterov_wd_varlr", "sgd", dict(sgd, momentum=0.8, nesterov=True, weight_decay=0.05), varying),
        ("adam_default", "adam", dict(adam), const(1e-3)),
        ("adam_wd", "adam", dict(adam, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1), const(0.01)),
        ("adam_big_eps", "adam", dict(adam, eps=0.5), const(0.01)),
        ("adam_wd_varlr", "adam", dict(adam, weight_decay=0.05), varying),
        ("adamw_default", "adamw", dict(adam, weight_decay=0.01), const(1e-3)),
        ("adamw_wd", "adamw", dict(adam, beta1=0.8, beta2=0.99, weight_decay=0.1), const(0.01)),
        ("adamw_vera_betas", "adamw", dict(adam, beta1=0.0, beta2=0.9), const(1e-3)),
        ("adamw_wd_varlr", "adamw", dict(adam, weight_decay=0.5), varying),
    ]
    cases = []
    for name, kind, hp, lrs in specs:
        hp = {k: (v if isinstance(v, bool) else f32(v)) for k, v in hp.items()}
        traj = run_optimizer(kind, hp, lrs, params0, grads)
        cases.append(dict(name=name, kind=kind, lrs=lrs, **hp, params=traj))
    return cases


def sched_lrs(make_sched, base_lr, n_steps, steps_per_epoch=1, warmup=0):
    """lr used by the optimizer step at global step s = 0..n_steps-1.

    The scheduler is stepped once per `steps_per_epoch` optimizer steps (PyTorch Lightning's
    epoch-level scheduler). With warmup > 0, the EBM-OOD code's optimizer_step override is
    replayed: for global_step < warmup, pg['lr'] = min(1, (global_step+1)/warmup) * base_lr."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_sched(opt) if make_sched else None
    out = []
    for s in range(n_steps):
        if s < warmup:
            for pg in opt.param_groups:
                pg["lr"] = min(1.0, float(s + 1) / float(warmup)) * base_lr
        out.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1)
        opt.step()
        if sched is not None and (s + 1) % steps_per_epoch == 0:
            sched.step()
    return out


def warm(values, base_lr, warmup):
    """The documented ebood rule: base_lr·min(1, (s+1)/warmup) for s < warmup, else the schedule."""
    return [min(1.0, float(s + 1) / float(warmup)) * base_lr if s < warmup else v
            for s, v in enumerate(values)]


def schedule_cases():
    steplr = torch.optim.lr_scheduler.StepLR
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR
    base = f32(0.1)
    cases = []

    def add(name, kind, lrs, **cfg):
        full = dict(base_lr=base, total_steps=0, warmup_steps=0, step_size=0, gamma=f32(1.0), min_lr=0.0,
                    milestones=[])
        full.update(cfg)
        cases.append(dict(name=name, kind=kind, **full, lr=lrs))

    add("constant", "constant", sched_lrs(None, base, 8))
    g = f32(0.5)
    add("steplr", "step", sched_lrs(lambda o: steplr(o, step_size=3, gamma=g), base, 13), step_size=3, gamma=g)
    g = f32(0.3)
    add("steplr_gamma03", "step", sched_lrs(lambda o: steplr(o, step_size=1, gamma=g), base, 6),
        step_size=1, gamma=g)
    mn = f32(1e-3)
    # 25 steps with T_max = 10: torch's cosine is periodic past T_max (it rises again).
    add("cosine", "cosine", sched_lrs(lambda o: cosine(o, T_max=10, eta_min=mn), base, 25),
        total_steps=10, min_lr=mn)
    add("cosine_min0", "cosine", sched_lrs(lambda o: cosine(o, T_max=7, eta_min=0.0), base, 8), total_steps=7)
    # EBM-OOD training (seed-code-specs §4), scaled down: warm-up 10 steps, 3 steps/epoch,
    # StepLR(step_size=4 epochs, gamma=0.5) stepped per epoch  ==  step_size = 12 global steps.
    # No StepLR boundary falls inside the warm-up, as in the paper's configs.
    g = f32(0.5)
    add("ebm_warmup_steplr", "step",
        sched_lrs(lambda o: steplr(o, step_size=4, gamma=g), base, 40, steps_per_epoch=3, warmup=10),
        step_size=12, gamma=g, warmup_steps=10)
    add("ebm_warmup_constant", "constant", sched_lrs(None, base, 12, warmup=5), warmup_steps=5)
    # ebood's rule where the schedule has moved during the warm-up: the ramp goes to base_lr and the
    # schedule (torch's values) takes over at step == warmup.
    add("warmup_steplr_inside", "step",
        warm(sched_lrs(lambda o: steplr(o, step_size=4, gamma=g), base, 20), base, 10),
        step_size=4, gamma=g, warmup_steps=10)
    add("warmup_cosine", "cosine",
        warm(sched_lrs(lambda o: cosine(o, T_max=20, eta_min=mn), base, 22), base, 6),
        total_steps=20, min_lr=mn, warmup_steps=6)
    # HEAT's classifier recipe (001_8dfeaa911d9afebd.txt App. A.5.1), scaled down: 8 epochs of 3 steps,
    # MultiStepLR(milestones=[4, 6] = 50 % / 75 %, gamma=0.1) stepped per epoch  ==  fractions 0.5, 0.75
    # of total_steps = 24 global steps.
    multistep = torch.optim.lr_scheduler.MultiStepLR
    g = f32(0.1)
    add("multistep_heat", "multistep",
        sched_lrs(lambda o: multistep(o, milestones=[4, 6], gamma=g), base, 24, steps_per_epoch=3),
        total_steps=24, gamma=g, milestones=[0.5, 0.75])
    # one milestone, per step, run past total_steps (the lr stays at its last value)
    g = f32(0.5)
    add("multistep_one", "multistep", sched_lrs(lambda o: multistep(o, milestones=[3], gamma=g), base, 12),
        total_steps=10, gamma=g, milestones=[0.3])
    for c in cases:
        c["lr"] = [float(v) for v in c["lr"]]
    return cases


def torch_defaults():
    p = [torch.nn.Parameter(torch.zeros(1))]
    out = {}
    for name, cls in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):
        d = (cls(p, lr=0.01) if name == "sgd" else cls(p)).defaults
        rec = dict(weight_decay=d["weight_decay"])
        if name == "sgd":
            rec.update(momentum=d["momentum"], dampening=d["dampening"], nesterov=d["nesterov"])
        else:
            rec.update(lr=d["lr"], beta1=d["betas"][0], beta2=d["betas"][1], eps=d["eps"])
        out[name] = rec
    return out


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "optim", "torch_optim.json")
    rng = np.random.default_rng(SEED)
    params0 = rng.standard_normal(N_PARAMS).astype(np.float32)
    grads = rng.standard_normal((N_STEPS, N_PARAMS)).astype(np.float32)
    grads[2, 3] = 0.0  # a zero gradient entry (Adam's v̂ stays small there; eps matters)
    torch.manual_seed(0)
    fixture = dict(
        generator="scripts/make_optim_fixture.py",
        torch_version=torch.__version__,
        n_params=N_PARAMS,
        n_steps=N_STEPS,
        params0=f32_list(params0),
        grads=[f32_list(g) for g in grads],
        defaults=torch_defaults(),
        optimizers=optimizer_cases(params0, grads),
        schedules=schedule_cases(),
    )
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as fp:
        json.dump(fixture, fp, separators=(",", ":"))
        fp.write("\n")
    os.replace(tmp, out_path)
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")


if __name__ == "__main__":
    main()
