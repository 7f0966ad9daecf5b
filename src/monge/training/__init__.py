"""Training loops and the run folder they write (chapter 1 and 2 of the text).

Importing this package is cheap: torch is imported only by the functions that need it.
"""

from monge.runs import Run, atomic_write, jsonable, save_npy, save_npz, save_torch, seed_everything, write_json

__all__ = ["Run", "atomic_write", "jsonable", "save_npy", "save_npz", "save_torch", "seed_everything", "write_json"]
