"""PyTorch's training step on the engine benchmark's networks: the MLP (ReLU between dense
layers) or a FeedBench network spec written as a chain (dense, conv2d, pools, flatten and
activations, ending in softmax cross-entropy), SGD with momentum, on random float32 data of
one batch."""
import time

import torch


def spec_to_torch(text):
    """The same network as a FeedBench spec whose nodes form a chain; (model, input shape,
    classes)."""
    import yaml
    spec = yaml.safe_load(text)
    inputs = {k: v for k, v in spec["inputs"].items() if v != "label"}
    if len(inputs) != 1:
        raise ValueError("the spec needs exactly one data input")
    shape = list(next(iter(inputs.values())))
    params = spec.get("params", {})
    layers, classes = [], None
    for node in spec["nodes"]:
        op, args = node["op"], node["inputs"]
        if op == "dense":
            n_in, n_out = params[args[1]]["shape"]
            layers.append(torch.nn.Linear(n_in, n_out, bias=len(args) == 3))
            classes = n_out
        elif op == "conv2d":
            out, cin, kh, kw = params[args[1]]["shape"]
            layers.append(torch.nn.Conv2d(cin, out, (kh, kw), stride=node.get("stride", 1), padding=node.get("padding", 0),
                                          bias=len(args) == 3))
        elif op in ("max_pool", "avg_pool"):
            k = node.get("kernel", 2)
            pool = torch.nn.MaxPool2d if op == "max_pool" else torch.nn.AvgPool2d
            layers.append(pool(k, stride=node.get("stride", k)))
        elif op == "flatten":
            layers.append(torch.nn.Flatten())
        elif op in ("relu", "sigmoid", "tanh"):
            layers.append({"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[op]())
        elif op == "softmax_cross_entropy":
            break
        else:
            raise ValueError(f"op {op} has no PyTorch counterpart here")
    return torch.nn.Sequential(*layers), shape, classes


class Step:
    def __init__(self, sizes, batch, threads, spec=None):
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        if spec is not None:
            self.model, shape, classes = spec_to_torch(spec)
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.001, momentum=0.9)
            self.loss_fn = torch.nn.CrossEntropyLoss()
            self.x = torch.rand(batch, *shape) * 2 - 1
            self.y = torch.randint(0, classes, (batch,))
            self.weights = None
            for _ in range(3):
                self.step()
            return
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
        if self.weights is None:  # a spec network: the step only
            return
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
