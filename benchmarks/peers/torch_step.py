"""PyTorch's training step on the engine benchmark's MLP: ReLU between dense layers, softmax
cross-entropy, SGD with momentum, on random float32 data of one batch."""
import time

import torch


class Step:
    def __init__(self, sizes, batch, threads):
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        layers = []
        for i in range(1, len(sizes)):
            layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
            if i < len(sizes) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.001, momentum=0.9)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.x = torch.rand(batch, sizes[0]) * 2 - 1
        self.y = torch.randint(0, sizes[-1], (batch,))
        # The same step's matrix products alone: forward x·Wᵀ, backward dW and dX per layer
        # (no dX for the first layer, as autograd skips it for data).
        self.weights = [torch.randn(sizes[i], sizes[i - 1]) for i in range(1, len(sizes))]
        self.acts = [torch.randn(batch, s) for s in sizes]
        for _ in range(3):
            self.step()
            self.gemms()

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()

    def gemms(self):
        for i, w in enumerate(self.weights):
            torch.mm(self.acts[i], w.t())
        for i in reversed(range(len(self.weights))):
            g = self.acts[i + 1]
            torch.mm(g.t(), self.acts[i])
            if i > 0:
                torch.mm(g, self.weights[i])

    def time(self, what, count):
        fn = self.step if what == "step" else self.gemms
        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        return times
