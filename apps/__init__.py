"""twincore.apps: Gradio front ends mounted by the gateway at /ui/<name>.

The playground and the console, and one screen per service (declared by each service's
component). Gradio's analytics are off: building a screen must not call its package index
for a version check (Twincore runs offline; on a closed network each check waits out a timeout).
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
