"""The cxbackup benchmark: cxbackup against the afternoon script, on the same data, in one run.

``python -m bench`` (or ``make bench``) starts Azurite and a Connxio simulator (each in its own
process), then runs every measurement in a fresh Python process of its own, so that timings are
not distorted by a server competing for the GIL and peak memory is not inherited from an
earlier scenario. See ``bench/README.md`` for what is measured and how the floor is defined.

Modules:

- ``run``: the orchestrator and the command line (``python -m bench``);
- ``simulator_process``: the simulator as a subprocess, answering request counts on stdin;
- ``scenario``: one cxbackup measurement (backup, audit, restore plan/apply) or a live edit;
- ``baseline``: the afternoon script (sequential httpx loop, one blob per subscription,
  DeepDiff), measured the same way;
- ``floor``: the latency floor (a bare fetch at the same concurrency) and the storage floor
  (the minimal Blob writes at the write concurrency);
- ``counting``: ``CountingBackend``, a ``Backend`` decorator that counts Blob calls and bytes;
- ``report``: the table, the targets and the JSON document.
"""
