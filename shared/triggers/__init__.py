"""Azure Functions blueprints: triggers translate to use cases and back, nothing more."""
