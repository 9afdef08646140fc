"""Use cases: orchestrate the Connxio client and the snapshot repository around pure core code."""
