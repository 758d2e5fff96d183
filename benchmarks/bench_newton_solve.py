"""Newton polishing: Cholesky solve against the eigendecomposition (time per point, step agreement)

    python benchmarks/bench_newton_solve.py
"""
import time

import torch

torch.set_num_threads(1)
from valleylib.hessian import relu_population_hessian
from valleylib.safran_shamir import _newton_direction, run_protocol, teacher_identity, xavier_init

for k, n in ((10, 10), (10, 11), (14, 14)):
    V = teacher_identity(k)
    W0 = xavier_init(40, n, k, generator=torch.Generator().manual_seed(7))
    res = run_protocol(W0, V, max_iter=3000, tol=1e-4, progress=False)  # near end points, gn <= 1e-4
    W = res.W[res.converged]
    from valleylib.population import relu_gradient_kernel
    g = relu_gradient_kernel(W, V).reshape(W.shape[0], -1, 1)
    H = relu_population_hessian(W, V)
    t = time.perf_counter()
    D, U = torch.linalg.eigh(H)
    te = time.perf_counter() - t
    t = time.perf_counter()
    L, info = torch.linalg.cholesky_ex(H)
    tc = time.perf_counter() - t
    top = D[:, -1:]
    keep = D > 1e-9 * top
    c = (U.transpose(-1, -2) @ g).squeeze(-1)
    ref = U @ torch.where(keep, c / torch.where(keep, D, torch.ones_like(D)), torch.zeros_like(c)).unsqueeze(-1)
    psd = torch.zeros(W.shape[0], dtype=torch.bool)
    out = _newton_direction(H, g, psd)
    dl = L.diagonal(dim1=-2, dim2=-1)
    chol = (info == 0) & (dl.amin(1) ** 2 >= 1e-6 * dl.amax(1) ** 2)
    rel = ((out - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1).clamp_min(1e-300))
    ratio = (D[:, 0] / top[:, 0])
    print(f"({k},{n}) {W.shape[0]} points: eigh {1e3*te/W.shape[0]:.2f} ms/pt, cholesky {1e3*tc/W.shape[0]:.2f} ms/pt; "
          f"cholesky used on {int(chol.sum())}; lam_min/lam_max of those >= {float(ratio[chol].min()) if chol.any() else float('nan'):.1e}; "
          f"others lam_min/lam_max <= {float(ratio[~chol].max()) if (~chol).any() else float('nan'):.1e}; max rel step diff {float(rel.max()):.1e}")
