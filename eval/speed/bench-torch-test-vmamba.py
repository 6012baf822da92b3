#!/usr/bin/env python3
# PyTorch CPU reference for `ssmv bench model model=test_vmamba` (issue 12's CPU comparison): the
# test_vmamba structure (VMamba v2: patch embed v2, VSSBlock with SS2D v05_noz + GELU MLP, LayerNorm2d,
# downsample v3, depths 1-1-2-1, dims 16, ssm_ratio 2, d_state 1, cross scan) written in plain
# PyTorch, with the selective scan as VMamba's pure-torch fallback computes it (a loop over L,
# `selective_scan_torch`): what a PyTorch user runs on a CPU. Prints inference and training
# (forward, cross-entropy, backward, AdamW step) images/s, median of the timed steps.
# usage: python3 eval/speed/bench-torch-test-vmamba.py [--batch 8] [--img 32] [--threads 2] [--iters 10]
import argparse, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm2d(nn.LayerNorm):  # channel-last here: the same computation as VMamba's LayerNorm2d
    pass


def selective_scan(u, delta, A, B, C, D, delta_bias):
    # u, delta (b, kd, l); A (kd, n); B, C (b, k, n, l); D, delta_bias (kd)
    b, kd, l = u.shape
    k = B.shape[1]
    delta = F.softplus(delta + delta_bias[None, :, None])
    Bx = B.repeat_interleave(kd // k, dim=1)  # (b, kd, n, l)
    Cx = C.repeat_interleave(kd // k, dim=1)
    dA = torch.exp(delta[..., None] * A[None, :, None, :])  # (b, kd, l, n)
    dBu = delta[..., None] * Bx.permute(0, 1, 3, 2) * u[..., None]
    x = u.new_zeros(b, kd, A.shape[1])
    ys = []
    for i in range(l):
        x = dA[:, :, i] * x + dBu[:, :, i]
        ys.append((x * Cx[:, :, :, i]).sum(-1))
    return torch.stack(ys, dim=-1) + u * D[None, :, None]


def cross_scan(x):  # (b, d, h, w) -> (b, 4, d, l)
    b, d, h, w = x.shape
    xs = torch.stack([x.flatten(2), x.transpose(2, 3).flatten(2)], dim=1)
    return torch.cat([xs, xs.flip(-1)], dim=1)


def cross_merge(ys, h, w):  # (b, 4, d, l) -> (b, d, l)
    b, k, d, l = ys.shape
    y = ys[:, 0:2] + ys[:, 2:4].flip(-1)
    return y[:, 0] + y[:, 1].view(b, d, w, h).transpose(2, 3).reshape(b, d, l)


class SS2D(nn.Module):
    def __init__(self, d_model, ssm_ratio=2.0, d_state=1, K=4):
        super().__init__()
        D = int(ssm_ratio * d_model)
        R = math.ceil(d_model / 16)
        self.D, self.R, self.N, self.K = D, R, d_state, K
        self.in_proj = nn.Linear(d_model, D, bias=False)
        self.conv2d = nn.Conv2d(D, D, 3, padding=1, groups=D, bias=False)
        self.x_proj_weight = nn.Parameter(torch.randn(K, R + 2 * d_state, D) / math.sqrt(D))
        self.dt_projs_weight = nn.Parameter(torch.randn(K, D, R) * R ** -0.5)
        self.dt_projs_bias = nn.Parameter(torch.rand(K, D) * -4.0)
        self.A_logs = nn.Parameter(torch.zeros(K * D, d_state))
        self.Ds = nn.Parameter(torch.ones(K * D))
        self.out_norm = nn.LayerNorm(D)
        self.out_proj = nn.Linear(D, d_model, bias=False)

    def forward(self, x):  # (b, h, w, c)
        b, h, w, _ = x.shape
        x = self.in_proj(x).permute(0, 3, 1, 2)
        x = F.silu(self.conv2d(x))
        xs = cross_scan(x)  # (b, k, d, l)
        l = h * w
        x_dbl = torch.einsum('bkdl,kcd->bkcl', xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [self.R, self.N, self.N], dim=2)
        dts = torch.einsum('bkrl,kdr->bkdl', dts, self.dt_projs_weight)
        ys = selective_scan(xs.reshape(b, -1, l), dts.reshape(b, -1, l), -torch.exp(self.A_logs), Bs, Cs, self.Ds, self.dt_projs_bias.flatten())
        y = cross_merge(ys.view(b, self.K, self.D, l), h, w).transpose(1, 2).reshape(b, h, w, self.D)
        return self.out_proj(self.out_norm(y))


class Block(nn.Module):
    def __init__(self, dim, drop_path):
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.op = SS2D(dim)
        self.norm2 = LayerNorm2d(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop_path = drop_path

    def dp(self, x):
        if not self.training or self.drop_path == 0:
            return x
        keep = 1 - self.drop_path
        mask = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(keep) / keep
        return x * mask

    def forward(self, x):
        x = x + self.dp(self.op(self.norm(x)))
        return x + self.dp(self.mlp(self.norm2(x)))


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, 1)
        self.norm = LayerNorm2d(cout)

    def forward(self, x):
        return self.norm(self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class TestVMamba(nn.Module):
    def __init__(self, depths=(1, 1, 2, 1), dim=16, classes=10, drop_path_rate=0.1):
        super().__init__()
        dims = [dim * 2 ** i for i in range(len(depths))]
        self.c1, self.n1 = nn.Conv2d(3, dim // 2, 3, 2, 1), LayerNorm2d(dim // 2)
        self.c2, self.n2 = nn.Conv2d(dim // 2, dim, 3, 2, 1), LayerNorm2d(dim)
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        layers, at = [], 0
        for i, dep in enumerate(depths):
            blocks = [Block(dims[i], dpr[at + j]) for j in range(dep)]
            at += dep
            layers.append(nn.Sequential(*blocks, Down(dims[i], dims[i + 1]) if i < len(depths) - 1 else nn.Identity()))
        self.layers = nn.Sequential(*layers)
        self.norm = LayerNorm2d(dims[-1])
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):  # (b, 3, s, s)
        x = self.n1(self.c1(x).permute(0, 2, 3, 1))
        x = F.gelu(x).permute(0, 3, 1, 2)
        x = self.n2(self.c2(x).permute(0, 2, 3, 1))
        x = self.layers(x)
        return self.head(self.norm(x).mean((1, 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--img', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = TestVMamba()
    x = torch.randn(a.batch, 3, a.img, a.img)
    y = torch.arange(a.batch) % 10
    params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.05)

    def infer():
        with torch.no_grad():
            m(x)

    def train():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    out = {}
    for name, step, mode in (('inference', infer, False), ('training', train, True)):
        m.train(mode)
        for _ in range(2):
            step()
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            step()
            ts.append(time.perf_counter() - t0)
        ts.sort()
        med = ts[len(ts) // 2]
        out[name] = med
        print(f'{name}: {a.batch / med:.1f} images/s ({med * 1000:.1f} ms/step, median of {a.iters})')
    print(f'PyTorch {torch.__version__}, {a.threads} threads, test_vmamba-structured model ({params} params), batch {a.batch}, {a.img}x{a.img}')


if __name__ == '__main__':
    main()
