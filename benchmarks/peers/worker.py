"""The Python peers of `feedbench bench` and `benchmarks step`, in one long-lived process.

FeedBench starts `python3 worker.py` and writes one JSON request a line on stdin; each
answer is one JSON line on stdout (the first line printed is {"ready": true}):

  {"op": "check"}            which peers can run: {"h5py": null | "why not", ...}
  {"op": "read", "peer": "h5py" | "h5py-getitem" | "py-lmdb", "path": ..., "order": ...,
   "batch": B, "seed": S, "max_samples": M, "data_key": ..., "label_key": ...,
   "readahead": true}        one epoch: {"samples": n, "seconds": s}
  {"op": "write", "peer": "h5py", "path": SET, "target": DIR, "files": F, "chunk": R,
   "compression": "gzip:4" | "lz4" | ..., "shuffle": b, "fletcher32": b}
                             writes SET again with h5py: {"samples": n, "seconds": s, "bytes": b}
  {"op": "prepare", "peer": "py-lmdb", "path": ...}          what a reader does once, before
                             any epoch (py-lmdb: collect the keys): {"records": n}
  {"op": "torch", "sizes": [...], "batch": B, "threads": T}   builds PyTorch's step (or
   "spec": a FeedBench network spec's text, written as a chain, instead of "sizes")
  {"op": "steps", "what": "step" | "gemm", "count": N}        {"ms": [...]}
  {"op": "quit"}
A failure answers {"error": "message"} and the worker goes on. Packages are imported on
first use, so a missing one only disables its peer.
"""
import importlib
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PACKAGES = {"h5py": ["numpy", "h5py"], "h5py-getitem": ["numpy", "h5py"], "py-lmdb": ["numpy", "lmdb", "google.protobuf"],
            "torch": ["torch", "yaml"]}


def check():
    answer = {}
    for peer, modules in PACKAGES.items():
        missing = [m for m in modules if importlib.util.find_spec(m.split(".")[0]) is None]
        answer[peer] = None if not missing else "python3 has no " + ", ".join(missing) + " (`make peers` installs them)"
    return answer


def main():
    step = None
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                break
            elif op == "check":
                answer = check()
            elif op == "read":
                peer = req["peer"]
                if peer in ("h5py", "h5py-getitem"):
                    import h5py_reader
                    if peer == "h5py-getitem":
                        req["mode"] = "getitem"
                    answer = h5py_reader.read_epoch(req)
                elif peer == "py-lmdb":
                    import lmdb_reader
                    answer = lmdb_reader.read_epoch(req)
                else:
                    answer = {"error": f"unknown peer {peer}"}
            elif op == "write":
                import h5py_writer
                answer = h5py_writer.write_set(req)
            elif op == "prepare":
                if req.get("peer") == "py-lmdb":
                    import lmdb_reader
                    answer = lmdb_reader.prepare(req["path"])
                else:
                    answer = {}
            elif op == "torch":
                import torch_step
                step = torch_step.Step(req.get("sizes"), int(req["batch"]), int(req.get("threads", 2)), req.get("spec"))
                answer = {"ready": True}
            elif op == "steps":
                answer = {"ms": step.time(req.get("what", "step"), int(req["count"]))} if step else {"error": "no torch step built"}
            else:
                answer = {"error": f"unknown op {op}"}
        except Exception as e:  # one bad request must not end the worker
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            answer = {"error": last}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
