"""The Azure Functions entry point: registers the blueprints, nothing else.

Every route needs a function key (``AuthLevel.FUNCTION``); see README "Security".
"""

import azure.functions as func

from shared.triggers import http, maintenance, restore, timer

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http.bp)
app.register_functions(timer.bp)
app.register_functions(restore.bp)
app.register_functions(maintenance.bp)
