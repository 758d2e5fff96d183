"""Known critical points of the Safran–Shamir (6,6) problem, shared by several test files."""
import torch

DT = torch.float64
V6 = torch.eye(6, dtype=DT)

# papers.md §1.5: the (6,6) spurious minimum of newExp-6-6.mat, printed with columns = neurons.
W6_COLUMNS = torch.tensor([
    [-0.0504134066, -0.0504134061, 0.2245158324, 0.9867038068, -0.0504134061, -0.0504134061],
    [0.9867038211, -0.0504134009, 0.2245158031, -0.0504134081, -0.0504134008, -0.0504134009],
    [-0.050413401, -0.0504134004, 0.2245158008, -0.0504134077, 0.9867038222, -0.0504134004],
    [0.308010986, 0.3080109833, -0.6015119236, 0.3080110217, 0.3080109832, 0.3080109832],
    [-0.050413401, -0.0504134005, 0.2245158008, -0.0504134077, -0.0504134004, 0.9867038222],
    [-0.050413401, 0.9867038222, 0.2245158008, -0.0504134077, -0.0504134004, -0.0504134004],
], dtype=DT)
W6 = W6_COLUMNS.T.contiguous()  # rows = neurons (our convention)

# A saddle we constructed: a circulant W = circ(c) that is a critical point of F restricted to circulant
# matrices, hence (by the symmetry of F under cyclic shifts of neurons and coordinates) a critical point of F;
# found by gradient descent + Newton inside the circulant family. Its Hessian has eigenvalue -0.02296.
C_SADDLE = torch.tensor([0.6767306873227893, 0.3237305961622468, -0.3239044177424126, 0.323730596162213,
                         -0.3239044177423942, 0.32373059616217825], dtype=DT)
W_SADDLE = torch.stack([torch.roll(C_SADDLE, i) for i in range(6)])
