"""PyTorch's training step on the engine benchmark's MLP, for `benchmarks step --peers`.

Builds an MLP (ReLU between dense layers, softmax cross-entropy, SGD with momentum) on
random float32 data, then serves timing requests on stdin, one per line, so the Swift
benchmark can interleave blocks of its own steps with blocks of these:
  step N   time N training steps (forward + backward + update)
  gemm N   time N times the same step's matrix products alone
  quit
Each answer is one JSON line: {"ms": [...]}. The first line printed is {"ready": true}.
Exit code 3 when torch is missing.
"""
import argparse
import json
import sys
import time

try:
    import torch
except ImportError:
    sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="3072,1024,512,10")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    sizes = [int(s) for s in a.sizes.split(",")]
    layers = []
    for i in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(a.batch, sizes[0]) * 2 - 1
    y = torch.randint(0, sizes[-1], (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    # The same step's matrix products alone: forward x·Wᵀ, backward dW and dX per layer
    # (no dX for the first layer, as autograd skips it for data).
    weights = [torch.randn(sizes[i], sizes[i - 1]) for i in range(1, len(sizes))]
    acts = [torch.randn(a.batch, s) for s in sizes]

    def gemms():
        for i, w in enumerate(weights):
            torch.mm(acts[i], w.t())
        for i in reversed(range(len(weights))):
            g = acts[i + 1]
            torch.mm(g.t(), acts[i])
            if i > 0:
                torch.mm(g, weights[i])

    for _ in range(3):
        step()
        gemms()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        fn = step if words[0] == "step" else gemms
        times = []
        for _ in range(int(words[1])):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"ms": times}), flush=True)


if __name__ == "__main__":
    main()
