"""Starts DLIO (dlio_benchmark 2.0.0, MLPerf Storage's benchmark) for FeedBench's DLIO peer.

FeedBench runs it under mpirun, one rank per emulated accelerator:
    mpirun -n N python3 dlio_run.py --config-dir DIR workload=feedbench hydra.run.dir=OUT ...

dlio_benchmark 2.0.0 imports TensorFlow when its profiler module loads, even on the PyTorch +
HDF5 path that never uses it. Installing TensorFlow only for that import is not needed: when it
is missing, an empty module stands in for it (nothing else on this path touches it).
"""
import sys
import types

try:
    import tensorflow  # noqa: F401
except ImportError:
    sys.modules["tensorflow"] = types.ModuleType("tensorflow")

from dlio_benchmark.main import main

if __name__ == "__main__":
    main()
