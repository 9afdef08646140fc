"""Services run against the real simulator on loopback and a real store (local folder here;
the Blob backend is covered by the store contract suite and the function tests).

The fixtures (``simulator``, ``client``, ``repository``, ``clock``, ``backup_service``...) are
``tests/service_fixtures.py``, shared with tests/reliability."""
