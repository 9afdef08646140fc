"""cxbackup: backup, change audit and restore for Connxio integrations.

Layers, outermost first (imports only ever point down this list):

    function_app.py, shared/triggers, shared/cli.py   translate triggers and commands
    shared/wiring.py                                  builds services from Settings
    shared/services                                   use cases: backup, audit, restore, verify, prune
    shared/connxio, shared/store                      adapters: the Connxio API, the snapshot store
    shared/core                                       pure functions and stored formats; no I/O, no clock
"""
