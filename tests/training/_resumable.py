"""A small training run for the resume tests: ``python _resumable.py OUT EPOCHS [--resume]``.

It shuffles with a torch.Generator, uses dropout (torch's global generator) and draws noise with
NumPy and Python's random, so that every generator the Loop saves matters for the result.
"""

import random
import sys
import time

import numpy as np
import torch

from monge.training.loop import Loop
from monge.runs import Run, seed_everything

out, epochs, resume = sys.argv[1], int(sys.argv[2]), "--resume" in sys.argv
torch.set_num_threads(1)
seed_everything(0)
x, y = torch.randn(256, 5), torch.randn(256, 1)
model = torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.7)
shuffle = torch.Generator().manual_seed(1)
run = Run.create("resumable", {"epochs": epochs}, out=out, resume=resume, quiet=True)
loop = Loop(run, modules={"model": model}, optimizers={"adam": optimizer}, schedulers={"lr": scheduler},
            generators={"shuffle": shuffle}, total=epochs, resume=resume, progress=False)
for epoch in loop:
    order = torch.randperm(256, generator=shuffle)
    for batch in order.split(32):
        noise = float(np.random.normal()) * 1e-3 + random.random() * 1e-3
        loss = (model(x[batch]) - y[batch]).pow(2).mean() + noise
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    loop.log(loss=loss)
    time.sleep(0.05)
torch.save(model.state_dict(), run.path / "final.pt")
