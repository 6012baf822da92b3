# Run on the GPU host with `python3 scans/kernel/selective-scan/bench-torch.py` (BENCHMARKS.md, Selective scan).
# Context numbers on the GPU host (not the anchor): device-to-device copy bandwidth, and a pure-torch
# sequential selective scan (VMamba's selective_scan_torch style loop over L) for B64 K4 D192 N1 L3136.
import time, torch
dev = 'cuda'
torch.backends.cuda.matmul.allow_tf32 = False
print('torch', torch.__version__, torch.cuda.get_device_name(0), flush=True)
def timed(f, n):
    f(); torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(n): f()
    torch.cuda.synchronize(); return (time.perf_counter() - t) / n * 1e3
x = torch.empty(1 << 28, device=dev); y = torch.empty_like(x)
ms = timed(lambda: y.copy_(x), 20)
print(f'copy 1 GiB: {ms:.3f} ms, {2 * x.numel() * 4 / ms / 1e6:.0f} GB/s (read + write)', flush=True)
del x, y
def scan(u, delta, A, B, C, D, bias):
    b, kd, L = u.shape; K = B.shape[1]
    dt = torch.nn.functional.softplus(delta + bias[None, :, None])
    Bc = B.repeat_interleave(kd // K, dim=1); Cc = C.repeat_interleave(kd // K, dim=1)
    dA = torch.exp(dt[:, :, None, :] * A[None, :, :, None])
    dBu = (dt * u)[:, :, None, :] * Bc
    h = torch.zeros(b, kd, A.shape[1], device=dev); ys = []
    for t in range(L):
        h = dA[..., t] * h + dBu[..., t]; ys.append((h * Cc[..., t]).sum(-1))
    return torch.stack(ys, -1) + D[None, :, None] * u
Bsz, K, Dd, N, L = 64, 4, 192, 1, 3136
g = lambda *s: torch.randn(*s, device=dev)
u, delta, B, C = g(Bsz, K * Dd, L), g(Bsz, K * Dd, L) * 0.5 - 1, g(Bsz, K, N, L), g(Bsz, K, N, L)
A, D, bias = -torch.exp(g(K * Dd, N) * 0.5), g(K * Dd), g(K * Dd) * 0.1
with torch.no_grad():
    print(f'pure-torch sequential scan B{Bsz} K{K} D{Dd} N{N} L{L} forward: {timed(lambda: scan(u, delta, A, B, C, D, bias), 2):.1f} ms', flush=True)
