r"""The lectures' own PyTorch training loops, the peers of benchmarks/train_speed.py.

Written as the lectures give them, so the comparison is against what a student
would run:

  mlp      lecture 000's MLP GAN: D 784 -> 128 -> 1 with a sigmoid, G 100 -> 128 -> 784
           with tanh, LeakyReLU 0.2, SGD lr 0.03, nn.BCELoss, batch 64. D steps on a real
           batch and G(z).detach(); G steps on a fresh z against the real labels.
  dcgan64  the textbook's DCGAN tutorial (lecture 002, section 12.4): nz 100, ngf = ndf = 64,
           BatchNorm, weights_init N(0, 0.02), Adam 2e-4 betas (0.5, 0.999), nn.BCELoss,
           batch 128; D accumulates errD_real and errD_fake, G reuses D's fakes.

Data is one random uniform [-1, 1] batch reused every step, as on the project's side,
so both sides time the training step alone. PyTorch is a benchmark-only dependency
(`pip install -e .[bench]`); this file is run in its own process by train_speed.py:

  python benchmarks/torch_peers.py '{"model": "dcgan64", "channels": 1, "steps": 10, "warmup": 2}'

and prints one JSON line with the timing.
"""

import json
import resource
import sys
import time

import torch
from torch import nn

# ----------------------------------------------------------------------------- Lecture 000.


class MlpDiscriminator(nn.Module):
    def __init__(self, inp_dim=784):
        super().__init__()
        self.fc1 = nn.Linear(inp_dim, 128)
        self.nonlin1 = nn.LeakyReLU(0.2)
        self.fc2 = nn.Linear(128, 1)

    def forward(self, x):
        x = x.view(x.size(0), 784)
        h = self.nonlin1(self.fc1(x))
        out = self.fc2(h)
        return torch.sigmoid(out)


class MlpGenerator(nn.Module):
    def __init__(self, z_dim=100):
        super().__init__()
        self.fc1 = nn.Linear(z_dim, 128)
        self.nonlin1 = nn.LeakyReLU(0.2)
        self.fc2 = nn.Linear(128, 784)

    def forward(self, x):
        h = self.nonlin1(self.fc1(x))
        out = torch.tanh(self.fc2(h))
        return out.view(out.size(0), 1, 28, 28)


def mlp_step_fn(device, batch_size=64):
    """One iteration of lecture 000's training loop, as a closure over its state."""
    D, G = MlpDiscriminator().to(device), MlpGenerator().to(device)
    optimizerD = torch.optim.SGD(D.parameters(), lr=0.03)
    optimizerG = torch.optim.SGD(G.parameters(), lr=0.03)
    criterion = nn.BCELoss()
    lab_real = torch.ones(batch_size, 1, device=device)
    lab_fake = torch.zeros(batch_size, 1, device=device)

    def step(x_real):
        # STEP 1: Discriminator optimization step
        optimizerD.zero_grad()
        D_x = D(x_real)
        lossD_real = criterion(D_x, lab_real)
        z = torch.randn(batch_size, 100, device=device)
        x_gen = G(z).detach()
        D_G_z = D(x_gen)
        lossD_fake = criterion(D_G_z, lab_fake)
        lossD = lossD_real + lossD_fake
        lossD.backward()
        optimizerD.step()
        # STEP 2: Generator optimization step
        optimizerG.zero_grad()
        z = torch.randn(batch_size, 100, device=device)
        x_gen = G(z)
        D_G_z = D(x_gen)
        lossG = criterion(D_G_z, lab_real)  # -log D(G(z))
        lossG.backward()
        optimizerG.step()
        return lossD, lossG

    return step, (batch_size, 1, 28, 28)


# ----------------------------------------------------------------------------- Lecture 002.


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):  # pylint: disable=redefined-builtin
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf=64, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):  # pylint: disable=redefined-builtin
        return self.main(input)


class DcganState:
    """The DCGAN tutorial's networks, optimizers and loss, and one iteration of its training loop."""

    def __init__(self, device="cpu", batch_size=128, nc=1, nz=100):
        self.device, self.batch_size, self.nz = device, batch_size, nz
        self.generator = Generator(nz=nz, nc=nc).to(device)
        self.discriminator = Discriminator(nc=nc).to(device)
        self.generator.apply(weights_init)
        self.discriminator.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=0.0002, betas=(0.5, 0.999))
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=0.0002, betas=(0.5, 0.999))

    def step(self, real_cpu, noise=None, stats=True):
        """One iteration on real images [B, nc, 64, 64]; `noise` [B, nz] or None to draw it.

        Returns (errD, errG, D(x), D(G(z)) before, after D's update): floats when
        `stats`, else the two loss tensors alone (no synchronisation, for timing).
        """
        netG, netD, criterion = self.generator, self.discriminator, self.criterion
        real_label, fake_label = 1.0, 0.0
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=self.device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean()
        if noise is None:
            noise = torch.randn(b_size, self.nz, 1, 1, device=self.device)
        fake = netG(noise.view(b_size, self.nz, 1, 1))
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean()
        errD = errD_real + errD_fake
        self.optimizer_d.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean()
        self.optimizer_g.step()
        if not stats:
            return errD, errG
        return errD.item(), errG.item(), D_x.item(), D_G_z1.item(), D_G_z2.item()

    def state_dict(self):
        return {name: getattr(self, name).state_dict()
                for name in ("generator", "discriminator", "optimizer_g", "optimizer_d")}

    def load_state_dict(self, state):
        for name, value in state.items():
            getattr(self, name).load_state_dict(value)


def dcgan_step_fn(device, batch_size=128, nc=1, nz=100):
    """One iteration of the DCGAN tutorial's training loop, as a closure over its state."""
    state = DcganState(device, batch_size, nc, nz)
    return lambda real_cpu: state.step(real_cpu, stats=False), (batch_size, nc, 64, 64)


# ----------------------------------------------------------------------------- Timing.


def measure(spec: dict) -> dict:
    """Warm-up steps, then `steps` timed steps of the spec's loop on one reused random batch."""
    torch.manual_seed(0)
    # The lectures' own device line: the GPU when there is one.
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if spec["model"] == "mlp":
        step, shape = mlp_step_fn(device)
    elif spec["model"] == "dcgan64":
        step, shape = dcgan_step_fn(device, nc=int(spec.get("channels", 1)))
    else:
        raise ValueError(f"No PyTorch peer for model {spec['model']!r}; valid: mlp, dcgan64.")
    batch = torch.rand(shape, device=device) * 2 - 1
    for _ in range(spec["warmup"]):
        step(batch)
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        d_loss, g_loss = step(batch)
    d_loss, g_loss = d_loss.item(), g_loss.item()  # Waits for the device's queued work.
    seconds = time.perf_counter() - start
    return {
        **spec,
        "framework": "torch",
        "seconds": seconds,
        "images_per_s": shape[0] * spec["steps"] / seconds,
        "ms_per_step": 1000.0 * seconds / spec["steps"],
        "losses": {"d_loss": d_loss, "g_loss": g_loss},
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
