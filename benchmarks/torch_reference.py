"""The PyTorch model the benchmarks measure minivae against: pytorch/examples' VAE.

Imported by vae_vs_pytorch.py (on the CPU) and vae_gpu.py (with CUDA). 784-400-20-400-784, ReLU,
Bernoulli likelihood on the [0, 1] intensities (BCE with logits, summed over pixels) plus the
closed-form KL, averaged over a batch of 128, Adam with lr 1e-3. The batches come in the order a
NumPy permutation from the same seed gives, the one minivae's Trainer uses.
"""

import time

import numpy as np
import torch
import torch.nn.functional as F

BATCH, LR, HIDDEN, LATENT = 128, 1e-3, 400, 20


class TorchVAE(torch.nn.Module):
    """pytorch/examples' VAE (fc1, fc21, fc22, fc3, fc4), with logits out instead of sigmoid."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, HIDDEN)
        self.fc21 = torch.nn.Linear(HIDDEN, LATENT)
        self.fc22 = torch.nn.Linear(HIDDEN, LATENT)
        self.fc3 = torch.nn.Linear(LATENT, HIDDEN)
        self.fc4 = torch.nn.Linear(HIDDEN, 784)

    def terms(self, x):
        """(recon, kl), each (B,): summed BCE over pixels and the closed-form KL."""
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.fc4(F.relu(self.fc3(z)))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return recon, kl


class TorchRun:
    """One PyTorch training run on `device` ("cpu" or "cuda"), epoch by epoch."""

    def __init__(self, train_x, test_x, seed, device="cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.train_x = torch.from_numpy(np.asarray(train_x)).to(self.device)
        self.test_x = torch.from_numpy(np.asarray(test_x)).to(self.device)
        self.model = TorchVAE().to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.order_rng = np.random.default_rng(seed)  # the same batches as minivae's Trainer

    def step(self, x):
        recon, kl = self.model.terms(x)
        loss = (recon + kl).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def run_epoch(self):
        """(test -ELBO, seconds of training), the seconds waiting for the device's last step."""
        order = torch.from_numpy(self.order_rng.permutation(len(self.train_x))).to(self.device)
        self._finish()
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            self.step(self.train_x[order[i : i + BATCH]])
        self._finish()
        seconds = time.perf_counter() - start
        total = 0.0
        with torch.no_grad():
            for x in self.test_x.split(1000):
                recon, kl = self.model.terms(x)
                total += float((recon + kl).sum())
        return total / len(self.test_x), seconds

    def _finish(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
